"""The application the gunicorn tests serve (``gunicorn tests.wsgi.wsgi_app:checks_wsgi_app``).

``checks_wsgi_app`` has what only a WSGI deployment needs checking: streaming that waits for
the client to have seen its first piece, the 413 before reading, chunked uploads, a WebSocket
endpoint to refuse, hop-by-hop headers, a lifespan marker written at worker exit (to the file
named by ``NAJA_WSGI_LIFESPAN_FILE``). The shared deployment app is served as
``tests.deploy_app:wsgi_app`` (``app.wsgi``).
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import time
from typing import Any, Iterator

from naja_atra import Application, BytesBody, Environment, Request, Response, WebsocketRequest, hookimpl
from naja_atra.adapters.wsgi import WsgiAdapter

HERE = os.path.dirname(os.path.abspath(__file__))
#: The body limit of ``checks_app``.
MAX_BODY = 64 * 1024

checks_app = Application(load_entry_points=False, max_body_size=MAX_BODY, resources={"/files/*": HERE})


@checks_app.route("/hello")
def hello(name: str = "world") -> str:
    return f"hello {name}"


@checks_app.route("/echo", method="POST")
def echo(body: BytesBody, request: Request) -> dict[str, Any]:
    return {"size": len(body), "transfer_encoding": request.headers.get("Transfer-Encoding"),
            "tail": bytes(body[-8:]).decode("latin-1")}


@checks_app.route("/stream")
def stream(response: Response, marker: str = "") -> None:
    """Sends ``first``, then waits (5 s at most) for the client to create ``marker``, then ``second``."""
    response.set_header("Content-Type", "text/plain; charset=utf-8")
    response.write_bytes(b"first\n")
    deadline = time.monotonic() + 5.0
    while marker and not os.path.exists(marker) and time.monotonic() < deadline:
        time.sleep(0.01)
    response.write_bytes(b"second\n" if os.path.exists(marker) else b"timeout\n")


@checks_app.route("/async")
async def async_route() -> dict[str, Any]:
    await asyncio.sleep(0.001)
    return {"async": True}


@checks_app.route("/hop")
def hop(response: Response) -> str:
    response.set_header("Content-Type", "text/plain")
    response.set_header("Keep-Alive", "timeout=1")
    response.set_header("Connection", "X-Private")
    response.set_header("X-Private", "secret")
    response.set_header("X-Kept", "yes")
    return "hop"


@checks_app.route("/env")
def env(environment: Environment, request: Request) -> dict[str, Any]:
    return {"input_terminated": environment.get("wsgi.input_terminated"), "remote": request.client_address is not None,
            "path": request.path, "raw_path": request.raw_path, "server": environment.get("SERVER_SOFTWARE", "")}


@checks_app.websocket_handler(endpoint="/ws")
class Echo:
    def on_handshake(self, request: WebsocketRequest) -> Any:
        return 0

    def on_text_message(self, session: Any, message: str) -> None:
        session.send(message)


class _LifespanMarker:
    """Appends ``enter``/``exit`` lines to ``NAJA_WSGI_LIFESPAN_FILE`` (when set)."""

    @hookimpl
    def naja_atra_lifespan(self, app: Application) -> Any:
        path = os.environ.get("NAJA_WSGI_LIFESPAN_FILE")
        if not path:
            return None

        @contextlib.contextmanager
        def span() -> Iterator[None]:
            with open(path, "a") as f:
                f.write(f"enter {os.getpid()}\n")
            yield
            with open(path, "a") as f:
                f.write(f"exit {os.getpid()}\n")
        return span()


checks_app.register(_LifespanMarker(), name="wsgi-test-lifespan")
checks_wsgi_app = WsgiAdapter(checks_app)
