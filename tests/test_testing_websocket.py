"""``TestClient.websocket_connect``: WebSocket endpoints driven in-process.

The handshake goes through the application's whole pipeline; after the 101 the real
blocking runner serves one end of a local socket pair on a thread and ``TestWebSocket``
speaks masked client frames over the other end.
"""
from __future__ import annotations

import threading
from typing import Any, Optional

import pytest

from naja_atra import SESSION_COOKIE_NAME, Application, Parameter, PathValue, Request, Session
from naja_atra.app.context import FilterContext
from naja_atra.testing import TestClient, WebSocketClosed, WebSocketRefused, WebSocketTimeout
from naja_atra.websocket.api import (
    WEBSOCKET_MESSAGE_BINARY,
    WebsocketCloseReason,
    WebsocketHandler,
    WebsocketSession,
)


class _Recorder:
    """What handlers saw, shared with the test (the runner calls them on its own thread)."""

    def __init__(self) -> None:
        self.closed = threading.Event()
        self.close_reason: Optional[WebsocketCloseReason] = None
        self.handshake: dict[str, Any] = {}


def _class_app(seen: _Recorder) -> Application:
    app = Application()

    @app.websocket_handler("/echo")
    class Echo(WebsocketHandler):
        def on_open(self, session: WebsocketSession) -> None:
            session.send_text("welcome")

        def on_text_message(self, session: WebsocketSession, message: str) -> None:
            if message == "bye":
                session.close("server says bye", 4001)
            else:
                session.send_text(f"echo: {message}")

        def on_binary_message(self, session: WebsocketSession, message: bytes = b"") -> None:
            session.send_binary(message[::-1])

        def on_close(self, session: WebsocketSession, reason: WebsocketCloseReason) -> None:
            seen.close_reason = reason
            seen.closed.set()

    @app.websocket_handler("/deny")
    class Deny(WebsocketHandler):
        def on_handshake(self, request: Request) -> Any:
            return 403, {"X-Why": "no"}

    return app


def _function_app(seen: _Recorder) -> Application:
    app = Application()

    @app.route("/login")
    def login(session: Session = Session()) -> str:
        session.set_attribute("user", "k")
        return "ok"

    @app.websocket_handshake("/room/{name}")
    def handshake(request: Request, name: PathValue, who: str = Parameter("who", default="?")) -> None:
        seen.handshake.update(name=str(name), who=str(who),
                              cookies={key: morsel.value for key, morsel in request.cookies.items()})

    @app.websocket_open("/room/{name}")
    def opened(session: WebsocketSession) -> None:
        info = seen.handshake
        session.send_text(f"{info['name']}/{info['who']}")

    @app.websocket_message("/room/{name}")
    async def text(session: WebsocketSession, message: str) -> None:
        cookie = session.request.cookies.get(SESSION_COOKIE_NAME)
        session.send_text(f"{message}|cookie={cookie.value if cookie is not None else '-'}")

    @app.websocket_message("/room/{name}", message_type=WEBSOCKET_MESSAGE_BINARY)
    def binary(session: WebsocketSession, message: bytes) -> None:
        session.send_binary(b"<" + message + b">")

    @app.websocket_close("/room/{name}")
    def closed(session: WebsocketSession, reason: WebsocketCloseReason) -> None:
        seen.close_reason = reason
        seen.closed.set()

    @app.request_filter("/guarded/**")
    def guard(ctx: FilterContext) -> None:
        if ctx.request.headers.get("Authorization") != "yes":
            ctx.response.send_error(401)
        else:
            ctx.do_chain()

    @app.websocket_open("/guarded/ws")
    def guarded(session: WebsocketSession) -> None:
        session.send_text("inside")

    return app


@pytest.fixture
def seen() -> _Recorder:
    return _Recorder()


@pytest.fixture
def class_client(seen: _Recorder) -> TestClient:
    return _class_app(seen).test_client()


@pytest.fixture
def function_client(seen: _Recorder) -> TestClient:
    return _function_app(seen).test_client()


# -- class handler -----------------------------------------------------------------------------
def test_class_handler_greets_and_echoes_text_binary_json(class_client: TestClient) -> None:
    with class_client.websocket_connect("/echo") as ws:
        assert ws.response.status_code == 101
        assert ws.response.headers["Upgrade"].lower() == "websocket"
        assert ws.receive_text() == "welcome"
        ws.send_text("hello")
        assert ws.receive() == "echo: hello"
        ws.send_bytes(b"\x00\x01\x02")
        assert ws.receive_bytes() == b"\x02\x01\x00"
        ws.send_json({"a": [1, 2]})
        assert ws.receive_text() == 'echo: {"a": [1, 2]}'
    assert ws.closed


def test_receive_json(class_client: TestClient) -> None:
    with class_client.websocket_connect("/echo") as ws:
        ws.receive_text()
        ws.send_text('"quoted"')
        with pytest.raises(ValueError):  # "echo: ..." is not JSON
            ws.receive_json()
        ws.send_bytes(b"]1[")
        assert ws.receive_json() == [1]


def test_handshake_refused_with_status_and_headers(class_client: TestClient) -> None:
    with pytest.raises(WebSocketRefused) as info:
        class_client.websocket_connect("/deny")
    assert info.value.status_code == 403
    assert info.value.response.headers["X-Why"] == "no"


def test_unknown_path_is_refused_with_404(class_client: TestClient) -> None:
    with pytest.raises(WebSocketRefused) as info:
        class_client.websocket_connect("/nowhere")
    assert info.value.response.status_code == 404


def test_server_close_with_reason(class_client: TestClient, seen: _Recorder) -> None:
    with class_client.websocket_connect("/echo") as ws:
        ws.receive_text()
        ws.send_text("bye")
        with pytest.raises(WebSocketClosed) as info:
            ws.receive()
        assert (info.value.code, info.value.reason) == (4001, "server says bye")
        assert (ws.close_code, ws.close_reason) == (4001, "server says bye")
        with pytest.raises(WebSocketClosed):
            ws.send_text("too late")
    assert seen.closed.is_set() and seen.close_reason is not None
    assert seen.close_reason.code == 4001


def test_client_close_reaches_on_close_with_its_code(class_client: TestClient, seen: _Recorder) -> None:
    ws = class_client.websocket_connect("/echo")
    assert ws.receive_text() == "welcome"
    ws.close(4321, "done here")
    assert seen.closed.wait(1.0)
    assert seen.close_reason is not None
    assert (seen.close_reason.code, seen.close_reason.reason) == (4321, "done here")
    assert ws.close_code == 4321
    ws.close()  # idempotent


def test_ping_returns_on_pong_and_keeps_messages(class_client: TestClient) -> None:
    with class_client.websocket_connect("/echo") as ws:
        ws.ping(b"are you there")
        # on_open sent the greeting before the pong: it arrived meanwhile and was kept.
        assert ws.receive_text(timeout=0) == "welcome"
        ws.ping()
        with pytest.raises(WebSocketTimeout):  # nothing else is pending
            ws.receive(timeout=0.05)


# -- function handlers -------------------------------------------------------------------------
def test_function_handlers_sync_and_async(function_client: TestClient) -> None:
    with function_client.websocket_connect("/room/lobby") as ws:
        assert ws.receive_text() == "lobby/?"
        ws.send_text("hi")  # the async text callback
        assert ws.receive_text() == "hi|cookie=-"
        ws.send_bytes(b"data")  # the sync binary callback
        assert ws.receive_bytes() == b"<data>"


def test_path_values_and_query_reach_the_handshake(function_client: TestClient, seen: _Recorder) -> None:
    with function_client.websocket_connect("/room/kitchen", params={"who": "alice"}) as ws:
        assert ws.receive_text() == "kitchen/alice"
    assert seen.handshake["name"] == "kitchen" and seen.handshake["who"] == "alice"


def test_session_cookie_from_an_earlier_request(function_client: TestClient, seen: _Recorder) -> None:
    assert function_client.get("/login").text == "ok"
    sid = function_client.cookies[SESSION_COOKIE_NAME]
    with function_client.websocket_connect("/room/a") as ws:
        ws.receive_text()
        ws.send_text("x")
        assert ws.receive_text() == f"x|cookie={sid}"
    assert seen.handshake["cookies"][SESSION_COOKIE_NAME] == sid


def test_filter_refuses_the_handshake(function_client: TestClient) -> None:
    with pytest.raises(WebSocketRefused) as info:
        function_client.websocket_connect("/guarded/ws")
    assert info.value.status_code == 401
    with function_client.websocket_connect("/guarded/ws", headers={"Authorization": "yes"}) as ws:
        assert ws.receive_text() == "inside"


def test_client_close_on_function_handler(function_client: TestClient, seen: _Recorder) -> None:
    with function_client.websocket_connect("/room/a") as ws:
        ws.receive_text()
        ws.close(1001)
    assert seen.closed.wait(1.0)
    assert seen.close_reason is not None and seen.close_reason.code == 1001
    assert ws.close_code == 1001
