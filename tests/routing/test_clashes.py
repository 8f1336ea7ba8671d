"""Routes that can never be told apart fail the build (``naja_atra.routing.clashes``), and
routes that can be told apart do not."""
from __future__ import annotations

from typing import Any

import pytest

from naja_atra import Application, ConfigurationError
from naja_atra.app.routes import WEBSOCKET_METHOD, Route
from naja_atra.routing.clashes import check_clashes

from . import route


def clash_message(routes: list[Route]) -> str:
    with pytest.raises(ConfigurationError) as info:
        check_clashes(routes)
    return str(info.value)


@pytest.mark.parametrize("first, second", [
    ({"path": "/y/{a}"}, {"path": "/y/{b}"}),
    ({"path": "/y/{a}"}, {"path": "/y/*"}),
    ({"path": "/same"}, {"path": "/same"}),
    ({"path": "/f/{name}.txt"}, {"path": "/f/{other}.txt"}),
    ({"path": "**/edit"}, {"path": "**/edit"}),
    ({"path": "/s/**"}, {"path": "/s/**"}),
    ({"regexp": "^/r/(.+)$"}, {"regexp": "^/r/(.+)$"}),
    ({"path": "/m", "methods": ("GET", "POST")}, {"path": "/m", "methods": ("POST",)}),
    ({"path": "/m", "methods": ("GET", "POST")}, {"path": "/m", "methods": ("PUT", "POST")}),
    ({"path": "/ws/{a}", "methods": (WEBSOCKET_METHOD,)}, {"path": "/ws/{b}", "methods": (WEBSOCKET_METHOD,)}),
    ({"path": "/n", "params": ("a=1", "b")}, {"path": "/n", "params": ("b", "a=1")}),
    ({"path": "/n", "headers": ("X-A",), "match_all_headers": True},
     {"path": "/n", "headers": ("X-A",), "match_all_headers": False}),
])
def test_routes_that_cannot_be_told_apart_clash(first: dict[str, Any], second: dict[str, Any]) -> None:
    message = clash_message([route("first_one", **first), route("second_one", **second)])
    assert "first_one" in message and "second_one" in message
    assert "can never be told apart" in message


@pytest.mark.parametrize("first, second", [
    ({"path": "/y/{a}"}, {"path": "/y/{a}/z"}),
    ({"path": "/y/{a}"}, {"path": "/y/**"}),
    ({"path": "/y/{a}"}, {"path": "/y/{a}.txt"}),
    ({"path": "/a/"}, {"path": "/a/{x}"}),  # an empty last segment is not a capture
    ({"path": "/a"}, {"path": "/a/"}),
    ({"path": "/m", "methods": ("GET",)}, {"path": "/m", "methods": ("POST",)}),
    ({"path": "/m"}, {"path": "/m", "methods": ("GET",)}),  # the named method is tried first
    ({"path": "/m", "methods": ("GET",)}, {"path": "/m", "methods": ("HEAD",)}),
    ({"path": "/m"}, {"path": "/m", "methods": (WEBSOCKET_METHOD,)}),
    ({"path": "/n", "params": ("a=1",)}, {"path": "/n", "params": ("a=2",)}),
    ({"path": "/n", "params": ("a=1",)}, {"path": "/n"}),  # the narrowed one first: both run
    ({"path": "/n", "headers": ("X-A",)}, {"path": "/n", "params": ("X-A",)}),
    ({"path": "/n", "params": ("a", "b"), "match_all_params": True},
     {"path": "/n", "params": ("a", "b"), "match_all_params": False}),
    ({"regexp": "^/r/(.+)$"}, {"regexp": "^/r/(.*)$"}),
    ({"regexp": "^/r/(.+)$"}, {"path": "/r/{x}"}),
])
def test_routes_that_can_be_told_apart_do_not_clash(first: dict[str, Any], second: dict[str, Any]) -> None:
    check_clashes([route("first_one", **first), route("second_one", **second)])


def test_the_message_names_both_routes_and_the_shared_methods() -> None:
    message = clash_message([route("pkg.read", "/y/{a}", methods=("GET", "POST")),
                             route("pkg.get", "/y/{b}", methods=("GET",)), route("pkg.other", "/z")])
    assert "pkg.read (GET,POST /y/{a})" in message
    assert "pkg.get (GET /y/{b})" in message
    assert "both take GET" in message
    assert clash_message([route("pkg.a", "/any"), route("pkg.b", "/any")]).count("any method") == 2


# -- through an application's build ------------------------------------------------------


def test_an_application_with_clashing_routes_fails_to_build() -> None:
    app = Application(load_entry_points=False)

    @app.route("/y/{a}")
    def by_a(a: str) -> str:
        return a

    @app.route("/y/{b}")
    def by_b(b: str) -> str:
        return b

    with pytest.raises(ConfigurationError) as info:
        app.build()
    message = str(info.value)
    assert f"{by_a.__module__}.{by_a.__qualname__} (every method /y/{{a}})" in message
    assert f"{by_b.__module__}.{by_b.__qualname__} (every method /y/{{b}})" in message


def test_method_routes_of_classes_clash_after_their_prefix() -> None:
    app = Application(load_entry_points=False)

    @app.route("/users")
    class Users:
        @app.route("/{uid}", method="GET")
        def show(self, uid: str) -> str:
            return uid

    @app.route("/users/{user_id}", method="get")
    def show_user(user_id: str) -> str:
        return user_id

    with pytest.raises(ConfigurationError, match=r"Users\.show \(GET /users/\{uid\}\).*show_user"):
        app.build()


def test_websocket_endpoints_clash_only_with_websocket_endpoints() -> None:
    app = Application(load_entry_points=False)

    @app.websocket_message("/chat/{room}")
    def on_text(session: Any, message: str) -> None:
        return None

    @app.route("/chat/{name}")
    def page(name: str) -> str:
        return name

    app.build()  # an endpoint and an HTTP route on the same pattern: fine

    @app.websocket_message("/chat/{other}")
    def on_other(session: Any, message: str) -> None:
        return None

    with pytest.raises(ConfigurationError, match=r"WEBSOCKET /chat/\{room\}.*WEBSOCKET /chat/\{other\}"):
        app.build()


def test_a_route_without_narrowing_hides_a_later_narrowed_one() -> None:
    message = clash_message([route("plain", "/v", methods=("GET",)),
                             route("narrowed", "/v", methods=("GET",), params=("version=2",))])
    assert "plain has no narrowing and is tried first" in message
    assert "narrowed would never run for GET" in message
    check_clashes([route("plain", "/v", methods=("POST",)),  # no method in common
                   route("narrowed", "/v", methods=("GET",), params=("version=2",))])
    check_clashes([route("plain", "/v"),  # GET routes are tried before the routes of any method
                   route("narrowed", "/v", methods=("GET",), params=("version=2",))])


def test_the_narrowed_route_registered_first_is_served_when_it_matches() -> None:
    app = Application(load_entry_points=False)

    @app.route("/v", method="GET", params="version=2")
    def two() -> str:
        return "two"

    @app.route("/v", method="GET")
    def one() -> str:
        return "one"

    client = app.test_client()
    assert client.get("/v").text == "one"
    assert client.get("/v?version=2").text == "two"
