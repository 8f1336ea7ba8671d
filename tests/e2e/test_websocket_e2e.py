"""End to end: WebSocket endpoints over real sockets, on both drivers.

The client is ``websocket-client`` (``import websocket``) except where the test needs bytes
it cannot send (handshake validation, permessage-deflate): there a raw socket speaks
RFC 6455 itself. Every receive has a timeout, every wait for a server-side callback is
bounded, every connection is closed.
"""
from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import struct
import threading
import zlib
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest
import websocket
from websocket import ABNF

from naja_atra import (
    WEBSOCKET_MESSAGE_BINARY,
    WEBSOCKET_MESSAGE_BINARY_FRAME,
    WEBSOCKET_MESSAGE_PING,
    WEBSOCKET_MESSAGE_PONG,
    WEBSOCKET_MESSAGE_TEXT,
    WEBSOCKET_OPCODE_TEXT,
    Application,
    WebsocketCloseReason,
    WebsocketHandler,
    WebsocketRequest,
    WebsocketSession,
)

from ..support import Client

#: The bound of every receive and of every wait for a server-side callback (seconds).
WAIT = 5.0
#: RFC 6455 1.3's example key and the Sec-WebSocket-Accept it must produce.
RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
DEFLATE_TAIL = b"\x00\x00\xff\xff"


# -- helpers -------------------------------------------------------------------------------


class Log:
    """What the server-side callbacks recorded, in order; waits are bounded."""

    def __init__(self) -> None:
        self.items: list[tuple[Any, ...]] = []
        self._cond = threading.Condition()

    def add(self, *item: Any) -> None:
        with self._cond:
            self.items.append(item)
            self._cond.notify_all()

    def of(self, kind: str) -> list[tuple[Any, ...]]:
        """The records of one kind, without the kind."""
        with self._cond:
            return [item[1:] for item in self.items if item[0] == kind]

    def wait(self, kind: str, count: int = 1, timeout: float = WAIT) -> list[tuple[Any, ...]]:
        """Wait until ``count`` records of ``kind`` exist; return them (without the kind)."""
        with self._cond:
            ok = self._cond.wait_for(lambda: sum(1 for i in self.items if i[0] == kind) >= count, timeout)
            found = [item[1:] for item in self.items if item[0] == kind]
        assert ok, f"no {count} {kind!r} record(s) within {timeout}s; log: {self.items}"
        return found

    def kinds(self) -> list[str]:
        with self._cond:
            return [item[0] for item in self.items]


def url(client: Client, path: str) -> str:
    return f"ws://127.0.0.1:{client.port}{path}"


@contextlib.contextmanager
def ws_connect(client: Client, path: str, **options: Any) -> Iterator[websocket.WebSocket]:
    """A websocket-client connection with a receive timeout, closed on exit."""
    ws = websocket.create_connection(url(client, path), timeout=WAIT, **options)
    try:
        yield ws
    finally:
        ws.close(timeout=1)  # swallows errors and always shuts the socket down


def recv_frame(ws: websocket.WebSocket) -> ABNF:
    """The next raw frame (no reassembly, no automatic pong)."""
    return ws.recv_frame()


def close_payload(code: int, reason: bytes = b"") -> bytes:
    return struct.pack("!H", code) + reason


# Raw-socket RFC 6455 client pieces -----------------------------------------------------


def handshake_request(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def upgrade_headers(key: Optional[str] = RFC_KEY, version: str = "13", **extra: str) -> dict[str, str]:
    headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": version}
    if key is not None:
        headers["Sec-WebSocket-Key"] = key
    headers.update({name.replace("_", "-"): value for name, value in extra.items()})
    return headers


class RawReply:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body


class RawSocket:
    """A client socket with a read buffer: an HTTP head, then unmasked server frames."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> None:
        piece = self.sock.recv(65536)
        if not piece:
            raise AssertionError(f"connection closed; buffered: {self.buf!r}")
        self.buf += piece

    def read_exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_head(self) -> RawReply:
        """An HTTP response head (and the body when it has a Content-Length)."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = b""
        if status != 101 and "content-length" in headers:
            body = self.read_exactly(int(headers["content-length"]))
        return RawReply(status, headers, body)

    def frame(self) -> tuple[bool, bool, int, bytes]:
        """One (unmasked) server frame: (fin, rsv1, opcode, payload)."""
        b0, b1 = self.read_exactly(2)
        assert not b1 & 0x80, "a server frame must not be masked"
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.read_exactly(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.read_exactly(8))[0]
        return bool(b0 & 0x80), bool(b0 & 0x40), b0 & 0x0F, self.read_exactly(n)


@contextlib.contextmanager
def raw_connection(client: Client) -> Iterator[RawSocket]:
    sock = socket.create_connection(("127.0.0.1", client.port), timeout=WAIT)
    try:
        yield RawSocket(sock)
    finally:
        sock.close()


def raw_upgrade(client: Client, path: str, headers: dict[str, str]) -> RawReply:
    """One upgrade request on its own connection; the reply (the connection is closed)."""
    with raw_connection(client) as raw:
        raw.sendall(handshake_request(path, headers))
        return raw.read_head()


def client_frame(opcode: int, payload: bytes, fin: bool = True, rsv1: bool = False) -> bytes:
    """A masked client frame."""
    b0 = opcode | (0x80 if fin else 0) | (0x40 if rsv1 else 0)
    n = len(payload)
    if n < 126:
        header = bytes((b0, 0x80 | n))
    elif n < 65536:
        header = struct.pack("!BBH", b0, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", b0, 0x80 | 127, n)
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + masked


def deflate_message(compressor: Any, data: bytes) -> bytes:
    """RFC 7692 7.2.1: compress, sync-flush, strip the trailing empty stored block."""
    out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(DEFLATE_TAIL)
    return out[:-4]


def maybe_async(mode: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` as it is (sync) or as an ``async def`` that yields to the loop first."""
    if mode == "sync":
        return func

    async def call(*args: Any) -> Any:
        await asyncio.sleep(0)
        return func(*args)
    return call


# -- applications under test ---------------------------------------------------------------


def class_handler_app(log: Log) -> Application:
    """Class handlers as 1.x code writes them (subclass, non-subclass, regexp)."""
    app = Application()

    @app.websocket_handler(endpoint="/ws/{path_val}")
    class Handler(WebsocketHandler):

        def on_handshake(self, request: WebsocketRequest):
            cookie = request.cookies.get("c")
            log.add("handshake", self, dict(request.path_values), request.headers.get("X-Test"),
                    cookie.value if cookie is not None else None, request.parameter.get("q"))
            return 0, {"X-Handshake": "ok"}

        def on_open(self, session: WebsocketSession):
            log.add("open", self, session.id)
            session.send(f"hello {session.request.path_values['path_val']}")

        def on_close(self, session: WebsocketSession, reason: WebsocketCloseReason):
            log.add("close", reason.code, reason.reason, reason.message, str(reason))

        def on_ping_message(self, session: WebsocketSession = None, message: bytes = b""):
            log.add("ping", message)
            session.send_pone(message)

        def on_pong_message(self, session: WebsocketSession = None, message: bytes = b""):
            log.add("pong", message)
            session.send(f"pong:{message.decode()}")

        def on_text_message(self, session: WebsocketSession, message: str):
            log.add("text", message)
            if message == "ping-me":
                session.send_ping(b"p")
                session.send("pinged")
            elif message == "boom":
                raise RuntimeError("handler failure")
            else:
                session.send(message)

        def on_binary_message(self, session: WebsocketSession = None, message: bytes = b""):
            log.add("binary", message)
            session.send(message)

        def on_binary_frame(self, session: WebsocketSession = None, fin: bool = False, frame_payload: bytes = b""):
            log.add("frame", fin, frame_payload)
            # Frames starting with b"eat" are consumed here; the others are buffered.
            return None if frame_payload.startswith(b"eat") else True

    @app.websocket_handler(endpoint="/plain/{name}")
    class Plain:  # not a WebsocketHandler: only the methods it defines are called

        def on_handshake(self, request: WebsocketRequest):
            log.add("plain-handshake", request.path_values["name"])
            return 0, {}

        def on_open(self, session: WebsocketSession):
            session.send(f"plain {session.request.path_values['name']}")

        def on_text_message(self, session: WebsocketSession, message: str):
            session.send(f"plain:{message}")

    @app.websocket_handler(endpoint="/untyped/{name}")
    class Untyped:  # on_handshake(self, request) as the handler API names it, no annotation

        def on_handshake(self, request):
            log.add("untyped-handshake", dict(request.path_values))
            return 0, {}

        def on_text_message(self, session, message):
            session.send(f"untyped:{message}")

    @app.websocket_handler(regexp="^/ws-reg/([a-zA-Z0-9]+)$", singleton=False)
    class PerConnection(WebsocketHandler):

        def on_handshake(self, request: WebsocketRequest):
            log.add("reg-handshake", self, request.reg_groups)
            return 0, {}

        def on_open(self, session: WebsocketSession):
            log.add("reg-open", self)
            session.send("reg " + ",".join(session.request.reg_groups))

    return app


def function_handler_app(log: Log, mode: str) -> Application:
    """Function-style handlers for every event, sync or async."""
    app = Application()
    endpoint = "/fn/{path_val}"

    def decide(request: WebsocketRequest) -> Any:
        log.add("handshake", request.path_values["path_val"])
        if request.parameter.get("deny") == "1":
            return 403, {"X-Why": "no"}
        if request.parameter.get("accept") == "none":
            return None
        if request.parameter.get("accept") == "101":
            return 101, {"X-Hello": "101"}
        return 0, {"X-Hello": "yes"}

    if mode == "sync":
        @app.websocket_handshake(endpoint=endpoint)
        def handshake(request: WebsocketRequest):
            return decide(request)
    else:
        @app.websocket_handshake(endpoint=endpoint)
        async def handshake_async(request: WebsocketRequest):
            await asyncio.sleep(0)
            return decide(request)

    def on_open(session: WebsocketSession) -> None:
        log.add("open", session.request.path_values["path_val"])
        session.send(f"open {session.request.path_values['path_val']}")

    def on_close(session: WebsocketSession, reason: WebsocketCloseReason) -> None:
        log.add("close", reason.code, reason.reason, reason.message, str(reason))

    def on_text(session: WebsocketSession, message: str) -> None:
        log.add("text", message)
        session.send(f"{session.request.path_values['path_val']}-{message}")

    def on_binary(session: WebsocketSession, message: bytes) -> None:
        log.add("binary", message)
        session.send(message)

    def on_frame(session: WebsocketSession, fin: bool, frame_payload: bytes) -> bool:
        log.add("frame", fin, frame_payload)
        return True

    def on_ping(session: WebsocketSession, message: bytes) -> None:
        log.add("ping", message)
        session.send_pong(message)

    def on_pong(session: WebsocketSession, message: bytes) -> None:
        log.add("pong", message)
        session.send(f"pong-{message.decode()}")

    app.websocket_open(endpoint=endpoint)(maybe_async(mode, on_open))
    app.websocket_close(endpoint=endpoint)(maybe_async(mode, on_close))
    app.websocket_message(endpoint=endpoint, message_type=WEBSOCKET_MESSAGE_TEXT)(maybe_async(mode, on_text))
    app.websocket_message(endpoint=endpoint, message_type=WEBSOCKET_MESSAGE_BINARY)(maybe_async(mode, on_binary))
    app.websocket_message(endpoint=endpoint,
                          message_type=WEBSOCKET_MESSAGE_BINARY_FRAME)(maybe_async(mode, on_frame))
    app.websocket_message(endpoint=endpoint, message_type=WEBSOCKET_MESSAGE_PING)(maybe_async(mode, on_ping))
    app.websocket_message(endpoint=endpoint, message_type=WEBSOCKET_MESSAGE_PONG)(maybe_async(mode, on_pong))
    return app


def session_app(log: Log, file_path: Path, timers: list[threading.Timer]) -> Application:
    """A handler that exercises the ``WebsocketSession`` API on command."""
    app = Application()
    open_sessions: list[WebsocketSession] = []
    lock = threading.Lock()

    @app.websocket_handler(endpoint="/s/{name}")
    class SessionHandler(WebsocketHandler):

        def on_open(self, session: WebsocketSession):
            with lock:
                open_sessions.append(session)
            log.add("open", session.id, session.is_closed)

        def on_close(self, session: WebsocketSession, reason: WebsocketCloseReason):
            with lock:
                open_sessions.remove(session)
            log.add("close", session.id, reason.code, reason.reason, reason.message, session.is_closed)

        def on_text_message(self, session: WebsocketSession, message: str):
            command, _, arg = message.partition(":")
            if command == "id":
                session.send(session.id)
            elif command == "request":
                request = session.request
                cookie = request.cookies.get("c")
                session.send(json.dumps({
                    "path_values": request.path_values, "header": request.headers.get("X-Test"),
                    "cookie": cookie.value if cookie is not None else None,
                    "parameter": request.parameter.get("q"), "parameters": request.parameters.get("m"),
                }))
            elif command == "send":
                session.send("via-send")
                session.send(b"via-send-bytes")
                session.send(b"via-send-opcode", WEBSOCKET_OPCODE_TEXT)
                session.send_text("via-send-text")
                session.send_binary(b"via-send-binary")
            elif command == "file":
                session.send_file(str(file_path))
            elif command == "file-chunked":
                session.send_file(str(file_path), chunk_size=1000)
            elif command == "ping":
                session.send_ping(b"sp")
            elif command == "pong":
                session.send_pong(b"sq")
                session.send_pone(b"sr")
            elif command == "close":
                session.close(arg)
            elif command == "broadcast":
                with lock:
                    targets = list(open_sessions)
                for target in targets:
                    target.send(f"all:{arg}")
            elif command == "later":
                timer = threading.Timer(0.05, session.send, args=(f"from-timer:{arg}",))
                timers.append(timer)
                timer.start()

    return app


# -- 1. class handlers ---------------------------------------------------------------------


def test_class_handler_handshake_sees_the_request(serve: Callable[..., Client]) -> None:
    log = Log()
    client = serve(class_handler_app(log))
    with ws_connect(client, "/ws/abc?q=v&other=1", header={"X-Test": "t-value"}, cookie="c=cookie-1") as ws:
        assert ws.getstatus() == 101
        assert ws.getheaders()["x-handshake"] == "ok"
        assert ws.recv() == "hello abc"
    [(handler, path_values, header, cookie, parameter)] = log.of("handshake")
    assert isinstance(handler, WebsocketHandler)
    assert (path_values, header, cookie, parameter) == ({"path_val": "abc"}, "t-value", "cookie-1", "v")


def test_text_and_binary_echo(serve: Callable[..., Client]) -> None:
    log = Log()
    client = serve(class_handler_app(log))
    with ws_connect(client, "/ws/x") as ws:
        assert ws.recv() == "hello x"
        ws.send("héllo wörld")
        assert ws.recv_data() == (ABNF.OPCODE_TEXT, "héllo wörld".encode())
        ws.send_binary(b"\x00\x01\xfe\xff")
        assert ws.recv_data() == (ABNF.OPCODE_BINARY, b"\x00\x01\xfe\xff")
        big = os.urandom(200_000)
        ws.send_binary(big)
        assert ws.recv_data() == (ABNF.OPCODE_BINARY, big)
        # A fragmented text message, split inside a multi-byte character.
        raw = "né€".encode()
        ws.send_frame(ABNF.create_frame(raw[:2], ABNF.OPCODE_TEXT, fin=0))
        ws.send_frame(ABNF.create_frame(raw[2:4], ABNF.OPCODE_CONT, fin=0))
        ws.send_frame(ABNF.create_frame(raw[4:], ABNF.OPCODE_CONT, fin=1))
        assert ws.recv() == "né€"
    assert log.of("text") == [("héllo wörld",), ("né€",)]
    assert log.of("binary") == [(b"\x00\x01\xfe\xff",), (big,)]


def test_client_ping_gets_a_pong_with_its_payload(serve: Callable[..., Client]) -> None:
    log = Log()
    client = serve(class_handler_app(log))
    with ws_connect(client, "/ws/x") as ws:
        assert ws.recv() == "hello x"
        ws.ping(b"x")
        opcode, frame = ws.recv_data_frame(True)
        assert (opcode, frame.data) == (ABNF.OPCODE_PONG, b"x")
    assert log.of("ping") == [(b"x",)]


def test_server_ping_is_answered_and_on_pong_called(serve: Callable[..., Client]) -> None:
    log = Log()
    client = serve(class_handler_app(log))
    with ws_connect(client, "/ws/x") as ws:
        assert ws.recv() == "hello x"
        ws.send("ping-me")
        # recv() answers the server's ping with a pong on its way to the next data frame.
        assert ws.recv() == "pinged"
        assert ws.recv() == "pong:p"
    assert log.of("pong") == [(b"p",)]


def test_fragmented_binary_message_is_streamed_then_buffered(serve: Callable[..., Client]) -> None:
    log = Log()
    client = serve(class_handler_app(log))
    with ws_connect(client, "/ws/x") as ws:
        assert ws.recv() == "hello x"
        ws.send_frame(ABNF.create_frame(b"ab", ABNF.OPCODE_BINARY, fin=0))
        ws.send_frame(ABNF.create_frame(b"cd", ABNF.OPCODE_CONT, fin=0))
        ws.send_frame(ABNF.create_frame(b"ef", ABNF.OPCODE_CONT, fin=1))
        assert ws.recv_data() == (ABNF.OPCODE_BINARY, b"abcdef")
        # Frames the handler consumes (returns no True for) never reach on_binary_message.
        ws.send_frame(ABNF.create_frame(b"eat-1", ABNF.OPCODE_BINARY, fin=0))
        ws.send_frame(ABNF.create_frame(b"eat-2", ABNF.OPCODE_CONT, fin=1))
        ws.send_binary(b"whole")
        assert ws.recv_data() == (ABNF.OPCODE_BINARY, b"whole")
    assert log.of("frame") == [(False, b"ab"), (False, b"cd"), (True, b"ef"),
                               (False, b"eat-1"), (True, b"eat-2"), (True, b"whole")]
    assert log.of("binary") == [(b"abcdef",), (b"whole",)]


def test_on_close_gets_the_clients_code_and_reason(serve: Callable[..., Client]) -> None:
    log = Log()
    client = serve(class_handler_app(log))
    ws = websocket.create_connection(url(client, "/ws/x"), timeout=WAIT)
    try:
        assert ws.recv() == "hello x"
        ws.close(status=4001, reason=b"bye", timeout=WAIT)
        # The server answers with a close frame echoing the code (RFC 6455 5.5.1).
        assert ws.close_frame is not None
        assert struct.unpack("!H", ws.close_frame.data[:2])[0] == 4001
    finally:
        ws.shutdown()
    [(code, reason, message, as_text)] = log.wait("close")
    assert (code, reason) == (4001, "bye")
    assert isinstance(message, str) and message and as_text == message


def test_singleton_handler_is_shared_by_connections(serve: Callable[..., Client]) -> None:
    log = Log()
    client = serve(class_handler_app(log))
    with ws_connect(client, "/ws/a") as first, ws_connect(client, "/ws/b") as second:
        assert first.recv() == "hello a"
        assert second.recv() == "hello b"
    (first_hs, *_), (second_hs, *_) = log.of("handshake")
    (first_open, first_id), (second_open, second_id) = log.of("open")
    assert first_hs is second_hs is first_open is second_open
    assert first_id != second_id


def test_regexp_handler_not_singleton_has_one_object_per_connection(serve: Callable[..., Client]) -> None:
    log = Log()
    client = serve(class_handler_app(log))
    with ws_connect(client, "/ws-reg/abc1") as first, ws_connect(client, "/ws-reg/XYZ2") as second:
        assert first.recv() == "reg abc1"
        assert second.recv() == "reg XYZ2"
    # The handshakes are in connection order (the second connects once the first is accepted);
    # the two on_open calls may run in either order on the threading server.
    (hs1, groups1), (hs2, groups2) = log.of("reg-handshake")
    (open1,), (open2,) = sorted(log.of("reg-open"), key=lambda entry: entry[0] is not hs1)
    assert (groups1, groups2) == (("abc1",), ("XYZ2",))
    assert hs1 is open1 and hs2 is open2  # the object that accepted the connection serves it
    assert open1 is not open2
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url(client, "/ws-reg/not-matching"), timeout=WAIT)
    assert refused.value.status_code == 404


def test_handler_class_without_the_base_class(serve: Callable[..., Client]) -> None:
    log = Log()
    client = serve(class_handler_app(log))
    with ws_connect(client, "/plain/p1") as ws:
        assert ws.recv() == "plain p1"
        ws.send("hi")
        assert ws.recv() == "plain:hi"
        # No on_ping_message: the ping is still answered with its payload.
        ws.ping(b"np")
        opcode, frame = ws.recv_data_frame(True)
        assert (opcode, frame.data) == (ABNF.OPCODE_PONG, b"np")
        # No on_binary_message: a binary message is ignored, the connection stays usable.
        ws.send_binary(b"ignored")
        ws.send("after")
        assert ws.recv() == "plain:after"
    assert log.of("plain-handshake") == [("p1",)]


def test_unannotated_on_handshake_receives_the_request(serve: Callable[..., Client]) -> None:
    """``on_handshake(self, request)`` is the handler API's signature: the handshake request is
    passed to it (not looked up as a query parameter named ``request``)."""
    log = Log()
    client = serve(class_handler_app(log))
    with ws_connect(client, "/untyped/u1") as ws:
        ws.send("x")
        assert ws.recv() == "untyped:x"
    assert log.of("untyped-handshake") == [({"name": "u1"},)]


def test_a_failing_handler_closes_the_session_with_1011(serve: Callable[..., Client]) -> None:
    log = Log()
    client = serve(class_handler_app(log))
    with ws_connect(client, "/ws/x") as ws:
        assert ws.recv() == "hello x"
        ws.send("boom")
        opcode, frame = ws.recv_data_frame(True)
        assert opcode == ABNF.OPCODE_CLOSE
        assert struct.unpack("!H", frame.data[:2])[0] == 1011
    [(code, _reason, _message, _text)] = log.wait("close")
    assert code == 1011


def test_a_message_over_the_limit_closes_with_1009(serve: Callable[..., Client]) -> None:
    log = Log()
    client = serve(class_handler_app(log), max_websocket_message=1000)
    with ws_connect(client, "/ws/x") as ws:
        assert ws.recv() == "hello x"
        ws.send("a" * 1000)
        assert ws.recv() == "a" * 1000
        ws.send("a" * 1001)
        opcode, frame = ws.recv_data_frame(True)
        assert opcode == ABNF.OPCODE_CLOSE
        assert struct.unpack("!H", frame.data[:2])[0] == 1009
    [(code, _reason, _message, _text)] = log.wait("close")
    assert code == 1009
    assert log.of("text") == [("a" * 1000,)]


# -- 2. function handlers ------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_function_handlers_every_event(serve: Callable[..., Client], mode: str) -> None:
    log = Log()
    client = serve(function_handler_app(log, mode))
    ws = websocket.create_connection(url(client, "/fn/f1"), timeout=WAIT)
    try:
        assert ws.getstatus() == 101
        assert ws.getheaders()["x-hello"] == "yes"
        assert ws.recv() == "open f1"
        ws.send("hi")
        assert ws.recv() == "f1-hi"
        ws.send_frame(ABNF.create_frame(b"12", ABNF.OPCODE_BINARY, fin=0))
        ws.send_frame(ABNF.create_frame(b"34", ABNF.OPCODE_CONT, fin=1))
        assert ws.recv_data() == (ABNF.OPCODE_BINARY, b"1234")
        ws.ping(b"fp")
        opcode, frame = ws.recv_data_frame(True)
        assert (opcode, frame.data) == (ABNF.OPCODE_PONG, b"fp")
        ws.pong(b"q")
        assert ws.recv() == "pong-q"
        ws.close(status=4002, reason=b"fn-bye", timeout=WAIT)
    finally:
        ws.shutdown()
    [(code, reason, message, as_text)] = log.wait("close")
    assert (code, reason) == (4002, "fn-bye")
    assert isinstance(message, str) and message and as_text == message
    assert log.of("handshake") == [("f1",)]
    assert log.of("open") == [("f1",)]
    assert log.of("text") == [("hi",)]
    assert log.of("frame") == [(False, b"12"), (True, b"34")]
    assert log.of("binary") == [(b"1234",)]
    assert log.of("ping") == [(b"fp",)]
    assert log.of("pong") == [(b"q",)]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_function_handshake_refusal(serve: Callable[..., Client], mode: str) -> None:
    log = Log()
    client = serve(function_handler_app(log, mode))
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url(client, "/fn/f2?deny=1"), timeout=WAIT)
    assert refused.value.status_code == 403
    assert refused.value.resp_headers is not None
    assert refused.value.resp_headers["x-why"] == "no"
    assert log.of("handshake") == [("f2",)]
    assert "open" not in log.kinds()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_function_handshake_accepts_none_and_101(serve: Callable[..., Client], mode: str) -> None:
    log = Log()
    client = serve(function_handler_app(log, mode))
    with ws_connect(client, "/fn/n?accept=none") as ws:
        assert ws.recv() == "open n"
    with ws_connect(client, "/fn/h?accept=101") as ws:
        assert ws.getheaders()["x-hello"] == "101"
        assert ws.recv() == "open h"
    assert log.of("open") == [("n",), ("h",)]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_function_handlers_keep_the_order_of_pipelined_frames(serve: Callable[..., Client], mode: str) -> None:
    log = Log()
    client = serve(function_handler_app(log, mode))
    with raw_connection(client) as raw:
        raw.sendall(handshake_request("/fn/p", upgrade_headers())
                    + client_frame(ABNF.OPCODE_TEXT, b"one")
                    + client_frame(ABNF.OPCODE_PING, b"pg")
                    + client_frame(ABNF.OPCODE_BINARY, b"bin", fin=False)
                    + client_frame(ABNF.OPCODE_CONT, b"ary")
                    + client_frame(ABNF.OPCODE_TEXT, b"two"))
        assert raw.read_head().status == 101
        assert [raw.frame() for _ in range(5)] == [
            (True, False, ABNF.OPCODE_TEXT, b"open p"),
            (True, False, ABNF.OPCODE_TEXT, b"p-one"),
            (True, False, ABNF.OPCODE_PONG, b"pg"),
            (True, False, ABNF.OPCODE_BINARY, b"binary"),
            (True, False, ABNF.OPCODE_TEXT, b"p-two")]
        raw.sendall(client_frame(ABNF.OPCODE_CLOSE, close_payload(1000)))
        assert raw.frame() == (True, False, ABNF.OPCODE_CLOSE, close_payload(1000))
    log.wait("close")
    assert log.kinds() == ["handshake", "open", "text", "ping", "frame", "frame", "binary", "text", "close"]


# -- 3. WebsocketSession -------------------------------------------------------------------


@pytest.fixture
def payload_file(tmp_path: Path) -> tuple[Path, bytes]:
    content = os.urandom(4500)
    path = tmp_path / "payload.bin"
    path.write_bytes(content)
    return path, content


@pytest.fixture
def timers() -> Iterator[list[threading.Timer]]:
    started: list[threading.Timer] = []
    yield started
    for timer in started:
        timer.cancel()
        timer.join(WAIT)


def test_session_id_and_request(serve: Callable[..., Client], payload_file: tuple[Path, bytes],
                                timers: list[threading.Timer]) -> None:
    log = Log()
    client = serve(session_app(log, payload_file[0], timers))
    with ws_connect(client, "/s/n1?q=qv&m=1&m=2", header={"X-Test": "hv"}, cookie="c=cv") as first, \
            ws_connect(client, "/s/n2") as second:
        first.send("id")
        second.send("id")
        first_id, second_id = first.recv(), second.recv()
        first.send("request")
        assert json.loads(first.recv()) == {"path_values": {"name": "n1"}, "header": "hv", "cookie": "cv",
                                            "parameter": "qv", "parameters": ["1", "2"]}
    assert isinstance(first_id, str) and first_id
    assert first_id != second_id
    assert sorted(log.of("open")) == sorted([(first_id, False), (second_id, False)])


def test_session_send_variants(serve: Callable[..., Client], payload_file: tuple[Path, bytes],
                               timers: list[threading.Timer]) -> None:
    log = Log()
    client = serve(session_app(log, payload_file[0], timers))
    with ws_connect(client, "/s/n") as ws:
        ws.send("send")
        assert [ws.recv_data() for _ in range(5)] == [
            (ABNF.OPCODE_TEXT, b"via-send"),
            (ABNF.OPCODE_BINARY, b"via-send-bytes"),
            (ABNF.OPCODE_TEXT, b"via-send-opcode"),
            (ABNF.OPCODE_TEXT, b"via-send-text"),
            (ABNF.OPCODE_BINARY, b"via-send-binary"),
        ]


def test_session_send_file(serve: Callable[..., Client], payload_file: tuple[Path, bytes],
                           timers: list[threading.Timer]) -> None:
    path, content = payload_file
    log = Log()
    client = serve(session_app(log, path, timers))
    with ws_connect(client, "/s/n") as ws:
        ws.send("file")
        frame = recv_frame(ws)
        assert (frame.opcode, frame.fin, frame.data) == (ABNF.OPCODE_BINARY, 1, content)
        ws.send("file-chunked")
        frames = [recv_frame(ws) for _ in range(5)]
        assert [(f.opcode, f.fin, len(f.data)) for f in frames] == [
            (ABNF.OPCODE_BINARY, 0, 1000), (ABNF.OPCODE_CONT, 0, 1000), (ABNF.OPCODE_CONT, 0, 1000),
            (ABNF.OPCODE_CONT, 0, 1000), (ABNF.OPCODE_CONT, 1, 500)]
        assert b"".join(f.data for f in frames) == content
        # As a client application sees it: one binary message with the file's content.
        ws.send("file-chunked")
        assert ws.recv_data() == (ABNF.OPCODE_BINARY, content)


def test_session_ping_pong_and_pone(serve: Callable[..., Client], payload_file: tuple[Path, bytes],
                                    timers: list[threading.Timer]) -> None:
    log = Log()
    client = serve(session_app(log, payload_file[0], timers))
    with ws_connect(client, "/s/n") as ws:
        ws.send("ping")
        frame = recv_frame(ws)
        assert (frame.opcode, frame.data) == (ABNF.OPCODE_PING, b"sp")
        ws.send("pong")
        first, second = recv_frame(ws), recv_frame(ws)
        assert [(first.opcode, first.data), (second.opcode, second.data)] == [
            (ABNF.OPCODE_PONG, b"sq"), (ABNF.OPCODE_PONG, b"sr")]


def test_session_close_from_the_server(serve: Callable[..., Client], payload_file: tuple[Path, bytes],
                                       timers: list[threading.Timer]) -> None:
    log = Log()
    client = serve(session_app(log, payload_file[0], timers))
    with ws_connect(client, "/s/n") as ws:
        ws.send("id")
        session_id = ws.recv()
        ws.send("close:server-bye")
        opcode, frame = ws.recv_data_frame(True)  # answers the close frame with one of its own
        assert (opcode, frame.data) == (ABNF.OPCODE_CLOSE, close_payload(1000, b"server-bye"))
    [(closed_id, code, reason, message, is_closed)] = log.wait("close")
    assert (closed_id, code, reason, is_closed) == (session_id, 1000, "server-bye", True)
    assert isinstance(message, str) and message


def test_session_is_closed_after_the_client_closes(serve: Callable[..., Client],
                                                    payload_file: tuple[Path, bytes],
                                                    timers: list[threading.Timer]) -> None:
    log = Log()
    client = serve(session_app(log, payload_file[0], timers))
    with ws_connect(client, "/s/n") as ws:
        ws.send("id")
        session_id = ws.recv()
        ws.close(status=1000, reason=b"done", timeout=WAIT)
    [(closed_id, code, reason, _message, is_closed)] = log.wait("close")
    assert (closed_id, code, reason, is_closed) == (session_id, 1000, "done", True)
    assert log.of("open") == [(session_id, False)]


def test_broadcast_to_every_open_session(serve: Callable[..., Client], payload_file: tuple[Path, bytes],
                                         timers: list[threading.Timer]) -> None:
    log = Log()
    client = serve(session_app(log, payload_file[0], timers))
    with ws_connect(client, "/s/a") as first, ws_connect(client, "/s/b") as second:
        log.wait("open", 2)
        first.send("broadcast:news")
        assert first.recv() == "all:news"
        assert second.recv() == "all:news"
        second.send("broadcast:more")
        assert first.recv() == "all:more"
        assert second.recv() == "all:more"


def test_send_from_another_thread(serve: Callable[..., Client], payload_file: tuple[Path, bytes],
                                  timers: list[threading.Timer]) -> None:
    log = Log()
    client = serve(session_app(log, payload_file[0], timers))
    with ws_connect(client, "/s/n") as ws:
        ws.send("later:1")
        ws.send("later:2")
        assert sorted([ws.recv(), ws.recv()]) == ["from-timer:1", "from-timer:2"]


# -- 4. handshake validation ---------------------------------------------------------------


def test_accept_value_for_the_rfc_example_key(serve: Callable[..., Client]) -> None:
    client = serve(class_handler_app(Log()))
    with raw_connection(client) as raw:
        raw.sendall(handshake_request("/ws/raw", upgrade_headers()))
        reply = raw.read_head()
        assert reply.status == 101
        assert reply.headers["sec-websocket-accept"] == RFC_ACCEPT
        assert reply.headers["upgrade"].lower() == "websocket"
        assert "upgrade" in [token.strip().lower() for token in reply.headers["connection"].split(",")]
        assert "sec-websocket-extensions" not in reply.headers  # nothing was offered
        assert raw.frame() == (True, False, ABNF.OPCODE_TEXT, b"hello raw")
        raw.sendall(client_frame(ABNF.OPCODE_CLOSE, close_payload(1000)))
        assert raw.frame() == (True, False, ABNF.OPCODE_CLOSE, close_payload(1000))


def test_frames_sent_with_the_handshake_are_served_after_on_open(serve: Callable[..., Client]) -> None:
    log = Log()
    client = serve(class_handler_app(log))
    with raw_connection(client) as raw:
        # Headers as token lists and in other cases than the usual ones are still an upgrade.
        headers = upgrade_headers()
        headers.update({"Upgrade": "WebSocket", "Connection": "keep-alive, Upgrade"})
        raw.sendall(handshake_request("/ws/early", headers)
                    + client_frame(ABNF.OPCODE_TEXT, b"first")
                    + client_frame(ABNF.OPCODE_TEXT, b"second"))
        reply = raw.read_head()
        assert reply.status == 101
        assert reply.headers["sec-websocket-accept"] == RFC_ACCEPT
        assert [raw.frame() for _ in range(3)] == [
            (True, False, ABNF.OPCODE_TEXT, b"hello early"),
            (True, False, ABNF.OPCODE_TEXT, b"first"),
            (True, False, ABNF.OPCODE_TEXT, b"second")]
        raw.sendall(client_frame(ABNF.OPCODE_CLOSE, close_payload(1000)))
        assert raw.frame() == (True, False, ABNF.OPCODE_CLOSE, close_payload(1000))
    assert log.of("text") == [("first",), ("second",)]


def test_close_without_a_status_code_is_reported_as_1005(serve: Callable[..., Client]) -> None:
    log = Log()
    client = serve(class_handler_app(log))
    with raw_connection(client) as raw:
        raw.sendall(handshake_request("/ws/e", upgrade_headers()))
        assert raw.read_head().status == 101
        assert raw.frame() == (True, False, ABNF.OPCODE_TEXT, b"hello e")
        raw.sendall(client_frame(ABNF.OPCODE_CLOSE, b""))
        # RFC 6455 7.4.1: 1005 must not be sent; the reply has no status code either.
        assert raw.frame() == (True, False, ABNF.OPCODE_CLOSE, b"")
    [(code, reason, _message, _text)] = log.wait("close")
    assert (code, reason) == (1005, "")


def test_invalid_handshakes_are_refused(serve: Callable[..., Client]) -> None:
    log = Log()
    client = serve(class_handler_app(log))
    assert raw_upgrade(client, "/ws/x", upgrade_headers(key=None)).status == 400
    assert raw_upgrade(client, "/ws/x", upgrade_headers(key="abc")).status == 400
    fifteen = base64.b64encode(b"0123456789abcde").decode()
    assert raw_upgrade(client, "/ws/x", upgrade_headers(key=fifteen)).status == 400
    seventeen = base64.b64encode(b"0123456789abcdefg").decode()
    assert raw_upgrade(client, "/ws/x", upgrade_headers(key=seventeen)).status == 400
    old = raw_upgrade(client, "/ws/x", upgrade_headers(version="8"))
    assert old.status == 426
    assert old.headers["sec-websocket-version"] == "13"
    assert log.of("open") == []


def test_version_mismatch_426_names_the_protocol_to_upgrade_to(serve: Callable[..., Client]) -> None:
    """RFC 9110 15.5.22 (RFC 7231 6.5.15): "The server MUST send an Upgrade header field in a 426
    response"; RFC 6455 4.2.2 adds Sec-WebSocket-Version with the versions it speaks."""
    client = serve(class_handler_app(Log()))
    old = raw_upgrade(client, "/ws/x", upgrade_headers(version="8"))
    assert old.status == 426
    assert old.headers["sec-websocket-version"] == "13"
    assert old.headers.get("upgrade") == "websocket"


def test_error_pages_render_handshake_validation_errors(serve: Callable[..., Client]) -> None:
    """Error pages apply to the handshake request: a refused upgrade is answered with the
    application's error page like any other error of the request."""
    app = class_handler_app(Log())

    @app.error_message
    def every_error(code, message, explain=""):
        return f"page-{code}"

    client = serve(app)
    assert client.get("/ws/x").body == b"page-426"  # the route-level 426 uses it
    missing_key = raw_upgrade(client, "/ws/x", upgrade_headers(key=None))
    assert (missing_key.status, missing_key.body) == (400, b"page-400")
    old = raw_upgrade(client, "/ws/x", upgrade_headers(version="8"))
    assert (old.status, old.body) == (426, b"page-426")


def test_plain_get_to_a_websocket_endpoint_is_426(serve: Callable[..., Client]) -> None:
    client = serve(class_handler_app(Log()))
    reply = client.get("/ws/x")
    assert reply.status == 426
    assert reply.header("Upgrade") == "websocket"


def test_http_route_and_websocket_endpoint_on_one_path(serve: Callable[..., Client]) -> None:
    app = Application()

    @app.route("/both")
    def both_http():
        return "plain http"

    @app.route("/http-only")
    def http_only():
        return "only http"

    @app.websocket_handler(endpoint="/both")
    class Both(WebsocketHandler):
        def on_open(self, session: WebsocketSession):
            session.send("websocket")

    client = serve(app)
    assert (client.get("/both").status, client.get("/both").body) == (200, b"plain http")
    with ws_connect(client, "/both") as ws:
        assert ws.recv() == "websocket"
    # An upgrade request to a path without a WebSocket endpoint is served as plain HTTP.
    reply = raw_upgrade(client, "/http-only", upgrade_headers())
    assert (reply.status, reply.body) == (200, b"only http")


def test_filters_apply_to_the_handshake(serve: Callable[..., Client]) -> None:
    log = Log()
    app = Application()

    @app.request_filter("/guarded/**")
    def guard(ctx):
        log.add("filter", ctx.request.path)
        if ctx.request.headers.get("X-Token") != "ok":
            ctx.response.send_error(401)
        else:
            ctx.do_chain()

    @app.websocket_handler(endpoint="/guarded/{name}")
    class Guarded(WebsocketHandler):

        def on_handshake(self, request: WebsocketRequest):
            log.add("handshake", request.path_values["name"])
            return 0, {}

        def on_open(self, session: WebsocketSession):
            session.send("in")

    client = serve(app)
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url(client, "/guarded/a"), timeout=WAIT)
    assert refused.value.status_code == 401
    assert log.items == [("filter", "/guarded/a")]
    with ws_connect(client, "/guarded/b", header={"X-Token": "ok"}) as ws:
        assert ws.recv() == "in"
    assert log.items == [("filter", "/guarded/a"), ("filter", "/guarded/b"), ("handshake", "b")]


def test_error_page_answers_an_upgrade_to_an_unknown_path(serve: Callable[..., Client]) -> None:
    app = class_handler_app(Log())

    @app.error_message("404")
    def not_found(code, message, explain=""):
        return f"custom-{code}"

    client = serve(app)
    reply = raw_upgrade(client, "/nowhere", upgrade_headers())
    assert (reply.status, reply.body) == (404, b"custom-404")


# -- 5. permessage-deflate -----------------------------------------------------------------


def test_permessage_deflate(serve: Callable[..., Client]) -> None:
    log = Log()
    client = serve(class_handler_app(log))
    with raw_connection(client) as raw:
        raw.sendall(handshake_request(
            "/ws/z", upgrade_headers(Sec_WebSocket_Extensions="permessage-deflate")))
        reply = raw.read_head()
        assert reply.status == 101
        assert reply.headers["sec-websocket-extensions"] == "permessage-deflate"
        inflater = zlib.decompressobj(wbits=-15)  # one context: the server may take it over

        def receive_text() -> str:
            fin, rsv1, opcode, payload = raw.frame()
            assert (fin, rsv1, opcode) == (True, True, ABNF.OPCODE_TEXT)
            return inflater.decompress(payload + DEFLATE_TAIL).decode("utf-8")

        assert receive_text() == "hello z"
        compressor = zlib.compressobj(wbits=-15)  # the client keeps its context too
        for text in ("compress me, compress me, compress me!", "again: compress me, compress me"):
            raw.sendall(client_frame(ABNF.OPCODE_TEXT, deflate_message(compressor, text.encode()), rsv1=True))
            assert receive_text() == text
        # A compressed binary message in two frames: RSV1 on the first only (RFC 7692 6.1).
        message = b"binary, binary, binary, binary data " * 20
        compressed = deflate_message(compressor, message)
        half = len(compressed) // 2
        raw.sendall(client_frame(ABNF.OPCODE_BINARY, compressed[:half], fin=False, rsv1=True)
                    + client_frame(ABNF.OPCODE_CONT, compressed[half:]))
        fin, rsv1, opcode, payload = raw.frame()
        assert (fin, rsv1, opcode) == (True, True, ABNF.OPCODE_BINARY)
        assert inflater.decompress(payload + DEFLATE_TAIL) == message
        raw.sendall(client_frame(ABNF.OPCODE_CLOSE, close_payload(1000)))
        assert raw.frame() == (True, False, ABNF.OPCODE_CLOSE, close_payload(1000))
    assert log.of("text") == [("compress me, compress me, compress me!",), ("again: compress me, compress me",)]
    frames = log.of("frame")
    assert [fin for fin, _ in frames] == [False, True]
    assert b"".join(data for _, data in frames) == message
    assert log.of("binary") == [(message,)]


# -- 6. shutdown ---------------------------------------------------------------------------


def test_stop_closes_open_sessions_with_1001(serve: Callable[..., Client]) -> None:
    log = Log()
    app = class_handler_app(log)
    client = serve(app)
    with ws_connect(client, "/ws/x") as first, ws_connect(client, "/ws/y") as second:
        assert first.recv() == "hello x"
        assert second.recv() == "hello y"
        stopper = threading.Thread(target=app.stop, daemon=True)
        stopper.start()
        try:
            for ws in (first, second):
                opcode, frame = ws.recv_data_frame(True)  # answers the close frame
                assert opcode == ABNF.OPCODE_CLOSE
                assert struct.unpack("!H", frame.data[:2])[0] == 1001
        finally:
            stopper.join(3.0)
        assert not stopper.is_alive(), "stop() did not return within 3 s"
    assert [code for code, *_ in log.wait("close", 2)] == [1001, 1001]
    # The server is gone: the port no longer accepts connections.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", client.port), timeout=WAIT).close()


def test_stop_is_bounded_when_a_client_never_answers_the_close(serve: Callable[..., Client]) -> None:
    log = Log()
    app = class_handler_app(log)
    client = serve(app)
    with raw_connection(client) as raw:
        raw.sendall(handshake_request("/ws/mute", upgrade_headers()))
        assert raw.read_head().status == 101
        assert raw.frame() == (True, False, ABNF.OPCODE_TEXT, b"hello mute")
        stopper = threading.Thread(target=app.stop, daemon=True)
        stopper.start()
        try:
            fin, _rsv1, opcode, payload = raw.frame()  # read, never answered
            assert (fin, opcode, payload[:2]) == (True, ABNF.OPCODE_CLOSE, struct.pack("!H", 1001))
        finally:
            stopper.join(3.0)
        assert not stopper.is_alive(), "stop() did not return within 3 s"
        [(code, _reason, _message, _text)] = log.wait("close")
        assert code == 1001


def test_stop_runs_async_on_close_with_1001(serve: Callable[..., Client]) -> None:
    log = Log()
    app = function_handler_app(log, "async")
    client = serve(app)
    with ws_connect(client, "/fn/s") as ws:
        assert ws.recv() == "open s"
        stopper = threading.Thread(target=app.stop, daemon=True)
        stopper.start()
        try:
            opcode, frame = ws.recv_data_frame(True)
            assert (opcode, frame.data[:2]) == (ABNF.OPCODE_CLOSE, struct.pack("!H", 1001))
        finally:
            stopper.join(3.0)
        assert not stopper.is_alive(), "stop() did not return within 3 s"
    [(code, _reason, _message, _text)] = log.wait("close")
    assert code == 1001
