"""The failure policy, the same on every driver: whatever application code raises --
``Exception``, ``SystemExit``, ``KeyboardInterrupt`` or another ``BaseException`` -- in a
controller, an async controller, a filter, a provider or a WebSocket callback ends that
request (500) or that WebSocket session (1011), and the server goes on serving.

Each driver is real: the threading and asyncio servers, uvicorn (ASGI) and wsgiref (WSGI)
on 127.0.0.1, and the in-process test client.
"""
from __future__ import annotations

import contextlib
import socket
import threading
import wsgiref.simple_server
from typing import Any, Callable, Iterator

import pytest
import websocket

from naja_atra import Application, Depends, FilterContext, PathValue, WebsocketHandler, WebsocketSession

from ..support import DRIVERS, STOP_TIMEOUT, Client, serving, wait_until


class Boom(BaseException):
    """A BaseException of the application's own, neither Exception nor an exit."""


RAISERS: dict[str, Callable[[], BaseException]] = {
    "exit": lambda: SystemExit(3),
    "interrupt": lambda: KeyboardInterrupt(),
    "base": lambda: Boom(),
    "error": lambda: RuntimeError("bug"),
}


def build_app() -> Application:
    app = Application()

    @app.route("/ok")
    def ok() -> str:
        return "ok"

    @app.route("/sync/{kind}")
    def sync_raise(kind: str = PathValue()) -> str:
        raise RAISERS[kind]()

    @app.route("/async/{kind}")
    async def async_raise(kind: str = PathValue()) -> str:
        raise RAISERS[kind]()

    @app.request_filter("/filtered/**")
    def failing_filter(ctx: FilterContext) -> None:
        raise RAISERS[ctx.request.path.rsplit("/", 1)[1]]()

    @app.route("/filtered/{kind}")
    def behind_filter(kind: str = PathValue()) -> str:
        return "not reached"

    def exiting_provider() -> str:
        raise SystemExit(5)

    @app.route("/provider")
    def with_provider(value: str = Depends(exiting_provider)) -> str:
        return value

    @app.websocket_handler(endpoint="/ws")
    class Echo(WebsocketHandler):
        def on_text_message(self, session: WebsocketSession, message: str) -> None:
            if message in RAISERS:
                raise RAISERS[message]()
            session.send(f"echo {message}")

    return app


FAILING_PATHS = [f"/{where}/{kind}" for where in ("sync", "async", "filtered") for kind in RAISERS] + ["/provider"]


def check_http(client: Client) -> None:
    """Every failing path answers 500, and the server still serves afterwards."""
    for path in FAILING_PATHS:
        reply = client.get(path)
        assert reply.status == 500, (path, reply.status, reply.body[:200])
        assert client.get("/ok").text == "ok", path


def check_websocket(ws_url: str) -> None:
    """A callback raising any of them closes its session with 1011; new sessions work."""
    for kind in RAISERS:
        ws = websocket.create_connection(ws_url + "/ws", timeout=5)
        try:
            ws.send("hi")
            assert ws.recv() == "echo hi"
            ws.send(kind)
            opcode, data = ws.recv_data(control_frame=True)
            assert opcode == websocket.ABNF.OPCODE_CLOSE, kind
            assert int.from_bytes(data[:2], "big") == 1011, kind
        finally:
            ws.close()


@pytest.mark.parametrize("driver", DRIVERS)
def test_built_in_servers(driver: str) -> None:
    app = build_app()
    with serving(app, driver) as client:
        check_http(client)
        check_websocket(f"ws://127.0.0.1:{client.port}")
        assert client.get("/ok").text == "ok"


def test_threadpool_on_the_asyncio_server() -> None:
    """Sync controllers in the thread pool: a SystemExit there is a 500 too."""
    app = build_app()
    app.run_sync_in_threadpool = True
    with serving(app, "asyncio") as client:
        check_http(client)


def test_test_client() -> None:
    client = build_app().test_client()
    for path in FAILING_PATHS:
        assert client.get(path).status_code == 500, path
        assert client.get("/ok").text == "ok"


@contextlib.contextmanager
def listening_socket() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock
    finally:
        sock.close()


def test_asgi_under_uvicorn() -> None:
    uvicorn = pytest.importorskip("uvicorn")
    app = build_app()
    with listening_socket() as sock:
        config = uvicorn.Config(app, log_level="critical", lifespan="on")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            assert wait_until(lambda: server.started, timeout=STOP_TIMEOUT), "uvicorn did not start"
            port = sock.getsockname()[1]
            check_http(Client(port))
            if _has_module("websockets") or _has_module("wsproto"):
                check_websocket(f"ws://127.0.0.1:{port}")
        finally:
            server.should_exit = True
            thread.join(STOP_TIMEOUT)
        assert not thread.is_alive()


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_wsgi_under_wsgiref() -> None:
    app = build_app()
    server = wsgiref.simple_server.make_server("127.0.0.1", 0, app.wsgi, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        check_http(Client(server.server_address[1]))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(STOP_TIMEOUT)
        app.wsgi.close()
    assert not thread.is_alive()


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None
