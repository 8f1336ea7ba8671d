"""The ASGI adapter driven directly: fake ``receive``/``send`` coroutines play the server.

Every event path of the three scopes: request bodies in pieces, 413, disconnects, streamed and
file responses, HEAD, WebSocket accept/refuse (with and without the denial-response extension),
messages both ways, closes from either side, lifespan success and failure.
"""
from __future__ import annotations

import asyncio
import base64
import contextlib
import threading
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator, Optional

import pytest

from naja_atra import (
    Application,
    HttpError,
    Request,
    Response,
    StaticFile,
    WebsocketCloseReason,
    WebsocketHandler,
    WebsocketRequest,
    WebsocketSession,
    hookimpl,
)
from naja_atra.adapters.asgi import AsgiAdapter, AsgiWebsocketSession, Message, Scope, StreamAborted

from .. import deploy_app

WAIT = 5.0


def run(main: Callable[[], Awaitable[Any]]) -> Any:
    """Run an async test body in a fresh loop, bounded."""
    async def bounded() -> Any:
        return await asyncio.wait_for(main(), WAIT)
    return asyncio.run(bounded())


async def until(predicate: Callable[[], Any], timeout: float = WAIT) -> None:
    """Let the loop run until ``predicate()`` holds (bounded)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.001)


class Peer:
    """The server's side of one ASGI connection, in memory: events to deliver, events sent."""

    def __init__(self, *events: Message) -> None:
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        for event in events:
            self.inbox.put_nowait(event)
        self.sent: list[Message] = []
        self.receives = 0

    def push(self, *events: Message) -> None:
        for event in events:
            self.inbox.put_nowait(event)

    async def receive(self) -> Message:
        self.receives += 1
        return await self.inbox.get()

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        await asyncio.sleep(0)

    def types(self) -> list[str]:
        return [m["type"] for m in self.sent]

    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"].endswith("response.body"))

    def start(self) -> Message:
        return next(m for m in self.sent if m["type"].endswith("response.start"))

    def header(self, name: bytes) -> Optional[bytes]:
        found = [v for k, v in self.start()["headers"] if k == name]
        return found[0] if found else None


def http_scope(path: str = "/", method: str = "GET", *, query: bytes = b"", raw_path: Optional[bytes] = None,
               headers: Optional[list[tuple[bytes, bytes]]] = None, http_version: str = "1.1",
               **extra: Any) -> Scope:
    scope: Scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": http_version, "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode("utf-8") if raw_path is None else raw_path,
        "query_string": query, "root_path": "", "client": ("10.0.0.7", 50123), "server": ("testserver", 8000),
        "headers": [(b"host", b"testserver")] if headers is None else headers,
    }
    scope.update(extra)
    return scope


def request_event(body: bytes = b"", more: bool = False) -> Message:
    return {"type": "http.request", "body": body, "more_body": more}


async def serve_http(app: Application, scope: Scope, *events: Message) -> Peer:
    peer = Peer(*(events or (request_event(),)))
    await AsgiAdapter(app)(scope, peer.receive, peer.send)
    return peer


def basic_app(**options: Any) -> Application:
    app = Application(load_entry_points=False, **options)

    @app.route("/hello", method=["GET", "HEAD"])
    def hello() -> str:
        return "hello"

    @app.route("/users/{uid}")
    def user(request: Request) -> dict[str, Any]:
        return {"uid": request.path_values["uid"], "path": request.path, "query": request.query_string,
                "version": request.version, "host": request.host, "scheme": request.scheme,
                "client": list(request.client_address or ()), "upgrade": request.upgrade,
                "env": request.environment.get("type")}

    @app.route("/form", method="POST")
    def form(name: str, age: int) -> str:
        return f"{name}:{age}"

    @app.route("/echo", method="POST")
    def echo(request: Request) -> bytes:
        return request.body

    return app


# -- HTTP: requests ------------------------------------------------------------------------------------
def test_plain_response_start_and_body() -> None:
    peer = run(lambda: serve_http(basic_app(), http_scope("/hello")))
    assert peer.types() == ["http.response.start", "http.response.body"]
    start = peer.start()
    assert start["status"] == 200
    names = [name for name, _ in start["headers"]]
    assert all(name == name.lower() for name in names)
    # The server owns connection management and the Date header.
    assert not {b"date", b"connection", b"transfer-encoding", b"keep-alive"} & set(names)
    assert peer.header(b"content-length") == b"5" and peer.header(b"content-type", ).startswith(b"text/html")
    assert peer.sent[1] == {"type": "http.response.body", "body": b"hello"}


def test_request_is_built_from_the_scope() -> None:
    scope = http_scope("/users/a b", raw_path=b"/users/a%20b", query=b"x=1&y=%20", scheme="https")
    peer = run(lambda: serve_http(basic_app(), scope))
    import json
    seen = json.loads(peer.body())
    assert seen == {"uid": "a b", "path": "/users/a b", "query": "x=1&y=%20", "version": "HTTP/1.1",
                    "host": "testserver", "scheme": "https", "client": ["10.0.0.7", 50123], "upgrade": None,
                    "env": "http"}


def test_raw_path_goes_through_the_core_rules() -> None:
    app = basic_app()
    bad = run(lambda: serve_http(app, http_scope("/users/%zz", raw_path=b"/users/%zz")))
    assert bad.start()["status"] == 400 and bad.body().startswith(b"400 ")
    dotted = run(lambda: serve_http(app, http_scope("/x/../hello", raw_path=b"/x/../hello")))
    assert (dotted.start()["status"], dotted.body()) == (200, b"hello")
    nul = run(lambda: serve_http(app, http_scope("/users/a\0", raw_path=b"/users/a%00")))
    assert nul.start()["status"] == 400


def test_path_is_quoted_when_there_is_no_raw_path_and_root_path_is_removed() -> None:
    import json
    app = basic_app()
    scope = http_scope("/users/100%")
    del scope["raw_path"]
    assert json.loads(run(lambda: serve_http(app, scope)).body())["uid"] == "100%"
    mounted = http_scope("/api/users/7", root_path="/api")
    assert json.loads(run(lambda: serve_http(app, mounted)).body())["path"] == "/users/7"
    not_prefix = http_scope("/apix/hello", root_path="/api")
    assert run(lambda: serve_http(app, not_prefix)).start()["status"] == 404


def test_http2_scope_without_host() -> None:
    import json
    scope = http_scope("/users/1", headers=[(b"accept", b"*/*")], http_version="2")
    seen = json.loads(run(lambda: serve_http(basic_app(), scope)).body())
    assert (seen["version"], seen["host"]) == ("HTTP/2", "testserver:8000")


def test_http2_scope_without_host_over_a_unix_socket() -> None:
    """A server on a Unix socket reports its path and no port (hypercorn does): the Host made
    up for the request is ``localhost``, not the path (which the Host check would refuse)."""
    import json
    scope = http_scope("/users/1", headers=[(b"accept", b"*/*")], http_version="2", server=("/run/app.sock", None))
    seen = json.loads(run(lambda: serve_http(basic_app(), scope)).body())
    assert (seen["version"], seen["host"]) == ("HTTP/2", "localhost")


def test_header_limits_and_line_breaks_are_refused() -> None:
    app = basic_app(max_headers=3)
    many = [(b"host", b"t")] + [(f"x-{i}".encode(), b"v") for i in range(5)]
    assert run(lambda: serve_http(app, http_scope("/hello", headers=many))).start()["status"] == 431
    split = [(b"host", b"t"), (b"x-a", b"v\r\nx-evil: 1")]
    assert run(lambda: serve_http(app, http_scope("/hello", headers=split))).start()["status"] == 400


def test_body_arrives_in_pieces() -> None:
    scope = http_scope("/form", "POST", headers=[(b"host", b"t"),
                                                 (b"content-type", b"application/x-www-form-urlencoded")])
    peer = run(lambda: serve_http(basic_app(), scope, request_event(b"name=k", True),
                                  request_event(b"im&ag", True), request_event(b"e=42")))
    assert (peer.start()["status"], peer.body()) == (200, b"kim:42")


def test_body_over_the_limit_is_refused_without_reading_more() -> None:
    async def main() -> Peer:
        peer = Peer(request_event(b"x" * 8, True), request_event(b"x" * 8, True), request_event(b"never read"))
        await AsgiAdapter(basic_app(max_body_size=10))(http_scope("/echo", "POST"), peer.receive, peer.send)
        assert peer.inbox.qsize() == 1  # the third event was not asked for
        return peer
    peer = run(main)
    assert peer.start()["status"] == 413 and b"413 Content Too Large" in peer.body()


def test_content_length_over_the_limit_is_refused_before_reading() -> None:
    async def main() -> Peer:
        peer = Peer(request_event(b"x" * 100))
        scope = http_scope("/echo", "POST", headers=[(b"host", b"t"), (b"content-length", b"100")])
        await AsgiAdapter(basic_app(max_body_size=10))(scope, peer.receive, peer.send)
        assert peer.receives == 0
        return peer
    assert run(main).start()["status"] == 413


def test_disconnect_while_reading_the_body() -> None:
    called: list[bool] = []
    app = Application(load_entry_points=False)

    @app.route("/echo", method="POST")
    def echo() -> str:
        called.append(True)
        return "x"

    peer = run(lambda: serve_http(app, http_scope("/echo", "POST"), request_event(b"abc", True),
                                  {"type": "http.disconnect"}))
    assert peer.sent == [] and called == []


def test_send_failing_with_oserror_is_quiet() -> None:
    async def main() -> None:
        async def send(message: Message) -> None:
            raise OSError("client gone")
        peer = Peer(request_event())
        await AsgiAdapter(basic_app())(http_scope("/hello"), peer.receive, send)
    run(main)


def test_an_upgrade_request_on_an_http_scope_is_not_a_websocket() -> None:
    app = Application(load_entry_points=False)

    @app.websocket_handler(endpoint="/ws")
    class Handler(WebsocketHandler):
        pass

    headers = [(b"host", b"t"), (b"connection", b"upgrade"), (b"upgrade", b"websocket"),
               (b"sec-websocket-version", b"13"), (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ==")]
    peer = run(lambda: serve_http(app, http_scope("/ws", headers=headers)))
    assert peer.start()["status"] == 426


def test_the_application_itself_is_the_asgi_app() -> None:
    app = basic_app()

    async def main() -> Peer:
        peer = Peer(request_event())
        await app(http_scope("/hello"), peer.receive, peer.send)
        return peer
    assert run(main).body() == b"hello"


def test_unknown_scope_type_raises() -> None:
    async def main() -> None:
        peer = Peer()
        await AsgiAdapter(basic_app())({"type": "smtp"}, peer.receive, peer.send)
    with pytest.raises(ValueError, match="smtp"):
        run(main)


# -- HTTP: responses -----------------------------------------------------------------------------------
def streaming_app(**options: Any) -> Application:
    app = Application(load_entry_points=False, **options)

    @app.route("/stream", method=["GET", "HEAD"])
    def stream(response: Response) -> None:
        response.set_header("Content-Type", "text/plain")
        for piece in (b"one ", b"two ", b"three"):
            response.write_bytes(piece)
        response.close()

    @app.route("/broken")
    def broken(response: Response) -> None:
        response.write_bytes(b"partial")
        raise RuntimeError("after the head")

    return app


@pytest.mark.parametrize("http_version", ["1.1", "1.0", "2"])
def test_streamed_response_pieces(http_version: str) -> None:
    peer = run(lambda: serve_http(streaming_app(), http_scope("/stream", http_version=http_version)))
    assert peer.types() == ["http.response.start"] + ["http.response.body"] * 4
    assert peer.start()["status"] == 200 and peer.header(b"content-type") == b"text/plain"
    assert peer.header(b"transfer-encoding") is None and peer.header(b"connection") is None
    assert [(m["body"], m.get("more_body")) for m in peer.sent[1:]] == [
        (b"one ", True), (b"two ", True), (b"three", True), (b"", None)]


def test_streamed_response_from_a_worker_thread() -> None:
    app = streaming_app(run_sync_in_threadpool=True)
    peer = run(lambda: serve_http(app, http_scope("/stream")))
    assert peer.body() == b"one two three" and peer.sent[-1] == {"type": "http.response.body", "body": b""}


def test_streamed_pieces_go_out_while_the_controller_runs() -> None:
    log: list[str] = []
    app = Application(load_entry_points=False)

    @app.route("/live")
    async def live(response: Response) -> None:
        response.write_bytes(b"first")
        await asyncio.sleep(0.01)
        log.append("controller resumed")
        response.write_bytes(b"second")
        response.close()

    async def main() -> None:
        peer = Peer(request_event())

        async def send(message: Message) -> None:
            log.append(f"sent {message['type']} {message.get('body', b'')!r}")
        await AsgiAdapter(app)(http_scope("/live"), peer.receive, send)
    run(main)
    assert log == ["sent http.response.start b''", "sent http.response.body b'first'", "controller resumed",
                   "sent http.response.body b'second'", "sent http.response.body b''"]


def test_streamed_response_gzip() -> None:
    import gzip
    app = streaming_app(gzip_content_types=["text/plain"])
    scope = http_scope("/stream", headers=[(b"host", b"t"), (b"accept-encoding", b"gzip")])
    peer = run(lambda: serve_http(app, scope))
    assert peer.header(b"content-encoding") == b"gzip"
    assert gzip.decompress(peer.body()) == b"one two three"


def test_a_stream_that_fails_after_its_head_is_aborted() -> None:
    async def main() -> Peer:
        peer = Peer(request_event())
        with pytest.raises(StreamAborted):
            await AsgiAdapter(streaming_app())(http_scope("/broken"), peer.receive, peer.send)
        return peer
    peer = run(main)
    assert peer.types() == ["http.response.start", "http.response.body"]
    assert peer.sent[1]["more_body"] is True  # never a final, complete-looking event


def test_head_requests() -> None:
    peer = run(lambda: serve_http(basic_app(), http_scope("/hello", "HEAD")))
    assert (peer.start()["status"], peer.header(b"content-length"), peer.body()) == (200, b"5", b"")
    peer = run(lambda: serve_http(streaming_app(), http_scope("/stream", "HEAD")))
    assert peer.types() == ["http.response.start", "http.response.body"] and peer.body() == b""


def file_app(path: Path) -> Application:
    app = Application(load_entry_points=False, resources={"/files/**": str(path.parent)})

    @app.route("/download")
    def download() -> StaticFile:
        return StaticFile(str(path), "application/octet-stream")

    return app


def test_file_body_goes_piece_by_piece(tmp_path: Path) -> None:
    data = bytes(range(256)) * 800  # 200 KiB: four pieces of at most 64 KiB
    (tmp_path / "big.bin").write_bytes(data)
    app = file_app(tmp_path / "big.bin")
    for path in ("/download", "/files/big.bin"):
        peer = run(lambda path=path: serve_http(app, http_scope(path)))  # type: ignore[misc]
        assert peer.header(b"content-length") == str(len(data)).encode()
        pieces = peer.sent[1:]
        assert len(pieces) == 5 and all(m["more_body"] for m in pieces[:-1]) and not pieces[-1].get("more_body")
        assert peer.body() == data


def test_a_client_that_leaves_stops_a_file_download(tmp_path: Path) -> None:
    (tmp_path / "big.bin").write_bytes(b"x" * (1024 * 1024))
    app = file_app(tmp_path / "big.bin")

    async def main() -> Peer:
        peer = Peer(request_event())

        async def send(message: Message) -> None:
            peer.sent.append(message)
            if len(peer.sent) == 2:
                peer.push({"type": "http.disconnect"})
            await asyncio.sleep(0.001)
        await AsgiAdapter(app)(http_scope("/download"), peer.receive, send)
        return peer
    peer = run(main)
    assert 2 <= len(peer.sent) < 6 and len(peer.body()) < 1024 * 1024


def test_responses_match_the_test_client() -> None:
    """The deploy app answers the same through the adapter as through the in-process client."""
    client = deploy_app.app.test_client()
    paths = ["/hello", "/json", "/users/x?verbose=2", "/teapot", "/crash", "/nope", "/redirect",
             "/filtered/hello", "/filtered/hello?deny=1", "/static/hello.txt", "/async?name=q", "/stream"]
    for target in paths:
        path, _, query = target.partition("?")
        expected = client.get(target)
        peer = run(lambda path=path, query=query: serve_http(  # type: ignore[misc]
            deploy_app.app, http_scope(path, query=query.encode())))
        assert (peer.start()["status"], peer.body()) == (expected.status_code, expected.content), target


# -- WebSocket -------------------------------------------------------------------------------------------
def ws_scope(path: str = "/ws", *, headers: Optional[list[tuple[bytes, bytes]]] = None,
             subprotocols: Optional[list[str]] = None, extension: bool = True, **extra: Any) -> Scope:
    scope: Scope = {
        "type": "websocket", "asgi": {"version": "3.0"}, "http_version": "1.1", "scheme": "ws",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "client": ("10.0.0.7", 50123), "server": ("testserver", 8000),
        "headers": [(b"host", b"testserver")] if headers is None else headers,
        "subprotocols": subprotocols or [],
        "extensions": {"websocket.http.response": {}} if extension else {},
    }
    scope.update(extra)
    return scope


class Recorder:
    """What the handler callbacks saw."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.sessions: list[WebsocketSession] = []
        self.requests: list[WebsocketRequest] = []


def ws_app(recorder: Recorder, **options: Any) -> Application:
    app = Application(load_entry_points=False, **options)

    @app.websocket_handler(endpoint="/ws/{name}")
    class Handler(WebsocketHandler):
        def on_handshake(self, request: WebsocketRequest) -> Any:
            recorder.requests.append(request)
            if request.path_values["name"] == "refuse":
                return 401, {"X-Why": "not today"}
            headers = {"X-Extra": "1"}
            if "chat" in (request.headers.get("Sec-WebSocket-Protocol") or ""):
                headers["Sec-WebSocket-Protocol"] = "chat"
            return 0, headers

        def on_open(self, session: WebsocketSession) -> None:
            recorder.sessions.append(session)
            recorder.events.append(("open", session.request.path_values["name"]))
            session.send("welcome")

        async def on_text_message(self, session: WebsocketSession, message: str) -> None:
            recorder.events.append(("text", message))
            if message == "fail":
                raise RuntimeError("handler failure")
            if message.startswith("close"):
                session.close("server bye", 4001)
                session.send("after close")  # dropped
                return
            if message == "threads":
                def worker(i: int) -> None:
                    session.send(f"from thread {i}")
                threads = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                return
            session.send(f"echo {message}")

        def on_binary_message(self, session: WebsocketSession, message: bytes = b"") -> None:
            recorder.events.append(("binary", message))
            session.send(message[::-1])

        def on_close(self, session: WebsocketSession, reason: WebsocketCloseReason) -> None:
            recorder.events.append(("close", reason.code, reason.reason, reason.message))

    return app


class WsConnection:
    """The adapter serving one WebSocket scope in a task, and its fake server side."""

    def __init__(self, app: Application, scope: Scope) -> None:
        self.peer = Peer({"type": "websocket.connect"})
        self.task = asyncio.ensure_future(AsgiAdapter(app)(scope, self.peer.receive, self.peer.send))

    def sent(self, kind: str) -> list[Message]:
        return [m for m in self.peer.sent if m["type"] == kind]

    def texts(self) -> list[str]:
        return [m["text"] for m in self.sent("websocket.send") if "text" in m]

    async def wait_texts(self, count: int) -> list[str]:
        await until(lambda: len(self.texts()) >= count)
        return self.texts()

    async def finish(self, code: int = 1000, reason: str = "") -> None:
        self.peer.push({"type": "websocket.disconnect", "code": code, "reason": reason})
        await self.task


def test_ws_accept_headers_subprotocol_and_messages_both_ways() -> None:
    recorder = Recorder()
    app = ws_app(recorder)

    async def main() -> WsConnection:
        conn = WsConnection(app, ws_scope("/ws/alpha", subprotocols=["x", "chat"]))
        assert await conn.wait_texts(1) == ["welcome"]
        accept = conn.peer.sent[0]
        assert accept["type"] == "websocket.accept" and accept["subprotocol"] == "chat"
        names = {name for name, _ in accept["headers"]}
        assert (b"x-extra", b"1") in accept["headers"]
        assert not names & {b"sec-websocket-accept", b"sec-websocket-protocol", b"upgrade", b"connection",
                            b"date", b"sec-websocket-extensions"}
        assert len(app.websocket_sessions) == 1
        conn.peer.push({"type": "websocket.receive", "text": "hi"},
                       {"type": "websocket.receive", "bytes": b"abc", "text": None})
        assert await conn.wait_texts(2) == ["welcome", "echo hi"]
        await until(lambda: len(conn.sent("websocket.send")) == 3)
        assert conn.sent("websocket.send")[2] == {"type": "websocket.send", "bytes": b"cba"}
        await conn.finish(1000, "done")
        return conn
    run(main)
    assert recorder.events == [("open", "alpha"), ("text", "hi"), ("binary", b"abc"),
                               ("close", 1000, "done", "Client asked to close connection.")]
    assert len(app.websocket_sessions) == 0
    request = recorder.requests[0]
    assert request.method == "GET" and request.scheme == "http" and request.environment["type"] == "websocket"
    # The handshake request was completed with what the core checks: a valid key, version 13.
    key = request.headers.get("Sec-WebSocket-Key") or ""
    assert len(base64.b64decode(key)) == 16 and request.headers.get("Sec-WebSocket-Version") == "13"
    assert request.headers.get("Sec-WebSocket-Protocol") == "x, chat"


def test_ws_client_headers_are_kept_and_extensions_dropped() -> None:
    recorder = Recorder()
    headers = [(b"host", b"t"), (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
               (b"sec-websocket-version", b"13"), (b"sec-websocket-extensions", b"permessage-deflate"),
               (b"connection", b"Upgrade"), (b"upgrade", b"websocket"), (b"cookie", b"a=b")]

    async def main() -> None:
        conn = WsConnection(ws_app(recorder), ws_scope("/ws/k", headers=headers))
        await conn.wait_texts(1)
        await conn.finish()
    run(main)
    request = recorder.requests[0]
    assert request.headers.get("Sec-WebSocket-Key") == "dGhlIHNhbXBsZSBub25jZQ=="
    assert "Sec-WebSocket-Extensions" not in request.headers and request.cookies["a"].value == "b"


@pytest.mark.parametrize("extension", [True, False])
def test_ws_refusal(extension: bool) -> None:
    recorder = Recorder()

    async def main() -> Peer:
        peer = Peer({"type": "websocket.connect"})
        await AsgiAdapter(ws_app(recorder))(ws_scope("/ws/refuse", extension=extension), peer.receive, peer.send)
        return peer
    peer = run(main)
    if extension:
        assert peer.types() == ["websocket.http.response.start", "websocket.http.response.body"]
        assert peer.start()["status"] == 401 and peer.header(b"x-why") == b"not today"
    else:
        assert peer.types() == ["websocket.close"]
    assert recorder.events == []


def test_ws_no_endpoint_is_a_404_with_the_extension() -> None:
    async def main() -> Peer:
        peer = Peer({"type": "websocket.connect"})
        await AsgiAdapter(basic_app())(ws_scope("/nowhere"), peer.receive, peer.send)
        return peer
    peer = run(main)
    assert peer.start()["status"] == 404 and peer.body().startswith(b"<!DOCTYPE html>")


def test_ws_disconnect_before_connect() -> None:
    async def main() -> Peer:
        peer = Peer({"type": "websocket.disconnect", "code": 1006})
        await AsgiAdapter(ws_app(Recorder()))(ws_scope("/ws/a"), peer.receive, peer.send)
        return peer
    assert run(main).sent == []


def test_ws_server_close() -> None:
    recorder = Recorder()

    async def main() -> WsConnection:
        conn = WsConnection(ws_app(recorder), ws_scope("/ws/b"))
        await conn.wait_texts(1)
        conn.peer.push({"type": "websocket.receive", "text": "close please"},
                       {"type": "websocket.receive", "text": "ignored: we are closing"})
        await until(lambda: conn.sent("websocket.close"))
        assert recorder.sessions[0].is_closed
        await conn.finish(1000)  # what servers report once the closing handshake is over
        return conn
    conn = run(main)
    assert conn.sent("websocket.close") == [{"type": "websocket.close", "code": 4001, "reason": "server bye"}]
    assert conn.peer.sent[-1]["type"] == "websocket.close"  # nothing after it
    assert recorder.events == [("open", "b"), ("text", "close please"),
                               ("close", 4001, "server bye", "Server asked to close connection.")]


def test_ws_sends_from_other_threads_arrive() -> None:
    recorder = Recorder()

    async def main() -> list[str]:
        conn = WsConnection(ws_app(recorder), ws_scope("/ws/t"))
        await conn.wait_texts(1)
        conn.peer.push({"type": "websocket.receive", "text": "threads"})
        texts = await conn.wait_texts(4)
        # And from a thread while the connection waits for the client.
        thread = threading.Thread(target=recorder.sessions[0].send, args=("late",))
        thread.start()
        thread.join()
        texts = await conn.wait_texts(5)
        await conn.finish()
        return texts
    texts = run(main)
    assert sorted(texts[1:4]) == ["from thread 0", "from thread 1", "from thread 2"] and texts[4] == "late"


def test_ws_failing_callback_closes_with_1011() -> None:
    recorder = Recorder()

    async def main() -> WsConnection:
        conn = WsConnection(ws_app(recorder), ws_scope("/ws/f"))
        await conn.wait_texts(1)
        conn.peer.push({"type": "websocket.receive", "text": "fail"})
        await until(lambda: conn.sent("websocket.close"))
        await conn.finish(1011)
        return conn
    conn = run(main)
    assert conn.sent("websocket.close")[0]["code"] == 1011
    assert recorder.events[-1][:2] == ("close", 1011)


def test_ws_lost_connection_and_message_limit() -> None:
    recorder = Recorder()

    async def main() -> WsConnection:
        conn = WsConnection(ws_app(recorder, max_websocket_message=4), ws_scope("/ws/l"))
        await conn.wait_texts(1)
        conn.peer.push({"type": "websocket.receive", "text": "too long"})
        await until(lambda: conn.sent("websocket.close"))
        assert conn.sent("websocket.close")[0]["code"] == 1009
        await conn.finish(1006)
        return conn
    run(main)
    assert recorder.events == [("open", "l"), ("close", 1009, "message too big", "Server asked to close connection.")]

    lost = Recorder()

    async def abrupt() -> None:
        conn = WsConnection(ws_app(lost), ws_scope("/ws/m"))
        await conn.wait_texts(1)
        await conn.finish(1006)
    run(abrupt)
    assert lost.events[-1] == ("close", 1006, "", "Connection lost.")


def test_ws_binary_frames_arrive_whole_with_fin() -> None:
    frames: list[tuple[bool, bytes]] = []
    messages: list[bytes] = []
    app = Application(load_entry_points=False)

    @app.websocket_handler(endpoint="/frames")
    class Frames(WebsocketHandler):
        def on_binary_frame(self, session: WebsocketSession, fin: bool = False, frame_payload: bytes = b"") -> Any:
            frames.append((fin, frame_payload))
            return frame_payload.startswith(b"keep")

        def on_binary_message(self, session: WebsocketSession, message: bytes = b"") -> None:
            messages.append(message)

    async def main() -> None:
        conn = WsConnection(app, ws_scope("/frames"))
        conn.peer.push({"type": "websocket.receive", "bytes": b"keep me"},
                       {"type": "websocket.receive", "bytes": b"consumed"})
        await until(lambda: len(frames) == 2)
        await conn.finish()
    run(main)
    assert frames == [(True, b"keep me"), (True, b"consumed")] and messages == [b"keep me"]


def test_ws_close_all_and_session_api() -> None:
    recorder = Recorder()
    app = ws_app(recorder)

    async def main() -> WsConnection:
        conn = WsConnection(app, ws_scope("/ws/all"))
        await conn.wait_texts(1)
        session = recorder.sessions[0]
        assert isinstance(session, AsgiWebsocketSession) and session.id and not session.is_closed
        session.send_ping(b"x")  # no control frames under ASGI: nothing is sent
        session.send_pong(b"x")
        session.send(b"raw")
        session.send_binary(bytearray(b"arr"))
        with pytest.raises(ValueError):
            session.close("bad", 1005)
        closer = threading.Thread(target=app.websocket_sessions.close_all, kwargs={"timeout": 0.2})
        closer.start()
        await until(lambda: conn.sent("websocket.close"))
        await conn.finish(1001)
        closer.join(WAIT)
        return conn
    conn = run(main)
    sent = conn.sent("websocket.send")
    assert sent[1:] == [{"type": "websocket.send", "bytes": b"raw"}, {"type": "websocket.send", "bytes": b"arr"}]
    assert conn.sent("websocket.close")[0]["code"] == 1001
    assert recorder.events[-1][:2] == ("close", 1001)


def test_ws_backpressure_pauses_reading() -> None:
    app = Application(load_entry_points=False)

    @app.websocket_message(endpoint="/flood")
    def flood(session: WebsocketSession, message: str) -> None:
        for i in range(100):
            session.send(str(i))

    async def main() -> None:
        gate = asyncio.Event()
        peer = Peer({"type": "websocket.connect"}, {"type": "websocket.receive", "text": "go"},
                    {"type": "websocket.receive", "text": "go"})

        async def send(message: Message) -> None:
            peer.sent.append(message)
            if message["type"] == "websocket.send":
                await gate.wait()
        task = asyncio.ensure_future(AsgiAdapter(app)(ws_scope("/flood"), peer.receive, send))
        await until(lambda: peer.receives == 2)
        await asyncio.sleep(0.05)
        assert peer.receives == 2  # 100 messages wait for the client: the next one is not read
        gate.set()
        await until(lambda: peer.receives >= 3)
        peer.push({"type": "websocket.disconnect", "code": 1000})
        await task
    run(main)


def test_ws_cancelled_connection_still_reports_on_close() -> None:
    recorder = Recorder()

    async def main() -> None:
        conn = WsConnection(ws_app(recorder), ws_scope("/ws/c"))
        await conn.wait_texts(1)
        conn.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await conn.task
    run(main)
    assert recorder.events[-1] == ("close", 1006, "", "Connection lost.")


# -- lifespan ----------------------------------------------------------------------------------------------
class Span:
    def __init__(self, events: list[str], name: str, fail_on: str = "") -> None:
        self.events = events
        self.name = name
        self.fail_on = fail_on

    @hookimpl
    def naja_atra_lifespan(self, app: Application) -> Any:
        @contextlib.contextmanager
        def span() -> Iterator[None]:
            if self.fail_on == "enter":
                raise RuntimeError(f"{self.name} cannot start")
            self.events.append(f"enter {self.name}")
            try:
                yield
            finally:
                self.events.append(f"exit {self.name}")
            if self.fail_on == "exit":
                raise RuntimeError(f"{self.name} cannot stop")
        return span()


async def lifespan(app: Application, *kinds: str) -> Peer:
    peer = Peer(*({"type": f"lifespan.{kind}"} for kind in kinds))
    await AsgiAdapter(app)({"type": "lifespan", "asgi": {"version": "3.0"}}, peer.receive, peer.send)
    return peer


def test_lifespan_enters_and_exits_the_plugin_contexts() -> None:
    events: list[str] = []
    app = basic_app()
    app.register(Span(events, "db"), name="db")
    app.register(Span(events, "cache"), name="cache")

    async def main() -> Peer:
        peer = Peer({"type": "lifespan.startup"})
        task = asyncio.ensure_future(AsgiAdapter(app)({"type": "lifespan"}, peer.receive, peer.send))
        await until(lambda: peer.sent)
        assert sorted(events) == ["enter cache", "enter db"]
        assert app._dispatcher is not None  # built at startup, not by the first request
        peer.push({"type": "lifespan.shutdown"})
        await task
        return peer
    peer = run(main)
    assert peer.types() == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    entered = [e.split()[1] for e in events[:2]]
    assert [e.split()[1] for e in events[2:]] == entered[::-1]


def test_lifespan_startup_failure() -> None:
    events: list[str] = []
    app = basic_app()
    app.register(Span(events, "ok"), name="ok")
    app.register(Span(events, "broken", fail_on="enter"), name="broken")
    peer = run(lambda: lifespan(app, "startup"))
    assert peer.types() == ["lifespan.startup.failed"]
    assert "broken cannot start" in peer.sent[0]["message"]
    assert events in ([], ["enter ok", "exit ok"])  # whatever was entered was left


def test_lifespan_build_failure() -> None:
    app = basic_app()

    class Rejects:
        @hookimpl
        def naja_atra_route_added(self, app: Application, route: Any) -> None:
            raise HttpError(500, "no routes today")

    app.register(Rejects())
    peer = run(lambda: lifespan(app, "startup"))
    assert peer.types() == ["lifespan.startup.failed"] and "rejected" in peer.sent[0]["message"]


def test_lifespan_shutdown_failure() -> None:
    events: list[str] = []
    app = basic_app()
    app.register(Span(events, "sticky", fail_on="exit"), name="sticky")
    peer = run(lambda: lifespan(app, "startup", "shutdown"))
    assert peer.types() == ["lifespan.startup.complete", "lifespan.shutdown.failed"]
    assert "sticky cannot stop" in peer.sent[1]["message"]
