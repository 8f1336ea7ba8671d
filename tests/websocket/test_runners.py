"""The WebSocket connection runners over real loopback sockets, on both drivers.

Each test accepts a real TCP connection and hands the server end to ``run_threaded`` (on a
thread) or ``make_protocol`` (on an event loop running in a thread), with an endpoint built
from a recording handler; the client side is the protocol core itself
(``WebSocketProtocol(client_side=True)``) over a blocking socket.
"""
from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Any, Callable, Optional

import pytest

from naja_atra.websocket.api import WEBSOCKET_OPCODE_BINARY, WEBSOCKET_OPCODE_TEXT, WebsocketCloseReason
from naja_atra.websocket.protocol import (
    BinaryMessage,
    Closed,
    Opcode,
    Ping,
    Pong,
    TextMessage,
    WebSocketProtocol,
)
from naja_atra.websocket.session import ConnectionSession, OpenSessions

from ..support import wait_until
from .runners_support import WAIT, Runner, WsClient

# -- the handler ----------------------------------------------------------------------------


class Handler:
    """Records every callback; the text it receives can ask for behaviours."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.closed = threading.Event()
        self.opened = threading.Event()
        self.reason: Optional[WebsocketCloseReason] = None
        self.session: Optional[ConnectionSession] = None
        self.active = 0
        self.overlaps = 0
        self.thread_names: set[str] = set()
        self.file_path = ""
        self.registry: Optional[OpenSessions] = None

    def _enter(self, *call: Any) -> None:
        self.active += 1
        if self.active > 1:
            self.overlaps += 1
        self.calls.append(call)
        self.thread_names.add(threading.current_thread().name)

    def _leave(self) -> None:
        self.active -= 1

    def on_open(self, session: ConnectionSession) -> None:
        self._enter("open")
        self.session = session
        self.opened.set()
        self._leave()

    def on_close(self, session: ConnectionSession, reason: WebsocketCloseReason) -> None:
        self._enter("close", reason.code, reason.reason)
        self.reason = reason
        session.send_text("too late")  # a no-op, never an exception
        self._leave()
        self.closed.set()

    def on_ping_message(self, session: ConnectionSession, message: bytes) -> None:
        self._enter("ping", message)
        session.send_pong(message)
        self._leave()

    def on_pong_message(self, session: ConnectionSession, message: bytes) -> None:
        self._enter("pong", message)
        self._leave()

    def on_text_message(self, session: ConnectionSession, message: str) -> None:
        self._enter("text", message)
        try:
            self.react(session, message)
        finally:
            self._leave()

    def on_binary_message(self, session: ConnectionSession, message: bytes) -> None:
        self._enter("binary", message)
        session.send(message)
        self._leave()

    def react(self, session: ConnectionSession, message: str) -> None:
        if message == "close":
            session.close("bye", 4000)
        elif message == "boom":
            raise RuntimeError("handler failure (expected by the test)")
        elif message == "shutdown":
            assert self.registry is not None
            self.registry.close_all(timeout=3.0)
        elif message == "file":
            session.send_file(self.file_path, chunk_size=1000)
        elif message == "whole file":
            session.send_file(self.file_path)
        elif message == "variants":
            session.send("as text")
            session.send(b"as binary")
            session.send(b"bytes as text", WEBSOCKET_OPCODE_TEXT)
            session.send("text as binary", WEBSOCKET_OPCODE_BINARY)
            session.send("fragmented", chunk_size=3)
            session.send_binary(bytearray(b"array"))
        else:
            session.send(message)


class AsyncHandler(Handler):
    """The same handler with ``async`` callbacks that really suspend."""

    async def on_open(self, session: ConnectionSession) -> None:  # type: ignore[override]
        await asyncio.sleep(0.01)
        super().on_open(session)

    async def on_close(self, session: ConnectionSession, reason: WebsocketCloseReason) -> None:  # type: ignore[override]
        await asyncio.sleep(0)
        super().on_close(session, reason)

    async def on_text_message(self, session: ConnectionSession, message: str) -> None:  # type: ignore[override]
        self._enter("text", message)
        try:
            # Earlier messages wait longer: a runner that ran callbacks concurrently would
            # reorder the replies.
            await asyncio.sleep(0.02 if message.startswith("slow") else 0)
            if message == "boom":
                raise RuntimeError("async handler failure (expected by the test)")
            self.react(session, message)
        finally:
            self._leave()


class FrameHandler(Handler):
    """Consumes binary frames itself; frames starting with ``keep`` are buffered."""

    def on_binary_frame(self, session: ConnectionSession, fin: bool, frame_payload: bytes) -> Any:
        self._enter("frame", fin, frame_payload)
        self._leave()
        return True if frame_payload.startswith(b"keep") else None


class AsyncFrameHandler(FrameHandler):
    async def on_binary_frame(self, session: ConnectionSession, fin: bool, frame_payload: bytes) -> Any:
        await asyncio.sleep(0)
        return super().on_binary_frame(session, fin, frame_payload)


def _send_all(send: Callable[[Any], None], messages: list[Any]) -> None:
    for message in messages:
        send(message)


def _client_close(client: WsClient, handler: Handler, code: int = 1000, reason: str = "done") -> None:
    """The client closes; the server must answer, close TCP and report on_close."""
    client.close(code, reason)
    seen = client.wait_eof()
    assert [(e.code, e.by_peer) for e in seen if type(e) is Closed] == [(code, True)]  # the echo of our code
    assert handler.closed.wait(WAIT)


# -- the tests ------------------------------------------------------------------------------


def test_echo_in_order_and_one_close(runner: Runner) -> None:
    handler = Handler()
    client = runner.connect(handler)
    client.text("a")
    client.binary(b"b")
    client.text("c" * 70000)
    assert client.next() == TextMessage("a")
    assert client.next() == BinaryMessage(b"b")
    assert client.next() == TextMessage("c" * 70000)
    _client_close(client, handler, 1000, "done")
    assert handler.calls == [
        ("open",), ("text", "a"), ("binary", b"b"), ("text", "c" * 70000), ("close", 1000, "done"),
    ]
    assert handler.reason is not None and handler.reason.message == "Client asked to close connection."
    assert wait_until(lambda: len(runner.registry) == 0)
    assert handler.session is not None and handler.session.is_closed


def test_leftover_bytes_after_open(runner: Runner) -> None:
    client_proto = WebSocketProtocol(client_side=True)
    leftover = client_proto.send_text("first") + client_proto.send_close(1000, "at once")
    handler = Handler()
    client = runner.connect(handler, leftover=leftover)
    client.proto = client_proto
    # The close reply went out as the leftover was parsed: the echo of "first" comes too late.
    assert client.wait_eof() == [Closed(1000, "", True)]
    assert handler.closed.wait(WAIT)
    assert handler.calls == [("open",), ("text", "first"), ("close", 1000, "at once")]


def test_leftover_split_frame_completed_by_socket(runner: Runner) -> None:
    client_proto = WebSocketProtocol(client_side=True)
    frame = client_proto.send_text("hello there")
    handler = Handler()
    client = runner.connect(handler, leftover=frame[:5])
    client.proto = client_proto
    client.write(frame[5:])
    assert client.next() == TextMessage("hello there")
    _client_close(client, handler)
    assert handler.calls[0] == ("open",)


def test_fragmented_and_dribbled_messages(runner: Runner) -> None:
    handler = Handler()
    client = runner.connect(handler)
    client.text("fragmented text", fragment_size=4)
    client.binary(b"0123456789" * 10, fragment_size=7)
    for byte in client.proto.send_text("dribble"):
        client.write(bytes([byte]))
        time.sleep(0.001)
    assert client.next() == TextMessage("fragmented text")
    assert client.next() == BinaryMessage(b"0123456789" * 10)
    assert client.next() == TextMessage("dribble")
    _client_close(client, handler)


@pytest.mark.parametrize("handler_class", [FrameHandler, AsyncFrameHandler])
def test_binary_frames_streamed_and_buffered(runner: Runner, handler_class: type[FrameHandler]) -> None:
    handler = handler_class()
    client = runner.connect(handler)
    proto = client.proto
    client.write(proto.send_frame(Opcode.BINARY, b"keep1", False))
    client.write(proto.send_frame(Opcode.CONTINUATION, b"drop", False))
    client.write(proto.send_frame(Opcode.CONTINUATION, b"keep2", True))
    assert client.next() == BinaryMessage(b"keep1keep2")  # the handler echoes on_binary
    client.write(proto.send_frame(Opcode.BINARY, b"drop", False) + proto.send_frame(Opcode.CONTINUATION, b"x", True))
    client.binary(b"keep-single")
    assert client.next() == BinaryMessage(b"keep-single")
    _client_close(client, handler)
    assert handler.calls == [
        ("open",),
        ("frame", False, b"keep1"), ("frame", False, b"drop"), ("frame", True, b"keep2"),
        ("binary", b"keep1keep2"),
        ("frame", False, b"drop"), ("frame", True, b"x"),  # nothing kept: no on_binary
        ("frame", True, b"keep-single"), ("binary", b"keep-single"),
        ("close", 1000, "done"),
    ]


def test_ping_goes_to_the_endpoint_which_pongs(runner: Runner) -> None:
    handler = Handler()
    client = runner.connect(handler)
    client.ping(b"hi")
    assert client.next() == Pong(b"hi")
    assert ("ping", b"hi") in handler.calls
    _client_close(client, handler)


def test_peer_close_without_code(runner: Runner) -> None:
    handler = Handler()
    client = runner.connect(handler)
    client.write(bytes([0x88, 0x80]) + os.urandom(4))  # a masked close frame without payload
    seen = client.wait_eof()
    assert any(type(e) is Closed for e in seen)
    assert handler.closed.wait(WAIT)
    assert handler.reason is not None and handler.reason.code == 1005


def test_server_side_close(runner: Runner) -> None:
    handler = Handler()
    client = runner.connect(handler)
    client.text("close")
    event = client.next()
    assert event == Closed(4000, "bye", True)  # the client's core queued and sent its reply
    assert client.wait_eof() == []
    assert handler.closed.wait(WAIT)
    assert handler.reason is not None
    assert (handler.reason.code, handler.reason.reason) == (4000, "bye")
    assert handler.reason.message == "Server asked to close connection."


@pytest.mark.usefixtures("short_close_wait")
def test_server_close_unanswered_is_bounded(runner: Runner) -> None:
    handler = Handler()
    client = runner.connect(handler)
    client.proto = WebSocketProtocol(client_side=True)  # a client that will not reply...
    client.text("close")
    start = time.monotonic()
    data = b""
    while True:  # ...reads raw bytes and never answers the close frame
        chunk = client.sock.recv(65536)
        if not chunk:
            break
        data += chunk
    assert data.startswith(b"\x88")
    assert time.monotonic() - start < 2.0
    assert handler.closed.wait(WAIT)
    assert handler.reason is not None and handler.reason.code == 4000


def test_tcp_reset_reports_1006(runner: Runner) -> None:
    handler = Handler()
    client = runner.connect(handler)
    client.text("hello")
    assert client.next() == TextMessage("hello")
    client.reset()
    assert handler.closed.wait(WAIT)
    assert handler.reason is not None and handler.reason.code == 1006
    assert handler.calls[-1] == ("close", 1006, "")
    assert wait_until(lambda: len(runner.registry) == 0)


def test_protocol_error_fails_with_its_code(runner: Runner) -> None:
    handler = Handler()
    client = runner.connect(handler)
    client.write(b"\x81\x02hi")  # unmasked frame from a client: 1002
    seen = client.wait_eof()
    assert Closed(1002, "unmasked frame from a client", True) in seen
    assert handler.closed.wait(WAIT)
    assert handler.reason is not None and handler.reason.code == 1002


@pytest.mark.parametrize("handler_class", [Handler, AsyncHandler])
def test_failing_callback_closes_with_1011_and_runner_survives(
    runner: Runner, handler_class: type[Handler], caplog: pytest.LogCaptureFixture
) -> None:
    handler = handler_class()
    client = runner.connect(handler)
    client.text("boom")
    client.text("after")  # dropped: the session is closing
    assert client.next_message() == Closed(1011, "internal error", True)
    assert handler.closed.wait(WAIT)
    assert handler.reason is not None and handler.reason.code == 1011
    assert ("text", "after") not in handler.calls
    assert any(r.name == "naja_atra.websocket" and r.exc_info for r in caplog.records)  # logged with its traceback
    # The same runner serves the next connection.
    other = handler_class()
    client2 = runner.connect(other)
    client2.text("still here")
    assert client2.next() == TextMessage("still here")
    _client_close(client2, other)


def test_async_callbacks_run_in_order_one_at_a_time(runner: Runner) -> None:
    handler = AsyncHandler()
    client = runner.connect(handler)
    messages = ["slow-1", "fast-2", "slow-3", "fast-4"] + [f"m{i}" for i in range(50)]
    for text in messages:
        client.text(text)
    for text in messages:
        assert client.next() == TextMessage(text)
    _client_close(client, handler)
    assert handler.overlaps == 0
    assert handler.calls[0] == ("open",)
    assert [c[1] for c in handler.calls if c[0] == "text"] == messages
    assert handler.calls[-1] == ("close", 1000, "done")
    if runner.kind == "threaded":
        assert len(handler.thread_names) == 1  # all on the connection thread


def test_flood_with_slow_async_handler_is_complete(runner: Runner) -> None:
    """Exercises the asyncio runner's pause/resume of reading (many events queue up)."""
    handler = AsyncHandler()
    client = runner.connect(handler)
    messages = ["slow-first"] + [f"n{i}-" + "x" * 2000 for i in range(600)]
    sender = threading.Thread(target=_send_all, args=(client.text, messages), daemon=True)
    sender.start()
    for text in messages:
        assert client.next() == TextMessage(text)
    sender.join(WAIT)
    _client_close(client, handler)


def test_sends_from_other_threads(runner: Runner) -> None:
    handler = Handler()
    client = runner.connect(handler)
    assert handler.opened.wait(WAIT)
    sessions = list(runner.registry)
    assert len(sessions) == 1

    def broadcast(tag: str) -> None:
        for i in range(100):
            sessions[0].send_text(f"{tag}{i}")

    threads = [threading.Thread(target=broadcast, args=(tag,)) for tag in "abc"]
    for thread in threads:
        thread.start()
    for i in range(100):
        client.text(f"e{i}")
    received: list[str] = []
    while len(received) < 400:
        event = client.next()
        assert type(event) is TextMessage
        received.append(event.data)
    for thread in threads:
        thread.join(WAIT)
    for tag in "abce":
        assert [m for m in received if m[0] == tag] == [f"{tag}{i}" for i in range(100)]
    _client_close(client, handler)


def test_close_all_sends_1001_and_waits(runner: Runner) -> None:
    handlers = [Handler(), AsyncHandler()]
    clients = [runner.connect(h) for h in handlers]
    for h in handlers:
        assert h.opened.wait(WAIT)
    readers = [threading.Thread(target=c.wait_eof, daemon=True) for c in clients]
    for reader in readers:
        reader.start()
    start = time.monotonic()
    runner.registry.close_all(timeout=3.0)
    assert time.monotonic() - start < 2.0
    assert len(runner.registry) == 0
    for h in handlers:
        assert h.closed.is_set()
        assert h.reason is not None and (h.reason.code, h.reason.reason) == (1001, "server shutdown")
    for reader in readers:
        reader.join(WAIT)
    for c in clients:
        assert c.eof


def test_send_variants_and_files(runner: Runner, tmp_path: Any) -> None:
    content = os.urandom(4500)
    path = tmp_path / "data.bin"
    path.write_bytes(content)
    handler = Handler()
    handler.file_path = str(path)
    client = runner.connect(handler)
    client.text("variants")
    assert [client.next() for _ in range(6)] == [
        TextMessage("as text"), BinaryMessage(b"as binary"), TextMessage("bytes as text"),
        BinaryMessage(b"text as binary"), TextMessage("fragmented"), BinaryMessage(b"array"),
    ]
    client.text("file")
    assert client.next() == BinaryMessage(content)
    client.text("whole file")
    assert client.next() == BinaryMessage(content)
    _client_close(client, handler)


def test_file_is_sent_in_fragments(runner: Runner, tmp_path: Any) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"z" * 2500)
    handler = Handler()
    handler.file_path = str(path)
    client = runner.connect(handler)
    client.text("file")
    raw = b""
    while len(raw) < 3 * 4 + 2500:
        raw += client.sock.recv(65536)
    # Three frames: BINARY (not fin) 1000, CONTINUATION (not fin) 1000, CONTINUATION (fin) 500.
    assert raw[0] == 0x02 and raw[1] == 126 and raw[2:4] == (1000).to_bytes(2, "big")
    assert raw[1004] == 0x00 and raw[1005] == 126
    assert raw[2008] == 0x80 and raw[2009] == 126 and raw[2010:2012] == (500).to_bytes(2, "big")


def test_server_pings_keep_a_live_client(runner: Runner) -> None:
    handler = Handler()
    client = runner.connect(handler, ping_interval=0.05, ping_timeout=0.5)
    pings = 0
    deadline = time.monotonic() + 0.4
    while time.monotonic() < deadline:
        event = client.next()
        assert type(event) is Ping
        pings += 1
    assert pings >= 3
    assert not handler.closed.is_set()
    assert sum(1 for c in handler.calls if c[0] == "pong") >= 3  # the pongs reach the handler too
    _client_close(client, handler)


def test_unanswered_pings_drop_the_connection(runner: Runner) -> None:
    handler = Handler()
    client = runner.connect(handler, auto_pong=False, ping_interval=0.05, ping_timeout=0.2)
    start = time.monotonic()
    seen = client.wait_eof()
    assert any(type(e) is Ping for e in seen)
    assert handler.closed.wait(WAIT)
    assert time.monotonic() - start < 2.0
    assert handler.reason is not None and (handler.reason.code, handler.reason.message) == (1006, "Ping timeout.")


def test_open_sessions_registry() -> None:
    registry = OpenSessions()
    assert len(registry) == 0 and list(registry) == []
    registry.close_all(timeout=0.1)  # nothing to close: returns at once


def test_client_that_stops_reading_gets_everything_later(runner: Runner) -> None:
    """Echoes of a client that does not read fill the server's write buffer: the server must
    stop taking input (not buffer without bound) and deliver everything once it reads again."""
    handler = Handler()
    client = runner.connect(handler)
    payload = [bytes([i]) * 65536 for i in range(120)]
    sender = threading.Thread(target=_send_all, args=(client.binary, payload), daemon=True)
    sender.start()
    time.sleep(0.2)  # the buffers fill up
    for p in payload:
        assert client.next() == BinaryMessage(p)
    sender.join(WAIT)
    assert not sender.is_alive()
    _client_close(client, handler)


@pytest.mark.parametrize("handler_class", [Handler, AsyncHandler])
def test_close_all_from_a_callback_does_not_wait_for_itself(runner: Runner, handler_class: type[Handler]) -> None:
    handler = handler_class()
    handler.registry = runner.registry
    client = runner.connect(handler)
    start = time.monotonic()
    client.text("shutdown")
    assert client.next() == Closed(1001, "server shutdown", True)
    assert handler.closed.wait(WAIT)
    assert time.monotonic() - start < 1.0
    assert handler.reason is not None and handler.reason.code == 1001
