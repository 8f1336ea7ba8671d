"""The OpenAPI document and the docs page over real sockets (both drivers, and uvicorn for an
application mounted below a prefix): what ``naja_atra.openapi`` serves at ``openapi_url`` and
``docs_url``, with which headers, when it makes the document again, and when it serves nothing.
The page in a browser: ``tests/openapi/test_docs_page_browser.py``."""
from __future__ import annotations

import re
from importlib import resources
from typing import Any, Callable, Optional
from urllib.parse import urljoin, urlsplit

from openapi_spec_validator import validate

from naja_atra import Application, FromHeader, HttpError, hookimpl
from naja_atra.app.context import FilterContext

from ..support import Client, Reply, uvicorn_serving

Serve = Callable[..., Client]
ASSETS = resources.files("naja_atra.openapi").joinpath("assets")


def shop(**options: Any) -> Application:
    """A small application that serves its document at /openapi.json and its page at /docs."""
    options.setdefault("openapi_url", "/openapi.json")
    options.setdefault("docs_url", "/docs")
    app = Application(title="Shop", version="2.1.0", **options)

    @app.route("/items/{item_id}", method="GET", tags=["items"])
    def show_item(item_id: int, x_trace: FromHeader[Optional[str]] = None) -> dict:
        """Show one item."""
        return {"id": item_id}

    @app.route("/items", method="POST", tags=["items"])
    def create_item(name: str) -> dict:
        """Add an item."""
        return {"name": name}

    return app


def linked(page: Reply) -> dict[str, str]:
    """The stylesheet's, the script's and the document's URLs as the page writes them."""
    html = page.text
    found = {
        "css": re.search(r'<link rel="stylesheet" href="([^"]+)"', html),
        "js": re.search(r'<script src="([^"]+)"', html),
        "document": re.search(r'data-openapi="([^"]+)"', html),
    }
    assert all(found.values()), html
    return {name: match.group(1) for name, match in found.items() if match is not None}


def test_the_document_is_app_openapi_as_json(serve: Serve) -> None:
    app = shop()
    client = serve(app)
    reply = client.get("/openapi.json")
    assert reply.status == 200
    assert reply.header("Content-Type") == "application/json"
    assert reply.header("Cache-Control") == "no-cache"
    document = reply.json()
    assert document == app.openapi()
    validate(document)
    assert sorted(document["paths"]) == ["/items", "/items/{item_id}"]  # the served paths are not in it
    assert document["info"] == {"title": "Shop", "version": "2.1.0"}


def test_the_document_is_made_once_per_build(serve: Serve) -> None:
    calls: list[int] = []

    class Counter:
        @hookimpl
        def naja_atra_openapi(self, app: Application, document: dict[str, Any]) -> None:
            calls.append(1)

    app = shop()
    app.register(Counter())
    client = serve(app)
    first = client.get("/openapi.json")
    second = client.get("/openapi.json")
    assert first.status == second.status == 200
    assert first.body == second.body and first.header("ETag") == second.header("ETag")
    assert len(calls) == 1

    @app.route("/orders", method="GET")
    def orders() -> list:
        return []

    # A registration after the build rebuilds the application, and with it the document.
    third = client.get("/openapi.json")
    assert "/orders" in third.json()["paths"]
    assert third.header("ETag") != first.header("ETag")
    assert len(calls) == 2


def test_a_document_that_fails_is_a_500_and_is_tried_again(serve: Serve) -> None:
    failures = [RuntimeError("not yet")]

    class Flaky:
        @hookimpl
        def naja_atra_openapi(self, app: Application, document: dict[str, Any]) -> None:
            if failures:
                raise failures.pop()

    app = shop()
    app.register(Flaky())
    client = serve(app)
    assert client.get("/openapi.json").status == 500
    assert client.get("/openapi.json").json() == app.openapi()


def test_the_page_and_its_files(serve: Serve) -> None:
    client = serve(shop())
    page = client.get("/docs")
    assert page.status == 200
    assert page.header("Content-Type") == "text/html; charset=utf-8"
    assert page.header("Cache-Control") == "no-cache"
    assert "script-src 'self'" in (page.header("Content-Security-Policy") or "")
    assert "<title>Shop</title>" in page.text
    links = linked(page)
    assert links["document"] == "./openapi.json"
    expected = {"css": ("text/css; charset=utf-8", "docs.css"), "js": ("text/javascript; charset=utf-8", "docs.js")}
    for name, (content_type, packaged) in expected.items():
        url = urljoin(client.base_url + "/docs", links[name])
        assert urlsplit(url).path.startswith("/docs/"), url
        reply = client.get(urlsplit(url).path + "?" + urlsplit(url).query)
        assert reply.status == 200, url
        assert reply.header("Content-Type") == content_type
        assert reply.header("Cache-Control") == "public, max-age=86400"
        assert reply.header("X-Content-Type-Options") == "nosniff"
        assert reply.body == ASSETS.joinpath(packaged).read_bytes()
        # The URL carries the file's hash: a changed file is a new URL, so it may be cached.
        assert urlsplit(url).query == "v=" + (reply.header("ETag") or "")[3:-1]


def test_etags_answer_304_and_head_has_no_body(serve: Serve) -> None:
    client = serve(shop())
    for path in ("/openapi.json", "/docs", "/docs/naja_atra-docs.js", "/docs/naja_atra-docs.css"):
        full = client.get(path)
        etag = full.header("ETag")
        assert etag is not None and etag.startswith('W/"'), path
        for sent in (etag, etag[2:], f'"other", {etag}', "*"):
            again = client.get(path, headers={"If-None-Match": sent})
            assert (again.status, again.body, again.header("ETag")) == (304, b"", etag), (path, sent)
        changed = client.get(path, headers={"If-None-Match": 'W/"something-else"'})
        assert (changed.status, changed.body) == (200, full.body), path
        head = client.request("HEAD", path)
        assert (head.status, head.body, head.header("ETag")) == (200, b"", etag), path
        assert head.header("Content-Length") == str(len(full.body)), path


def test_other_methods_are_405_unless_a_route_takes_them(serve: Serve) -> None:
    app = shop()

    @app.route("/docs", method="POST")
    def feedback() -> str:
        return "thanks"

    client = serve(app)
    refused = client.post("/openapi.json", b"{}")
    assert refused.status == 405
    assert refused.header("Allow") == "GET, HEAD"
    assert client.post("/docs", b"").text == "thanks"
    assert client.request("DELETE", "/docs").header("Allow") == "GET, HEAD, POST"
    assert client.get("/docs/").status == 404
    assert client.get("/docs/other.js").status == 404


def test_nothing_is_served_by_default(serve: Serve) -> None:
    app = Application()

    @app.route("/", method="GET")
    def home() -> str:
        return "home"

    client = serve(app)
    for path in ("/openapi.json", "/docs", "/redoc", "/docs/naja_atra-docs.js"):
        assert client.get(path).status == 404, path
    assert client.get("/").text == "home"


def test_the_document_without_the_page(serve: Serve) -> None:
    client = serve(shop(docs_url=None))
    assert client.get("/openapi.json").status == 200
    assert client.get("/docs").status == 404
    assert client.get("/docs/naja_atra-docs.js").status == 404


def test_blocking_the_plugin_switches_serving_off(serve: Serve) -> None:
    app = shop()
    app.plugin_manager.set_blocked("naja_atra.openapi")
    client = serve(app)
    for path in ("/openapi.json", "/docs", "/docs/naja_atra-docs.css"):
        assert client.get(path).status == 404, path
    assert client.get("/items/3").json() == {"id": 3}
    assert "/items/{item_id}" in app.openapi()["paths"]  # the document itself is still there


def test_request_filters_apply_to_the_served_paths(serve: Serve) -> None:
    app = shop()

    @app.request_filter(regexp="^/docs")
    def staff_only(ctx: FilterContext) -> None:
        if ctx.request.headers.get("X-Staff") != "yes":
            raise HttpError(403, "staff only")
        ctx.do_chain()

    @app.request_filter("/openapi.json")
    def tagged(ctx: FilterContext) -> None:
        ctx.response.set_header("X-Seen", "filter")
        ctx.do_chain()

    client = serve(app)
    assert client.get("/docs").status == 403
    assert client.get("/docs/naja_atra-docs.js").status == 403
    assert client.get("/docs", headers={"X-Staff": "yes"}).status == 200
    assert client.get("/openapi.json").header("X-Seen") == "filter"


# -- mounted below a prefix (ASGI root_path) ------------------------------------------------


def mount(prefix: str, app: Application) -> Callable[..., Any]:
    """An ASGI app that passes the requests below ``prefix`` to ``app`` with ``root_path`` set
    (as a router of an ASGI framework mounts one app in another) and answers 404 to the rest."""

    async def mounted(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan" or (scope["path"] + "/").startswith(prefix + "/"):
            if scope["type"] != "lifespan":
                scope = dict(scope, root_path=prefix)
            await app(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    return mounted




def test_mounted_below_a_prefix_the_page_links_resolve_under_it() -> None:
    with uvicorn_serving(mount("/api", shop())) as port:
        client = Client(port)
        page = client.get("/api/docs")
        assert page.status == 200
        assert client.get("/docs").status == 404  # only the prefixed paths reach the application
        for name, url in linked(page).items():
            resolved = urlsplit(urljoin(f"{client.base_url}/api/docs", url))
            assert resolved.path.startswith("/api/"), (name, url)
            assert client.get(resolved.path + ("?" + resolved.query if resolved.query else "")).status == 200, name
        assert client.get("/api/openapi.json").json()["paths"]["/items/{item_id}"]["get"]["summary"] == "Show one item."
