"""A representative application for the deployment tests: ``tests.deploy_app:app``.

Served by the built-in servers, by ASGI servers (``uvicorn tests.deploy_app:app``,
``hypercorn tests.deploy_app:app``) and by WSGI servers; ``tests/deploy_checks.py`` asserts
its behaviour over HTTP and WebSocket, the same checks whatever serves it. Keep it a plain
module: servers import it by name (the working directory is the repository root).

With the environment variable ``NAJA_ATRA_DEPLOY_MARKERS`` set to a file path, a lifespan
plugin appends ``startup`` and ``shutdown`` lines to that file as the server starts and stops.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
import threading
from typing import Any, Iterator, Optional

from naja_atra import (
    Application,
    FilterContext,
    HttpError,
    JSONBody,
    MultipartFile,
    Parameter,
    PathValue,
    Redirect,
    Request,
    Response,
    Session,
    StaticFile,
    WebsocketCloseReason,
    WebsocketHandler,
    WebsocketRequest,
    WebsocketSession,
    hookimpl,
)

HERE = os.path.dirname(os.path.abspath(__file__))
STATIC_ROOT = os.path.join(HERE, "deploy_static")
#: The request body limit of this application (the checks send more to get a 413).
MAX_BODY = 1024 * 1024
#: Pieces that ``/stream`` writes one ``write_bytes`` at a time.
STREAM_PIECES = [f"piece-{i}\n".encode("ascii") for i in range(5)]
#: The subprotocol the echo endpoint agrees to when a client offers it.
SUBPROTOCOL = "deploy.v1"
MARKERS_ENV = "NAJA_ATRA_DEPLOY_MARKERS"


def big_payload() -> bytes:
    """What ``/big`` serves: 200 KiB (several file pieces) of a recognisable pattern."""
    return bytes(range(256)) * 800


class _Markers:
    """Appends the lifespan events to the file named by ``NAJA_ATRA_DEPLOY_MARKERS``."""

    @hookimpl
    def naja_atra_lifespan(self, app: Application) -> Optional[contextlib.AbstractContextManager[None]]:
        path = os.environ.get(MARKERS_ENV)
        return _markers(path) if path else None


@contextlib.contextmanager
def _markers(path: str) -> Iterator[None]:
    with open(path, "a", encoding="utf-8") as file:
        file.write("startup\n")
    try:
        yield
    finally:
        with open(path, "a", encoding="utf-8") as file:
            file.write("shutdown\n")


app = Application(resources={"/static/**": STATIC_ROOT}, max_body_size=MAX_BODY)
app.register(_Markers(), name="deploy.markers")


# -- HTTP ------------------------------------------------------------------------------------------
@app.route("/hello", method=["GET", "HEAD"])
def hello() -> str:
    return "hello, world"


@app.route("/json")
def json_result() -> dict[str, Any]:
    return {"ok": True, "items": [1, 2, 3], "text": "naïve ✓"}


@app.route("/users/{uid}")
def user(uid: str = PathValue("uid"), verbose: str = Parameter("verbose", default="0")) -> dict[str, Any]:
    return {"uid": uid, "verbose": verbose}


@app.route("/whoami")
def whoami(request: Request) -> dict[str, Any]:
    return {"method": request.method, "path": request.path, "query": request.query_string,
            "scheme": request.scheme, "host": request.host,
            "client": bool(request.client_address and request.client_address[0])}


@app.route("/form", method="POST")
def form(name: str, age: int) -> str:
    return f"form {name} {age}"


@app.route("/json-body", method="POST")
def json_body(data: JSONBody) -> dict[str, Any]:
    return {"received": dict(data), "keys": sorted(data)}


@app.route("/upload", method="POST")
def upload(file: MultipartFile = MultipartFile("file"), note: str = Parameter("note", default="")) -> dict[str, Any]:
    content = file.content or b""
    return {"filename": file.filename, "size": len(content), "sha256": hashlib.sha256(content).hexdigest(),
            "note": note}


@app.route("/stream")
def stream(response: Response) -> None:
    response.status_code = 200
    response.set_header("Content-Type", "text/plain; charset=utf-8")
    response.set_header("X-Streamed", "yes")
    for piece in STREAM_PIECES:
        response.write_bytes(piece)
    response.close()


@app.route("/stream/broken")
def stream_broken(response: Response) -> None:
    response.set_header("Content-Type", "text/plain; charset=utf-8")
    response.write_bytes(b"partial ")
    raise RuntimeError("deliberate failure after the head went out")


_big_lock = threading.Lock()
_big_file: list[str] = []


@app.route("/big")
def big() -> StaticFile:
    with _big_lock:
        if not _big_file:
            folder = tempfile.mkdtemp(prefix="naja_atra_deploy_")
            path = os.path.join(folder, "big.bin")
            with open(path, "wb") as out:
                out.write(big_payload())
            _big_file.append(path)
    return StaticFile(_big_file[0], "application/octet-stream")


@app.route("/redirect")
def redirect() -> Redirect:
    return Redirect("/hello")


@app.route("/teapot")
def teapot() -> None:
    raise HttpError(418, "I'm a teapot", "short and stout")


@app.route("/crash")
def crash() -> None:
    raise RuntimeError("deliberate failure")


@app.error_message("404", "418", "500")
def error_page(code: int, message: str, explain: str = "") -> str:
    return f"deploy-error {code}: {message}"


@app.request_filter("/filtered/**")
def guard(ctx: FilterContext) -> None:
    ctx.response.set_header("X-Deploy-Filter", "passed")
    if ctx.request.get_parameter("deny"):
        ctx.response.send_error(403, "Denied by filter")
        return
    ctx.do_chain()


@app.route("/filtered/hello")
def filtered() -> str:
    return "filtered hello"


@app.route("/session/count")
def session_count(session: Session) -> str:
    count = int(session.get_attribute("count") or 0) + 1
    session.set_attribute("count", count)
    return str(count)


@app.route("/async")
async def async_route(name: str = Parameter("name", default="anon")) -> dict[str, Any]:
    await asyncio.sleep(0.001)
    return {"async": True, "name": name}


# -- WebSocket -------------------------------------------------------------------------------------
#: The query parameter that names an echo connection whose close is to be recorded.
CLOSE_TAG = "tag"
#: How each tagged echo connection was closed, by its tag. The checks tag every connection they
#: close, then ask for that tag's close over another, untagged connection (not recorded: the
#: asking connections' own closes can never be mistaken for the one asked about).
closes: dict[str, WebsocketCloseReason] = {}


@app.websocket_handler(endpoint="/ws/echo/{room}")
class EchoHandler(WebsocketHandler):
    """Greets, echoes text and binary, closes on request, reports how a tagged connection closed."""

    def on_handshake(self, request: WebsocketRequest) -> Any:
        headers = {"X-Deploy-WS": "accepted"}
        offered = [p.strip() for p in (request.headers.get("Sec-WebSocket-Protocol") or "").split(",")]
        if SUBPROTOCOL in offered:
            headers["Sec-WebSocket-Protocol"] = SUBPROTOCOL
        return 0, headers

    def on_open(self, session: WebsocketSession) -> None:
        request = session.request
        session.send(f"welcome {request.path_values['room']} {request.get_parameter('user', '-')}")

    def on_text_message(self, session: WebsocketSession, message: str) -> None:
        if message.startswith("close-of:"):  # "close-of:TAG" -> "CODE REASON", or "none" (not closed yet)
            reason = closes.get(message[len("close-of:"):])
            session.send(f"{reason.code} {reason.reason}" if reason is not None else "none")
        elif message.startswith("close:"):
            session.close(message[len("close:"):], 4001)
        else:
            session.send(f"echo: {message}")

    async def on_binary_message(self, session: WebsocketSession, message: bytes = b"") -> None:
        await asyncio.sleep(0)
        session.send(message[::-1])

    def on_close(self, session: WebsocketSession, reason: WebsocketCloseReason) -> None:
        tag = session.request.get_parameter(CLOSE_TAG)
        if tag:
            closes[tag] = reason


@app.websocket_handshake(endpoint="/ws/refuse")
def refuse(request: WebsocketRequest) -> Any:
    return 403, {"X-Refused": "yes"}


#: The WSGI entry point (``gunicorn tests.deploy_app:wsgi_app``; WSGI has no WebSocket). The ASGI
#: entry point is ``app`` itself (``uvicorn tests.deploy_app:app``).
wsgi_app = app.wsgi
