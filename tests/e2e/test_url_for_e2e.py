"""End to end: URLs built with ``url_for`` requested over a real socket (both drivers) with
``http.client`` and ``urllib``: the route that answers is the named one, with the same path
values and query values, whatever characters they hold."""
from __future__ import annotations

import urllib.request
from typing import Any

import pytest

from naja_atra import Application, Parameters, PathValue, Redirect, Request, RouteGroup

from ..support import WAIT, serving


def catalogue() -> Application:
    """A group of routes that echo what they were given, and a redirect built by name."""
    shop = RouteGroup("/shop", name="shop")

    @shop.get("/{category}/{item}", name="item")
    def item(request: Request, category: str = PathValue(), item: str = PathValue(),
             colour: list[str] = Parameters("colour", default=[])) -> dict[str, Any]:
        return {"route": "item", "category": category, "item": item, "colour": colour, "path": request.path}

    app = Application()
    app.include(shop, prefix="/v1")

    @app.get("/old-item")
    def old_item(item: str) -> Redirect:
        return Redirect(app.url_for("shop.item", category="moved", item=item))

    return app


@pytest.mark.parametrize(("category", "item"), [
    ("books", "42"),
    ("a b", "c+d"),
    ("é-ü", "100%"),
    ("q?x", "h#1"),
    ("semi;colon", "amp&eq="),
])
def test_a_built_url_reaches_its_route_with_the_same_values(driver: str, category: str, item: str) -> None:
    app = catalogue()
    url = app.url_for("shop.item", category=category, item=item, colour=["red", "dark blue"])
    assert url.startswith("/v1/shop/") and url.isascii()
    with serving(app, driver) as client:
        reply = client.get(url)
    assert reply.status == 200
    assert reply.json() == {"route": "item", "category": category, "item": item,
                            "colour": ["red", "dark blue"], "path": f"/v1/shop/{category}/{item}"}


def test_a_redirect_to_a_built_url_is_followed_by_urllib(driver: str) -> None:
    app = catalogue()
    with serving(app, driver) as client:
        with urllib.request.urlopen(f"{client.base_url}/old-item?item=tea%20pot", timeout=WAIT) as response:
            assert response.status == 200
            assert response.geturl().endswith("/v1/shop/moved/tea%20pot")
            body = response.read().decode()
    assert '"item": "tea pot"' in body and '"category": "moved"' in body

