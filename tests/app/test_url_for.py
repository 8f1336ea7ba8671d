"""``app.url_for``: names, values, percent-encoding and the query string, each URL requested
back through the test client; and every refusal (``UrlBuildError``)."""
from __future__ import annotations

from typing import Any

import pytest

from naja_atra import Application, Headers, Parameters, PathValue, Request, RouteGroup, UrlBuildError


def echo_app() -> Application:
    """Routes that answer with what they received, to request built URLs back."""
    app = Application()

    @app.get("/users/{user_id}", name="user")
    def user(request: Request, user_id: str = PathValue()) -> dict[str, Any]:
        return {"route": "user", "user_id": user_id, "query": request.query_string}

    @app.get("/files/{stem}.{ext}")
    def file(stem: str = PathValue(), ext: str = PathValue()) -> dict[str, Any]:
        return {"route": "file", "stem": stem, "ext": ext}

    @app.get("/tags")
    def tags(tag: list[str] = Parameters("tag")) -> dict[str, Any]:
        return {"route": "tags", "tag": tag}

    @app.get("/中文/{word}")
    def word(word: str = PathValue()) -> dict[str, Any]:
        return {"route": "word", "word": word}

    @app.get("/all", name="listing")
    @app.get("/all/{page}", name="listing")
    def listing(request: Request) -> dict[str, Any]:
        return {"route": "listing", "path": request.path}

    @app.get("/star/*")
    def star() -> str:
        return "star"

    @app.route(regexp="^/re/(.*)$")
    def by_regexp() -> str:
        return "regexp"

    @app.websocket_open("/ws")
    def ws_open(session: Any) -> None:
        return None

    return app


def test_a_path_value_is_filled_and_the_url_leads_back_to_the_route() -> None:
    app = echo_app()
    url = app.url_for("user", user_id=42)
    assert url == "/users/42"
    assert app.test_client().get(url).json() == {"route": "user", "user_id": "42", "query": ""}


@pytest.mark.parametrize("value", ["a b", "ü-ñ", "50%", "a?b", "a#b", "a&b=c", "+plus", "tab\tx", "..."])
def test_values_are_percent_encoded_per_segment_and_read_back_unchanged(value: str) -> None:
    app = echo_app()
    url = app.url_for("user", user_id=value)
    assert "?" not in url and "#" not in url and " " not in url and url.isascii()
    assert app.test_client().get(url).json()["user_id"] == value


def test_literal_text_of_the_path_is_encoded_too() -> None:
    app = echo_app()
    url = app.url_for("word", word="ok")
    assert url == "/%E4%B8%AD%E6%96%87/ok"
    assert app.test_client().get(url).json() == {"route": "word", "word": "ok"}


def test_several_values_in_one_segment() -> None:
    app = echo_app()
    url = app.url_for("file", stem="report.2024", ext="pdf")
    assert url == "/files/report.2024.pdf"
    assert app.test_client().get(url).json() == {"route": "file", "stem": "report.2024", "ext": "pdf"}


def test_other_values_go_to_the_query_string_lists_repeated_and_none_left_out() -> None:
    app = echo_app()
    url = app.url_for("tags", tag=["a b", "c&d", None], absent=None, n=3)
    assert url == "/tags?tag=a+b&tag=c%26d&n=3"
    assert app.test_client().get(url).json() == {"route": "tags", "tag": ["a b", "c&d"]}
    assert app.url_for("user", user_id=1, q="x y") == "/users/1?q=x+y"


def test_of_one_handlers_routes_the_one_using_most_values_is_chosen() -> None:
    app = echo_app()
    assert app.url_for("listing") == "/all"
    assert app.url_for("listing", page=2) == "/all/2"
    client = app.test_client()
    assert client.get(app.url_for("listing", page=2)).json() == {"route": "listing", "path": "/all/2"}


def test_group_names_and_default_names() -> None:
    group = RouteGroup("/api", name="api")

    @group.route("/things")
    class Things:
        @group.get("/{thing_id}")
        def show(self, thing_id: str = PathValue()) -> str:
            return f"thing {thing_id}"

    @group.get("/ping")
    def ping() -> str:
        return "pong"

    app = Application()
    app.include(group, prefix="/v1")
    assert app.url_for("api.ping") == "/v1/api/ping"
    url = app.url_for("api.Things.show", thing_id="x-y")
    assert url == "/v1/api/things/x-y"
    assert app.test_client().get(url).text == "thing x-y"


def test_a_route_added_after_a_build_can_be_built_at_once() -> None:
    app = Application()
    with pytest.raises(UrlBuildError, match="no route is named 'late'"):
        app.url_for("late")

    @app.get("/late")
    def late() -> str:
        return "late"

    assert app.url_for("late") == "/late"


def test_the_url_of_a_route_built_inside_a_controller() -> None:
    app = Application()

    @app.get("/items/{item_id}", name="item")
    def item(item_id: str = PathValue()) -> str:
        return f"item {item_id}"

    @app.post("/items")
    def create() -> tuple[int, Headers, str]:
        return 201, Headers({"Location": app.url_for("item", item_id="new one")}), "created"

    client = app.test_client()
    created = client.post("/items")
    assert (created.status_code, created.headers["Location"]) == (201, "/items/new%20one")
    assert client.get(created.headers["Location"]).text == "item new one"


# -- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "values", "message"), [
    ("nobody", {}, "no route is named 'nobody'"),
    ("user", {}, "needs a value for user_id"),
    ("user", {"user_id": None}, "needs a value for user_id"),
    ("file", {"stem": "a"}, "needs a value for ext"),
    ("star", {}, "wildcard or a regexp"),
    ("by_regexp", {}, "wildcard or a regexp"),
    ("ws_open", {}, "no route is named 'ws_open'"),  # WebSocket endpoints have no name
    ("user", {"user_id": ""}, "cannot be a path value"),
    ("user", {"user_id": "a/b"}, "cannot be a path value"),
    ("user", {"user_id": ".."}, "cannot be '..'"),
    ("user", {"user_id": "."}, "cannot be '.'"),
    ("file", {"stem": "a", "ext": "b.c"}, "read back differently"),
])
def test_urls_that_cannot_be_built_are_refused(name: str, values: dict[str, Any], message: str) -> None:
    with pytest.raises(UrlBuildError, match=message):
        echo_app().url_for(name, **values)


def test_a_default_name_shared_by_two_handlers_is_ambiguous() -> None:
    app = Application()

    @app.get("/a")
    def index() -> str:
        return "a"

    group = RouteGroup("/g")
    group.get("/b")(_another_index())
    app.include(group)
    assert app.test_client().get("/g/b").text == "b"  # both are served
    with pytest.raises(UrlBuildError, match="'index' names several routes"):
        app.url_for("index")


def _another_index() -> Any:
    def index() -> str:
        return "b"
    return index


def test_url_build_error_is_a_lookup_error() -> None:
    assert issubclass(UrlBuildError, LookupError)
