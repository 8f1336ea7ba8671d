"""End to end: route groups on a real server (both drivers): one group served by two
applications at once under different prefixes, groups in groups, a group's filters and
error pages, and a group's WebSocket endpoint driven with websocket-client."""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import pytest
import websocket

from naja_atra import (
    Application,
    FilterContext,
    HttpError,
    PathValue,
    RouteGroup,
    WebsocketRequest,
    WebsocketSession,
)

from ..support import WAIT, Client, serving


def users_group() -> RouteGroup:
    """A group with a route, a filter and an error page of its own."""
    users = RouteGroup("/users", name="users", tags=["users"])

    @users.get("/{user_id}")
    def show(user_id: str = PathValue()) -> dict[str, Any]:
        if user_id == "0":
            raise HttpError(404, "Not Found", "no user 0")
        return {"id": user_id}

    @users.request_filter()
    def stamp(ctx: FilterContext) -> None:
        ctx.response.headers["X-Group"] = "users"
        ctx.do_chain()

    @users.error_message("404")
    def no_user(explain: str) -> dict[str, Any]:
        return {"missing": explain}

    return users


def test_one_group_is_served_by_two_applications_at_once(driver: str) -> None:
    users = users_group()
    first, second = Application(), Application()
    first.include(users, prefix="/v1")
    second.include(users, prefix="/v2")
    with serving(first, driver) as one, serving(second, driver) as two:
        for client, prefix, other in ((one, "/v1", "/v2"), (two, "/v2", "/v1")):
            reply = client.get(f"{prefix}/users/7")
            assert (reply.status, reply.json(), reply.header("X-Group")) == (200, {"id": "7"}, "users")
            assert client.get(f"{other}/users/7").status == 404


def test_group_filters_and_error_pages_are_scoped_to_the_groups_routes(driver: str) -> None:
    app = Application()
    app.include(users_group(), prefix="/v1")

    @app.get("/v1/users/me/profile")  # under the group's prefix, but the application's own
    def profile() -> str:
        raise HttpError(404, "Not Found")

    @app.error_message("404")
    def app_404() -> str:
        return "app page"

    with serving(app, driver) as client:
        missing = client.get("/v1/users/0")
        assert (missing.status, missing.json(), missing.header("X-Group")) == (404, {"missing": "no user 0"}, "users")
        mine = client.get("/v1/users/me/profile")
        assert (mine.status, mine.text, mine.header("X-Group")) == (404, "app page", None)
        assert client.get("/v1/users/7/nothing").text == "app page"  # no route at all


def test_groups_in_groups_compose_prefixes_over_a_socket(driver: str) -> None:
    api = RouteGroup("/api", name="api")
    api.include(users_group(), prefix="/people")
    app = Application()
    app.include(api, prefix="/v3")
    with serving(app, driver) as client:
        assert client.get("/v3/api/people/users/5").json() == {"id": "5"}
        assert client.get(app.url_for("api.users.show", user_id=5)).json() == {"id": "5"}


@contextlib.contextmanager
def ws_connect(client: Client, path: str, **options: Any) -> Iterator[websocket.WebSocket]:
    ws = websocket.create_connection(f"ws://127.0.0.1:{client.port}{path}", timeout=WAIT, **options)
    try:
        yield ws
    finally:
        ws.close(timeout=1)


def chat_group() -> RouteGroup:
    """A WebSocket endpoint (function style) and a class endpoint, both in a group whose
    filter guards the handshake."""
    chat = RouteGroup("/chat")

    @chat.request_filter()
    def token_required(ctx: FilterContext) -> None:
        if ctx.request.parameter.get("token") != "t":
            raise HttpError(403, "Forbidden")
        ctx.do_chain()

    @chat.websocket_handshake("/room/{room}")
    def handshake(request: WebsocketRequest) -> None:
        return None

    @chat.websocket_message("/room/{room}")
    def echo(session: WebsocketSession, message: str) -> None:
        session.send(f"{session.request.path_values['room']}:{message}")

    @chat.websocket_handler("/upper")
    class Upper:
        def on_text_message(self, session: WebsocketSession, message: str) -> None:
            session.send(message.upper())

    return chat


@pytest.mark.parametrize("path", ["/room/lobby?token=t", "/upper?token=t"])
def test_a_groups_websocket_endpoints_take_its_prefix_and_filters(driver: str, path: str) -> None:
    app = Application()
    app.include(chat_group(), prefix="/v1")
    expected: Callable[[str], str] = (lambda m: f"lobby:{m}") if "room" in path else str.upper
    with serving(app, driver) as client:
        with ws_connect(client, "/v1/chat" + path) as ws:
            ws.send("hello")
            assert ws.recv() == expected("hello")
        for refused_path, status in (("/v1/chat" + path.replace("token=t", "token=x"), 403),
                                     (path, 404)):
            with pytest.raises(websocket.WebSocketBadStatusException) as refused:
                websocket.create_connection(f"ws://127.0.0.1:{client.port}{refused_path}", timeout=WAIT)
            assert refused.value.status_code == status
