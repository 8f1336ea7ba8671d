"""Slow and stalled clients on both connection runners, over real loopback sockets.

Sends only queue: they return at once from any thread, whatever the client does; the queue
keeps the wire order (messages, streamed files, the close frame); a client that does not keep
up is dropped with 1006 ("Send buffer full." past ``send_buffer``, "Write timeout." after
``write_timeout`` without progress). The runners and the client are those of
``runners_support``, the handler that of ``test_runners``.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from naja_atra.websocket.protocol import BinaryMessage, Closed, TextMessage, WebSocketProtocol
from naja_atra.websocket.session import ConnectionSession

from .runners_support import WAIT, Runner, WsClient
from .test_runners import Handler

KIB = 1024
MIB = 1024 * KIB
#: A send that takes this long waited for the client: sends must only queue.
PROMPT = 1.0


def _session(handler: Handler) -> ConnectionSession:
    assert handler.opened.wait(WAIT)
    assert handler.session is not None
    return handler.session


def _timed(call: object, *args: object) -> float:
    start = time.perf_counter()
    call(*args)  # type: ignore[operator]
    return time.perf_counter() - start


def _read_until_closed(client: WsClient) -> list[object]:
    """Every event until the server's close frame (inclusive), then until TCP ends."""
    events: list[object] = []
    while True:
        event = client.next()
        events.append(event)
        if type(event) is Closed:
            client.wait_eof()
            return events


def test_sends_from_another_thread_drop_a_client_that_does_not_read(runner: Runner) -> None:
    handler = Handler()
    runner.connect(handler, send_buffer=256 * KIB, write_timeout=5.0)  # the client never reads
    session = _session(handler)
    payload = b"p" * (256 * KIB)
    durations = []
    for _ in range(100):  # 25 MiB: far more than the kernel's buffers and the send buffer
        if handler.closed.is_set():
            break
        durations.append(_timed(session.send_binary, payload))
    assert handler.closed.wait(WAIT), "the client was never dropped"
    assert handler.reason is not None
    assert (handler.reason.code, handler.reason.message) == (1006, "Send buffer full.")
    assert max(durations) < PROMPT, sorted(durations)[-3:]
    assert session.is_closed
    assert _timed(session.send_binary, payload) < PROMPT  # a no-op now


def test_a_stalled_client_is_dropped_after_the_write_timeout(runner: Runner) -> None:
    handler = Handler()
    runner.connect(handler, write_timeout=0.5)
    session = _session(handler)
    start = time.monotonic()
    assert _timed(session.send_binary, b"s" * (16 * MIB)) < PROMPT  # alone in the queue: taken whole
    assert handler.closed.wait(WAIT)
    assert time.monotonic() - start >= 0.45
    assert handler.reason is not None
    assert (handler.reason.code, handler.reason.message) == (1006, "Write timeout.")


def test_queued_messages_and_the_close_frame_keep_their_order(runner: Runner) -> None:
    """Queued while the client does not read, then read: all of it, in order, the close last."""
    handler = Handler()
    client = runner.connect(handler)
    session = _session(handler)
    big = os.urandom(3 * MIB)
    assert _timed(session.send_binary, big) < PROMPT
    threads = [threading.Thread(target=session.send_text, args=(f"t{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
        thread.join(WAIT)
    session.close("done", 4000)
    assert _read_until_closed(client) == [
        BinaryMessage(big), TextMessage("t0"), TextMessage("t1"), TextMessage("t2"), Closed(4000, "done", True),
    ]
    assert handler.closed.wait(WAIT)
    assert handler.reason is not None and handler.reason.code == 4000


def test_the_close_reply_waits_behind_queued_data(runner: Runner) -> None:
    """The client closes while much of our data is still queued: the reply goes out after it,
    and the closing handshake completes."""
    handler = Handler()
    client = runner.connect(handler)
    session = _session(handler)
    big = os.urandom(6 * MIB)
    session.send_binary(big)
    client.close(1000, "bye")
    # The client's core drops data that comes after its close: parse the wire with a fresh one.
    wire = bytearray()
    while True:
        data = client.sock.recv(1024 * 1024)
        if not data:
            break
        wire += data
    assert WebSocketProtocol(client_side=True).receive_data(bytes(wire)) == [
        BinaryMessage(big), Closed(1000, "", True)]
    assert handler.closed.wait(WAIT)
    assert handler.reason is not None and (handler.reason.code, handler.reason.reason) == (1000, "bye")


def test_send_file_streams_without_waiting(runner: Runner, tmp_path: Path) -> None:
    content = os.urandom(5 * MIB + 123)
    path = tmp_path / "big.bin"
    path.write_bytes(content)
    handler = Handler()
    client = runner.connect(handler, send_buffer=256 * KIB)
    session = _session(handler)
    # Larger than the send buffer, to a client not reading yet: streamed, not refused.
    assert _timed(session.send_file, str(path), 64 * KIB) < PROMPT
    session.send_text("after the file")
    assert client.next() == BinaryMessage(content)
    assert client.next() == TextMessage("after the file")
    client.close(1000, "done")
    client.wait_eof()
    assert handler.closed.wait(WAIT)
    assert handler.reason is not None and handler.reason.code == 1000


def test_send_file_of_an_empty_file_and_a_missing_file(runner: Runner, tmp_path: Path) -> None:
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    handler = Handler()
    client = runner.connect(handler)
    session = _session(handler)
    session.send_file(str(empty), 10)
    assert client.next() == BinaryMessage(b"")
    try:
        session.send_file(str(tmp_path / "missing.bin"), 10)
    except OSError:
        pass
    else:
        raise AssertionError("a missing file must raise OSError")
    session.send_text("still open")
    assert client.next() == TextMessage("still open")
