"""The WSGI adapter driven directly: a PEP 3333 environ in, a ``start_response`` recorder out.

Most calls go through ``wsgiref.validate.validator`` with its warnings turned into errors, so
every exchange is also a PEP 3333 compliance check of the adapter (environ use, status and
header types, ``write()``, iterable and ``close()``). The last tests serve the adapter with
``wsgiref.simple_server`` on 127.0.0.1, whose handler asserts that no hop-by-hop header
reaches it.
"""
from __future__ import annotations

import asyncio
import contextlib
import gzip
import http.client
import io
import json
import os
import threading
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator, Optional
from urllib.parse import unquote_to_bytes
from wsgiref.simple_server import WSGIRequestHandler, make_server
from wsgiref.validate import WSGIWarning, validator

import pytest

from naja_atra import (
    Application,
    BytesBody,
    Environment,
    HttpError,
    JSONBody,
    MultipartFile,
    Request,
    Response,
    WebsocketRequest,
    hookimpl,
)
from naja_atra.adapters.wsgi import HOP_BY_HOP, READ_SIZE, WEBSOCKET_REFUSED, StreamAborted, WsgiAdapter
from naja_atra.http.errors import ClientDisconnected
from naja_atra.http.file_response import FileChunks
from naja_atra.http.limits import Limits
from naja_atra.testing.encoding import multipart

WS_KEY = "dGhlIHNhbXBsZSBub25jZQ=="


# -- the exchange ------------------------------------------------------------------------------
class Result:
    """What the application gave the server: status, headers, ``write()`` pieces, iterable."""

    def __init__(self) -> None:
        self.status = ""
        self.headers: list[tuple[str, str]] = []
        self.start_calls = 0
        self.written: list[bytes] = []
        self.iterated: list[bytes] = []

    @property
    def code(self) -> int:
        return int(self.status.split(" ", 1)[0])

    @property
    def body(self) -> bytes:
        return b"".join(self.written) + b"".join(self.iterated)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> Optional[str]:
        values = self.header_all(name)
        return values[0] if values else None

    def header_all(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name.lower()]


def environ(method: str = "GET", path: str = "/", query: str = "", body: bytes = b"",
            headers: Optional[dict[str, str]] = None, length: bool = True,
            extra: Optional[dict[str, Any]] = None, **more: Any) -> dict[str, Any]:
    """A PEP 3333 environ as a server builds it: ``PATH_INFO`` percent-decoded, one
    character per byte; ``CONTENT_TYPE``/``CONTENT_LENGTH`` without the HTTP_ prefix."""
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "192.0.2.7",
        "REMOTE_PORT": "50123",
        "HTTP_HOST": "testserver",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if body and length:
        env["CONTENT_LENGTH"] = str(len(body))
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        env[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key] = value
    env.update(extra or {})
    env.update(more)
    return env


def call(wsgi: Callable[..., Any], env: dict[str, Any], validate: bool = True,
         on_write: Optional[Callable[[bytes], None]] = None) -> Result:
    """Run one request like a server: start_response recorder, iterate, close."""
    app = validator(wsgi) if validate else wsgi
    result = Result()

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        result.start_calls += 1
        result.status, result.headers = status, headers

        def write(data: bytes) -> None:
            result.written.append(data)
            if on_write is not None:
                on_write(data)
        return write

    with warnings.catch_warnings():
        warnings.simplefilter("error", WSGIWarning)
        iterable = app(env, start_response)
        try:
            for piece in iterable:
                result.iterated.append(piece)
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
    assert result.start_calls == 1
    return result


# -- the application ----------------------------------------------------------------------------
class Probe:
    """What the routes report back to the tests."""

    def __init__(self) -> None:
        self.stream_done = False
        self.stream_error: Optional[BaseException] = None
        self.handshakes = 0
        self.lifespan: list[str] = []


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
def static_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "static"
    folder.mkdir()
    (folder / "big.bin").write_bytes(bytes(range(256)) * 1024)  # 256 KiB: several pieces
    (folder / "small.txt").write_text("small file\n")
    return folder


@pytest.fixture
def app(probe: Probe, static_dir: Path) -> Application:
    app = Application(load_entry_points=False, max_body_size=64 * 1024,
                      resources={"/files/*": str(static_dir)}, gzip_content_types={"text/plain"})

    @app.route("/hello")
    def hello(name: str = "world") -> str:
        return f"hello {name}"

    @app.route("/form", method="POST")
    def form(user: str, tags: list[str]) -> dict[str, Any]:
        return {"user": user, "tags": tags}

    @app.route("/json", method="POST")
    def json_body(data: JSONBody) -> dict[str, Any]:
        return {"got": dict(data)}

    @app.route("/upload", method="POST")
    def upload(doc: MultipartFile, title: str = "") -> dict[str, Any]:
        return {"filename": doc.filename, "size": len(doc.content or b""), "title": title,
                "content_type": doc.content_type}

    @app.route("/echo", method=["POST", "PUT"])
    def echo(body: BytesBody, request: Request) -> dict[str, Any]:
        return {"size": len(body), "head": bytes(body[:16]).decode("latin-1"),
                "content_length": request.headers.get("Content-Length"),
                "transfer_encoding": request.headers.get("Transfer-Encoding")}

    @app.route("/stream")
    def stream(response: Response) -> None:
        response.set_header("Content-Type", "text/plain; charset=utf-8")
        for piece in (b"one ", b"two ", b"three"):
            response.write_bytes(piece)
        probe.stream_done = True

    @app.route("/stream-caught")
    def stream_caught(response: Response) -> None:
        try:
            for piece in (b"one ", b"two ", b"three"):
                response.write_bytes(piece)
        except OSError as exc:
            probe.stream_error = exc
            response.write_bytes(b"after")  # raises again: the stream is over

    @app.route("/stream-fail")
    def stream_fail(response: Response) -> None:
        response.set_header("Content-Type", "text/plain; charset=utf-8")
        response.write_bytes(b"partial")
        raise RuntimeError("the database went away")

    @app.route("/async")
    async def async_route(name: str = "") -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"async": True, "name": name}

    @app.route("/async-stream")
    async def async_stream(response: Response) -> None:
        response.set_header("Content-Type", "text/plain; charset=utf-8")
        response.write_bytes(b"a")
        await asyncio.sleep(0)
        response.write_bytes(b"b")

    @app.route("/boom")
    def boom() -> str:
        raise ValueError("kaboom")

    @app.route("/teapot")
    def teapot() -> str:
        raise HttpError(418, "I'm a teapot", "short and stout")

    @app.error_message("418")
    def teapot_page(code: int, message: str, explain: str) -> str:
        return f"custom {code}: {explain}"

    @app.route("/only-post", method="POST")
    def only_post() -> str:
        return "posted"

    @app.route("/hop")
    def hop(response: Response) -> str:
        response.set_header("Content-Type", "text/plain")
        for name, value in (("Keep-Alive", "timeout=5"), ("Upgrade", "h2c"), ("Proxy-Authenticate", "Basic"),
                            ("TE", "trailers"), ("Trailers", "X-Sum"), ("Transfer-Encoding", "chunked"),
                            ("Connection", "X-Private"), ("X-Private", "secret"), ("X-Kept", "yes")):
            response.set_header(name, value)
        return "hop"

    @app.route("/redirect")
    def redirect(response: Response) -> None:
        response.send_redirect("/hello")

    @app.route("/env")
    def env(environment: Environment, request: Request) -> dict[str, Any]:
        return {"path": request.path, "raw_path": request.raw_path, "query": request.query_string,
                "script_name": environment.get("SCRIPT_NAME"), "same": request.environment is environment
                or request.environment.get("wsgi.version") == environment.get("wsgi.version"),
                "client": list(request.client_address or ()), "scheme": request.scheme,
                "host": request.host, "custom": request.headers.get("X-Custom"),
                "version": request.version, "keys": sorted(k for k in environment if k.startswith("wsgi."))}

    @app.route("/café/{item}")
    def unicode_path(request: Request) -> str:
        return f"{request.path}|{request.path_values['item']}"

    @app.route("/login")
    def login(request: Request) -> str:
        session = request.get_session(True)
        assert session is not None
        session.set_attribute("user", "kim")
        return "in"

    @app.route("/me")
    def me(request: Request) -> str:
        session = request.get_session()
        return str(session.get_attribute("user")) if session is not None else "anonymous"

    @app.route("/text")
    def text() -> Response:
        return Response(headers={"Content-Type": "text/plain; charset=utf-8"}, body="z" * 2000)

    @app.websocket_handler(endpoint="/ws")
    class Chat:
        def on_handshake(self, request: WebsocketRequest) -> Any:
            probe.handshakes += 1
            return 0

        def on_text_message(self, session: Any, message: str) -> None:
            session.send(message)

    return app


@pytest.fixture
def wsgi(app: Application) -> Iterator[WsgiAdapter]:
    adapter = WsgiAdapter(app)
    yield adapter
    adapter.close()


# -- requests and bodies -----------------------------------------------------------------------
def test_get_with_query(wsgi: WsgiAdapter) -> None:
    r = call(wsgi, environ(path="/hello", query="name=ada"))
    assert r.status == "200 OK"
    assert r.text == "hello ada"
    assert r.header("Content-Type") == "text/html; charset=utf-8"
    assert r.header("Content-Length") == "9"
    assert all(isinstance(n, str) and isinstance(v, str) for n, v in r.headers)


def test_post_urlencoded_form(wsgi: WsgiAdapter) -> None:
    body = b"user=kim&tags=a&tags=b%20c"
    r = call(wsgi, environ("POST", "/form", body=body,
                           headers={"Content-Type": "application/x-www-form-urlencoded"}))
    assert r.code == 200
    assert r.json() == {"user": "kim", "tags": ["a", "b c"]}


def test_post_json(wsgi: WsgiAdapter) -> None:
    body = json.dumps({"k": [1, 2], "s": "é"}).encode("utf-8")
    r = call(wsgi, environ("POST", "/json", body=body, headers={"Content-Type": "application/json"}))
    assert r.json() == {"got": {"k": [1, 2], "s": "é"}}


def test_bad_json_is_400(wsgi: WsgiAdapter) -> None:
    r = call(wsgi, environ("POST", "/json", body=b"{nope", headers={"Content-Type": "application/json"}))
    assert r.code == 400


def test_multipart_upload(wsgi: WsgiAdapter) -> None:
    payload = os.urandom(20000)
    body, content_type = multipart([("title", "report")], {"doc": ("r.pdf", payload, "application/pdf")})
    r = call(wsgi, environ("POST", "/upload", body=body, headers={"Content-Type": content_type}))
    assert r.json() == {"filename": "r.pdf", "size": 20000, "title": "report", "content_type": "application/pdf"}


def test_environment_and_request_fields(wsgi: WsgiAdapter) -> None:
    r = call(wsgi, environ(path="/env", query="a=1", headers={"X-Custom": "v1"}, extra={"wsgi.url_scheme": "https"}))
    data = r.json()
    assert data["path"] == "/env" and data["raw_path"] == "/env" and data["query"] == "a=1"
    assert data["same"] is True
    assert data["client"] == ["192.0.2.7", 50123]
    assert data["scheme"] == "https"
    assert data["host"] == "testserver"
    assert data["custom"] == "v1"
    assert data["version"] == "HTTP/1.1"
    assert "wsgi.input" in data["keys"]


def test_request_environment_is_the_environ(app: Application) -> None:
    seen: list[Any] = []

    @app.route("/raw-env")
    def raw_env(request: Request) -> str:
        seen.append(request.environment)
        return "ok"

    env = environ(path="/raw-env")
    call(WsgiAdapter(app, lifespan=False), env, validate=False)
    assert seen == [env] and seen[0] is env


def test_script_name_prefix(wsgi: WsgiAdapter) -> None:
    env = environ(path="/env", SCRIPT_NAME="/mount")
    data = call(wsgi, env).json()
    assert data["path"] == "/env"  # routing below the mount point
    assert data["script_name"] == "/mount"
    assert data["raw_path"] == "/mount/env"  # as the client sent it


def test_raw_uri_preferred_for_raw_path(wsgi: WsgiAdapter) -> None:
    env = environ(path="/env", query="x=%41", RAW_URI="/env?x=%41")
    env["PATH_INFO"] = "/env"
    assert call(wsgi, env).json()["raw_path"] == "/env"
    data = call(wsgi, environ(path="/a/../env", RAW_URI="/a/../env")).json()
    assert (data["path"], data["raw_path"]) == ("/env", "/a/../env")


def test_empty_path_info_is_root(app: Application) -> None:
    @app.route("/")
    def root() -> str:
        return "root"

    env = environ(SCRIPT_NAME="/mount")
    env["PATH_INFO"] = ""
    assert call(WsgiAdapter(app, lifespan=False), env).text == "root"


def test_utf8_path_from_latin1_path_info(wsgi: WsgiAdapter) -> None:
    r = call(wsgi, environ(path="/caf%C3%A9/%E2%82%AC"))
    assert r.code == 200
    assert r.text == "/café/€|€"


def test_path_is_normalised_like_the_parser(wsgi: WsgiAdapter) -> None:
    r = call(wsgi, environ(path="/x/..//hello", query="name=n"))
    assert r.text == "hello n"


@pytest.mark.parametrize("path", ["/%FF%FE", "/a%00b"])
def test_bad_path_is_400(wsgi: WsgiAdapter, path: str) -> None:
    r = call(wsgi, environ(path=path))
    assert r.code == 400
    assert r.header("Content-Type") == "text/plain; charset=utf-8"
    assert r.header("Connection") is None


def test_malformed_escape_is_400_when_the_raw_uri_shows_it(wsgi: WsgiAdapter) -> None:
    env = environ(path="/env", RAW_URI="/env%zz?a=1")
    env["PATH_INFO"] = "/env%zz"  # what servers leave in PATH_INFO for a malformed escape
    assert call(wsgi, env).code == 400
    env = environ(path="/env", REQUEST_URI="/e%4")
    assert call(wsgi, env).code == 400
    env = environ(path="/env", RAW_URI="/%65nv")
    assert call(wsgi, env).json()["raw_path"] == "/%65nv"


def test_head_keeps_length_without_body(wsgi: WsgiAdapter) -> None:
    r = call(wsgi, environ("HEAD", "/hello", query="name=ada"))
    assert r.code == 200 and r.body == b""
    assert r.header("Content-Length") == "9"


def test_session_cookie_round_trip(wsgi: WsgiAdapter) -> None:
    r = call(wsgi, environ(path="/login"))
    cookie = r.header("Set-Cookie")
    assert cookie is not None and cookie.startswith("PY_SIM_HTTP_SER_SESSION_ID=")
    r2 = call(wsgi, environ(path="/me", headers={"Cookie": cookie.split(";", 1)[0]}))
    assert r2.text == "kim"


def test_gzip_applies(wsgi: WsgiAdapter) -> None:
    r = call(wsgi, environ(path="/text", headers={"Accept-Encoding": "gzip"}))
    assert r.header("Content-Encoding") == "gzip"
    assert gzip.decompress(r.body) == b"z" * 2000


# -- errors ------------------------------------------------------------------------------------
def test_not_found(wsgi: WsgiAdapter) -> None:
    r = call(wsgi, environ(path="/missing"))
    assert r.status == "404 Not Found"


def test_method_not_allowed_lists_methods(wsgi: WsgiAdapter) -> None:
    r = call(wsgi, environ(path="/only-post"))
    assert r.code == 405
    assert r.header("Allow") == "POST"


def test_controller_exception_is_500(wsgi: WsgiAdapter, caplog: pytest.LogCaptureFixture) -> None:
    r = call(wsgi, environ(path="/boom"))
    assert r.status == "500 Internal Server Error"
    assert "kaboom" not in r.text


def test_error_page_applies(wsgi: WsgiAdapter) -> None:
    r = call(wsgi, environ(path="/teapot"))
    assert r.status == "418 I'm a Teapot" or r.code == 418
    assert r.text == "custom 418: short and stout"


def test_redirect(wsgi: WsgiAdapter) -> None:
    # wsgiref.validate insists on a Content-Type even for an empty redirect (PEP 3333 does not).
    r = call(wsgi, environ(path="/redirect"), validate=False)
    assert r.code == 302 and r.header("Location") == "/hello"
    assert r.body == b""


# -- body limits and reading ---------------------------------------------------------------------
class GuardedInput:
    """A ``wsgi.input`` that records every read and holds more bytes than announced."""

    def __init__(self, data: bytes, forbid: bool = False) -> None:
        self._io = io.BytesIO(data)
        self.reads: list[Optional[int]] = []
        self.forbid = forbid

    def read(self, size: Optional[int] = None) -> bytes:
        if self.forbid:
            raise AssertionError("the body was read")
        self.reads.append(size)
        return self._io.read(size)

    def readline(self, size: int = -1) -> bytes:
        raise AssertionError("readline is not used")

    def readlines(self, hint: int = -1) -> list[bytes]:
        raise AssertionError("readlines is not used")

    def __iter__(self) -> Iterator[bytes]:
        raise AssertionError("iteration is not used")

    def tell(self) -> int:
        return self._io.tell()


def test_413_before_reading(wsgi: WsgiAdapter) -> None:
    guarded = GuardedInput(b"", forbid=True)
    env = environ("POST", "/echo", extra={"wsgi.input": guarded, "CONTENT_LENGTH": str(64 * 1024 + 1)})
    r = call(wsgi, env)
    assert r.code == 413  # the route's limit: answered by the application (its error pages apply)
    assert b"Content Too Large" in r.body


def test_body_at_the_limit_is_read_in_bounded_pieces(wsgi: WsgiAdapter) -> None:
    body = os.urandom(64 * 1024)
    guarded = GuardedInput(body + b"NEXT REQUEST BYTES")
    env = environ("POST", "/echo", extra={"wsgi.input": guarded, "CONTENT_LENGTH": str(len(body))})
    r = call(wsgi, env, validate=False)
    assert r.json()["size"] == len(body)
    assert all(size is not None and 0 < size <= READ_SIZE for size in guarded.reads)
    assert guarded.tell() == len(body)  # never past CONTENT_LENGTH


def test_short_body_is_400(wsgi: WsgiAdapter) -> None:
    env = environ("POST", "/echo", body=b"abc", CONTENT_LENGTH="10")
    assert call(wsgi, env).code == 400


@pytest.mark.parametrize("value", ["-1", "1e3", "abc", "9" * 30])
def test_invalid_content_length_is_400(wsgi: WsgiAdapter, value: str) -> None:
    assert call(wsgi, environ("POST", "/echo", body=b"x", CONTENT_LENGTH=value), validate=False).code == 400


def test_chunked_body_with_input_terminated(wsgi: WsgiAdapter) -> None:
    body = os.urandom(150_000)[:50_000]
    env = environ("POST", "/echo", body=body, length=False, headers={"Transfer-Encoding": "chunked"},
                  extra={"wsgi.input_terminated": True})
    data = call(wsgi, env).json()
    assert data["size"] == 50_000
    assert data["content_length"] is None and data["transfer_encoding"] == "chunked"


def test_chunked_body_over_the_limit_is_413(wsgi: WsgiAdapter) -> None:
    guarded = GuardedInput(os.urandom(200_000))
    env = environ("POST", "/echo", length=False, headers={"Transfer-Encoding": "chunked"},
                  extra={"wsgi.input_terminated": True, "wsgi.input": guarded})
    r = call(wsgi, env, validate=False)
    assert r.code == 413
    assert guarded.tell() <= 64 * 1024 + READ_SIZE  # stopped soon after the limit


def test_chunked_body_without_input_terminated_is_411(wsgi: WsgiAdapter) -> None:
    env = environ("POST", "/echo", body=b"5\r\nhello\r\n0\r\n\r\n", length=False,
                  headers={"Transfer-Encoding": "chunked"})
    assert call(wsgi, env).code == 411


def test_no_length_no_body(wsgi: WsgiAdapter) -> None:
    env = environ("POST", "/echo", length=False, extra={"wsgi.input": GuardedInput(b"", forbid=True)})
    assert call(wsgi, env, validate=False).json()["size"] == 0


# -- streaming -----------------------------------------------------------------------------------
def test_streaming_goes_through_write_as_produced(wsgi: WsgiAdapter, probe: Probe) -> None:
    states: list[bool] = []
    r = call(wsgi, environ(path="/stream"), on_write=lambda data: states.append(probe.stream_done))
    assert r.code == 200
    assert r.written == [b"one ", b"two ", b"three"]  # each piece on its own, unframed
    assert r.iterated == []
    assert states == [False, False, False]  # every piece reached the server while the controller ran
    assert probe.stream_done
    assert r.header("Transfer-Encoding") is None and r.header("Content-Length") is None
    assert r.header("Content-Type") == "text/plain; charset=utf-8"


def test_streaming_on_http10(wsgi: WsgiAdapter) -> None:
    r = call(wsgi, environ(path="/stream", SERVER_PROTOCOL="HTTP/1.0"))
    assert r.written == [b"one ", b"two ", b"three"]
    assert r.header("Connection") is None


def test_streaming_head_sends_no_body(wsgi: WsgiAdapter) -> None:
    r = call(wsgi, environ("HEAD", "/stream"))
    assert r.code == 200 and r.body == b""


def test_streaming_gzip(wsgi: WsgiAdapter) -> None:
    r = call(wsgi, environ(path="/stream", headers={"Accept-Encoding": "gzip"}))
    assert r.header("Content-Encoding") == "gzip"
    assert gzip.decompress(r.body) == b"one two three"


def test_async_streaming(wsgi: WsgiAdapter) -> None:
    assert call(wsgi, environ(path="/async-stream")).written == [b"a", b"b"]


def test_stream_failure_aborts(wsgi: WsgiAdapter) -> None:
    with pytest.raises(StreamAborted):
        call(wsgi, environ(path="/stream-fail"), validate=False)


def test_stream_write_failure_is_client_disconnected(wsgi: WsgiAdapter, probe: Probe) -> None:
    """A ``write()`` the server fails (the client left) raises ``ClientDisconnected`` to the
    controller, and so does every later write; the server gets an empty iterable, not an
    error: it finds the dead connection itself."""
    writes: list[bytes] = []

    def gone_after_first(data: bytes) -> None:
        writes.append(data)
        if len(writes) > 1:
            raise BrokenPipeError("client went away")
    result = call(wsgi, environ(path="/stream"), validate=False, on_write=gone_after_first)
    assert result.iterated == [] and writes == [b"one ", b"two "] and not probe.stream_done
    writes.clear()
    result = call(wsgi, environ(path="/stream-caught"), validate=False, on_write=gone_after_first)
    assert isinstance(probe.stream_error, ClientDisconnected)
    assert isinstance(probe.stream_error.__cause__, BrokenPipeError)
    assert writes == [b"one ", b"two "]  # "three" and "after" never reached the server


# -- async, WebSocket, hop-by-hop ----------------------------------------------------------------
def test_async_controller(wsgi: WsgiAdapter) -> None:
    assert call(wsgi, environ(path="/async", query="name=z")).json() == {"async": True, "name": "z"}


def test_websocket_upgrade_is_refused(wsgi: WsgiAdapter, probe: Probe) -> None:
    headers = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Key": WS_KEY,
               "Sec-WebSocket-Version": "13"}
    r = call(wsgi, environ(path="/ws", headers=headers))
    assert r.status == "501 Not Implemented"
    assert r.text == WEBSOCKET_REFUSED
    assert "ASGI" in r.text and "WSGI" in r.text
    assert r.header("Upgrade") is None and r.header("Sec-WebSocket-Accept") is None
    assert probe.handshakes == 0  # the handshake callable never ran


def test_websocket_endpoint_without_upgrade_is_426(wsgi: WsgiAdapter) -> None:
    r = call(wsgi, environ(path="/ws"), validate=False)
    assert r.code == 426
    assert r.header("Upgrade") is None  # hop-by-hop: not passed to the server


def test_upgrade_to_a_plain_route_is_served(wsgi: WsgiAdapter) -> None:
    headers = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Key": WS_KEY,
               "Sec-WebSocket-Version": "13"}
    assert call(wsgi, environ(path="/hello", headers=headers)).text == "hello world"


def test_hop_by_hop_headers_are_filtered(wsgi: WsgiAdapter) -> None:
    r = call(wsgi, environ(path="/hop"))
    names = {n.lower() for n, _ in r.headers}
    assert not names & HOP_BY_HOP
    assert "x-private" not in names  # named by Connection: hop-by-hop too
    assert r.header("X-Kept") == "yes"
    assert r.text == "hop"
    # The framework's own Connection: close (the client asked for it) is dropped as well.
    r = call(wsgi, environ(path="/hop", headers={"Connection": "close"}))
    assert not {n.lower() for n, _ in r.headers} & HOP_BY_HOP
    assert r.header("X-Kept") == "yes"


# -- the channel and helpers ---------------------------------------------------------------------
def test_channel_hands_the_streamed_head_to_start_response_and_pieces_to_write() -> None:
    """The structured head goes to ``start_response`` (hop-by-hop headers left out: the
    server frames the body), each piece to ``write()`` as it is; empty pieces are skipped."""
    from naja_atra.adapters.wsgi import _Channel
    from naja_atra.http.parser import parse_head

    calls: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        calls.append((status, headers))
        return lambda data: calls.append(data)

    parsed = parse_head(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", Limits())
    assert parsed is not None
    request = Request(parsed[0])
    channel = _Channel(start_response)
    assert not channel.started
    channel.start(request, 201, [("Content-Type", "text/plain"), ("Transfer-Encoding", "chunked"),
                                 ("Connection", "keep-alive"), ("X-A", "1")])
    assert channel.started
    channel.write(b"abc")
    channel.write(b"")
    channel.write(b"de")
    channel.end()
    assert calls == [("201 Created", [("Content-Type", "text/plain"), ("X-A", "1")]), b"abc", b"de"]


# -- static files --------------------------------------------------------------------------------
def test_static_file(wsgi: WsgiAdapter, static_dir: Path) -> None:
    r = call(wsgi, environ(path="/files/big.bin"))
    assert r.code == 200
    assert r.body == (static_dir / "big.bin").read_bytes()
    assert r.header("Content-Length") == str(256 * 1024)
    assert len(r.iterated) > 1  # handed out piece by piece, not joined


def test_static_file_closed_when_the_server_stops_early(wsgi: WsgiAdapter) -> None:
    result = wsgi(environ(path="/files/big.bin"), lambda status, headers, exc_info=None: (lambda data: None))
    assert isinstance(result, FileChunks)
    iterator = iter(result)
    assert len(next(iterator)) > 0
    result.close()  # what a server does when the client disconnects
    assert result.closed


def test_static_head_and_not_modified(wsgi: WsgiAdapter) -> None:
    r = call(wsgi, environ("HEAD", "/files/small.txt"))
    assert r.body == b"" and r.header("Content-Length") == "11"
    etag = r.header("ETag")
    assert etag
    r2 = call(wsgi, environ(path="/files/small.txt", headers={"If-None-Match": etag}))
    assert r2.code == 304 and r2.body == b""


def test_static_missing_is_404(wsgi: WsgiAdapter) -> None:
    assert call(wsgi, environ(path="/files/nope.txt")).code == 404


# -- adapter ------------------------------------------------------------------------------------
class LifespanPlugin:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    @hookimpl
    def naja_atra_lifespan(self, app: Application) -> Any:
        @contextlib.contextmanager
        def span() -> Iterator[None]:
            self.log.append("enter")
            yield
            self.log.append("exit")
        return span()


def test_lifespan_entered_at_first_request_and_left_at_close(app: Application) -> None:
    log: list[str] = []
    app.register(LifespanPlugin(log))
    adapter = WsgiAdapter(app)
    assert log == []
    call(adapter, environ(path="/hello"))
    call(adapter, environ(path="/hello"))
    assert log == ["enter"]
    adapter.close()
    adapter.close()
    assert log == ["enter", "exit"]


def test_lifespan_off(app: Application) -> None:
    log: list[str] = []
    app.register(LifespanPlugin(log))
    adapter = WsgiAdapter(app, lifespan=False)
    call(adapter, environ(path="/hello"))
    adapter.close()
    assert log == []


def test_registration_after_first_request_is_served(wsgi: WsgiAdapter, app: Application) -> None:
    call(wsgi, environ(path="/hello"))

    @app.route("/late")
    def late() -> str:
        return "late"

    assert call(wsgi, environ(path="/late")).text == "late"


def test_concurrent_requests(wsgi: WsgiAdapter) -> None:
    results: list[str] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        for j in range(20):
            text = call(wsgi, environ(path="/async" if j % 2 else "/hello", query=f"name={i}-{j}"),
                        validate=False).text
            with lock:
                results.append(text)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(results) == 160


def test_app_wsgi_property(app: Application) -> None:
    adapter = app.wsgi
    assert isinstance(adapter, WsgiAdapter) and adapter is app.wsgi
    assert call(adapter, environ(path="/hello")).text == "hello world"
    adapter.close()


# -- a real WSGI server: wsgiref.simple_server ------------------------------------------------------
class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def wsgiref_port(wsgi: WsgiAdapter) -> Iterator[int]:
    server = make_server("127.0.0.1", 0, validator(wsgi), handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _get(port: int, path: str, headers: Optional[dict[str, str]] = None,
         method: str = "GET", body: Optional[bytes] = None) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def test_wsgiref_server(wsgiref_port: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", WSGIWarning)
        status, headers, body = _get(wsgiref_port, "/hello?name=ref")
        assert (status, body) == (200, b"hello ref")
        # wsgiref's handler asserts that no hop-by-hop header is given to it: a leak is a 500.
        status, headers, body = _get(wsgiref_port, "/hop", {"Connection": "close"})
        assert (status, body) == (200, b"hop") and headers["X-Kept"] == "yes"
        status, headers, body = _get(wsgiref_port, "/stream")
        assert (status, body) == (200, b"one two three")
        status, _, body = _get(wsgiref_port, "/echo", {"Content-Type": "application/octet-stream"},
                               "POST", b"x" * 5000)
        assert status == 200 and json.loads(body)["size"] == 5000


def test_header_limits_apply_under_wsgi() -> None:
    from naja_atra.adapters.wsgi import build_request
    from naja_atra.http.errors import ProtocolError
    from naja_atra.http.limits import Limits

    # Host and five more: six header fields, as the built-in servers count them.
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "h",
               "wsgi.url_scheme": "http", **{f"HTTP_X_{i}": "v" for i in range(5)}}
    assert build_request(dict(environ), Limits(max_headers=6)).headers["X-4"] == "v"
    for limits in (Limits(max_headers=5), Limits(max_header_size=20)):
        try:
            build_request(dict(environ), limits)
        except ProtocolError as error:
            assert error.code == 431
        else:
            raise AssertionError(f"no 431 with {limits}")
