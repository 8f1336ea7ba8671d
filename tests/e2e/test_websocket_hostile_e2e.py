"""End to end, on both built-in servers: WebSocket clients that try to cost the server.

- A client that never reads while the server broadcasts large messages: every ``send``
  returns at once, a reading client keeps receiving, and the one that does not read is dropped
  (``Limits.websocket_send_buffer``; ``on_close`` with 1006) instead of holding the broadcast.
- A client that leaves one large message unread: dropped after ``Limits.write_timeout``.
- Fragment floods: many tiny continuation frames make one intact message; more frames than
  ``Limits.max_websocket_fragments`` fail the connection with 1009.

The clients are ``websocket-client`` connections and raw sockets; the "idle" client shrinks
its receive buffer so that the kernel absorbs little of what the server sends. Every receive
and every wait for a server-side callback is bounded.
"""
from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterator

import websocket
from websocket import ABNF

from naja_atra import Application, WebsocketCloseReason, WebsocketHandler, WebsocketSession
from naja_atra.servers import make_ssl_context

from ..support import Client, uvicorn_serving

Serve = Callable[..., Client]

WAIT = 5.0
KIB = 1024
SEND_BUFFER = 64 * KIB
WRITE_TIMEOUT = 1.0
#: A send that takes this long waited for a client: sends must only queue.
PROMPT = 1.0
SMALL_RCVBUF = ((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),)


class Server:
    """What the server-side callbacks saw; waits are bounded."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.closes: dict[str, WebsocketCloseReason] = {}
        self.opened: set[str] = set()
        #: Duration of every ``send`` call the handler made, in seconds.
        self.send_times: list[float] = []
        #: Bytes the handler sent to the idle session while it was still open.
        self.sent_to_idle = 0

    def wait(self, predicate: Callable[[], bool], timeout: float = WAIT) -> bool:
        with self.cond:
            return self.cond.wait_for(predicate, timeout)

    def closed(self, role: str) -> bool:
        with self.cond:
            return role in self.closes


def hostile_app(server: Server) -> Application:
    app = Application()

    @app.websocket_handler(endpoint="/ws/{role}")
    class Handler(WebsocketHandler):
        def on_open(self, session: WebsocketSession) -> None:
            with server.cond:
                server.opened.add(_role(session))
                server.cond.notify_all()

        def on_text_message(self, session: WebsocketSession, message: str) -> None:
            command, _, arg = message.partition(" ")
            if command == "broadcast":  # to every open session, the reader included
                payload = bytes([int(arg) % 256]) * (256 * KIB)
                for target in app.websocket_sessions:
                    idle = _role(target) == "idle" and not target.is_closed
                    start = time.perf_counter()
                    target.send(payload)
                    with server.cond:
                        server.send_times.append(time.perf_counter() - start)
                        if idle:
                            server.sent_to_idle += len(payload)
            elif command == "big":  # one message far larger than the kernel's buffers
                start = time.perf_counter()
                session.send(b"B" * (int(arg) * KIB * KIB))
                with server.cond:
                    server.send_times.append(time.perf_counter() - start)

        def on_binary_message(self, session: WebsocketSession, message: bytes = b"") -> None:
            session.send(message)

        def on_close(self, session: WebsocketSession, reason: WebsocketCloseReason) -> None:
            with server.cond:
                server.closes[_role(session)] = reason
                server.cond.notify_all()

    return app


def _role(session: WebsocketSession) -> str:
    return session.request.path.rsplit("/", 1)[-1]


@contextlib.contextmanager
def connect(client: Client, role: str, scheme: str = "ws", **options: Any) -> Iterator[websocket.WebSocket]:
    ws = websocket.create_connection(f"{scheme}://127.0.0.1:{client.port}/ws/{role}", timeout=WAIT, **options)
    try:
        yield ws
    finally:
        ws.close(timeout=0.5)


def raw(ws: websocket.WebSocket) -> socket.socket:
    sock = ws.sock
    assert sock is not None
    return sock


def wait_for_eof(ws: websocket.WebSocket) -> bool:
    """Read the raw socket until the server's end closes it (EOF or reset), at most WAIT seconds."""
    sock = raw(ws)
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            if not sock.recv(1024 * 1024):
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False
    return False


# -- slow clients ------------------------------------------------------------------------------


def broadcast_until_the_idle_client_is_dropped(server: Server, idle: websocket.WebSocket,
                                               reader: websocket.WebSocket) -> None:
    """The reader asks for broadcasts of 256 KiB to everyone and reads each; the idle client
    reads nothing. The kernel can hold a few MiB for the idle client at most, so it must be
    dropped well within the bound of rounds; the reader goes on being served."""
    assert server.wait(lambda: server.opened == {"idle", "reader"})
    rounds_after_drop = 0
    received = 0
    for n in range(80):
        reader.send(f"broadcast {n}")
        start = time.monotonic()
        assert reader.recv() == bytes([n % 256]) * (256 * KIB)
        assert time.monotonic() - start < WAIT
        received += 1
        if server.closed("idle"):
            rounds_after_drop += 1
            if rounds_after_drop == 3:
                break
    assert rounds_after_drop == 3, "the idle client was never dropped"
    reason = server.closes["idle"]
    assert (reason.code, reason.message) == (1006, "Send buffer full.")
    assert not server.closed("reader")
    # Every send only queued, also while the idle client had far more than its buffer unsent.
    assert server.sent_to_idle > 4 * SEND_BUFFER
    assert len(server.send_times) > received  # one per session and round
    assert max(server.send_times) < PROMPT, sorted(server.send_times)[-5:]
    assert wait_for_eof(idle), "the idle client's connection is still open"


def test_broadcast_drops_a_client_that_never_reads(serve: Serve) -> None:
    server = Server()
    client = serve(hostile_app(server), websocket_send_buffer=SEND_BUFFER, write_timeout=WRITE_TIMEOUT)
    with connect(client, "idle", sockopt=SMALL_RCVBUF) as idle, connect(client, "reader") as reader:
        broadcast_until_the_idle_client_is_dropped(server, idle, reader)


def test_over_tls_too(serve: Serve, cert_files: tuple[Path, Path]) -> None:
    """TLS sockets cannot be written without blocking the way plain ones are (the threading
    driver switches them to non-blocking mode): the same broadcast, over wss://."""
    cert, key = cert_files
    server = Server()
    client = serve(hostile_app(server), ssl_context=make_ssl_context(certfile=str(cert), keyfile=str(key)),
                   websocket_send_buffer=SEND_BUFFER, write_timeout=WRITE_TIMEOUT)
    sslopt = {"ca_certs": str(cert)}
    with connect(client, "idle", "wss", sockopt=SMALL_RCVBUF, sslopt=sslopt) as idle, \
            connect(client, "reader", "wss", sslopt=sslopt) as reader:
        broadcast_until_the_idle_client_is_dropped(server, idle, reader)
        reader.send_binary(b"echo over tls")
        assert reader.recv() == b"echo over tls"
    assert server.wait(lambda: "reader" in server.closes)
    assert server.closes["reader"].code == 1000


def test_a_client_that_leaves_a_message_unread_is_dropped_after_the_write_timeout(serve: Serve) -> None:
    server = Server()
    client = serve(hostile_app(server), websocket_send_buffer=SEND_BUFFER, write_timeout=WRITE_TIMEOUT)
    with connect(client, "idle", sockopt=SMALL_RCVBUF) as idle:
        assert server.wait(lambda: "idle" in server.opened)
        start = time.monotonic()
        idle.send("big 16")  # 16 MiB back, larger than its send buffer: still queued whole
        assert server.wait(lambda: "idle" in server.closes)
        elapsed = time.monotonic() - start
        reason = server.closes["idle"]
        assert (reason.code, reason.message) == (1006, "Write timeout.")
        assert WRITE_TIMEOUT * 0.9 <= elapsed < WAIT
        assert server.send_times and server.send_times[0] < PROMPT
        assert wait_for_eof(idle)


def test_a_slow_but_reading_client_is_not_dropped(serve: Serve) -> None:
    """A message larger than the send buffer to a client that reads it (slowly, in small
    pieces) goes through: only a client that takes nothing is dropped."""
    server = Server()
    client = serve(hostile_app(server), websocket_send_buffer=SEND_BUFFER, write_timeout=WRITE_TIMEOUT)
    with connect(client, "slow", sockopt=SMALL_RCVBUF) as slow:
        slow.send("big 2")
        assert slow.recv() == b"B" * (2 * KIB * KIB)
        slow.send_binary(b"still open")
        assert slow.recv() == b"still open"
    assert server.wait(lambda: "slow" in server.closes)
    assert server.closes["slow"].code == 1000


# -- fragment floods ---------------------------------------------------------------------------


def fragmented(opcode: int, pieces: list[bytes]) -> bytes:
    """A masked message, one frame per piece (the client's own encoder)."""
    last = len(pieces) - 1
    return b"".join(
        ABNF.create_frame(piece, opcode if i == 0 else ABNF.OPCODE_CONT, fin=int(i == last)).format()
        for i, piece in enumerate(pieces)
    )


def test_twenty_thousand_one_byte_fragments_make_one_message(serve: Serve) -> None:
    server = Server()
    client = serve(hostile_app(server))
    pieces = [bytes([i % 251]) for i in range(20_000)]
    with connect(client, "echo") as ws:
        raw(ws).sendall(fragmented(ABNF.OPCODE_BINARY, pieces))
        assert ws.recv() == b"".join(pieces)
        ws.send_binary(b"next")
        assert ws.recv() == b"next"


def test_more_fragments_than_the_limit_fail_with_1009(serve: Serve) -> None:
    server = Server()
    client = serve(hostile_app(server), max_websocket_fragments=100)
    with connect(client, "echo") as ws:
        raw(ws).sendall(fragmented(ABNF.OPCODE_BINARY, [b"x"] * 100))  # at the limit: fine
        assert ws.recv() == b"x" * 100
        raw(ws).sendall(fragmented(ABNF.OPCODE_BINARY, [b"y"] * 101))
        frame = ws.recv_frame()  # type: ignore[no-untyped-call]
        assert frame.opcode == ABNF.OPCODE_CLOSE
        assert struct.unpack("!H", frame.data[:2])[0] == 1009
    assert server.wait(lambda: "echo" in server.closes)
    assert server.closes["echo"].code == 1009


# -- under an ASGI server ----------------------------------------------------------------------


@contextlib.contextmanager
def uvicorn_client(app: Application) -> Iterator[Client]:
    """``app`` under uvicorn in a thread (``tests/support.py``), as a ``Client``."""
    with uvicorn_serving(app) as port:
        yield Client(port)


def test_under_asgi_a_client_that_never_reads_is_dropped_too() -> None:
    """The ASGI server does the writing: a client that does not read makes its
    ``websocket.send`` wait, our queue in front of it fills, and the session is dropped
    (``on_close`` 1006) while the broadcast and the reader go on. (Closing that TCP connection
    is then the ASGI server's business.)"""
    server = Server()
    app = hostile_app(server)
    app.limits = replace(app.limits, websocket_send_buffer=SEND_BUFFER, write_timeout=WRITE_TIMEOUT)
    with uvicorn_client(app) as client:
        with connect(client, "idle", sockopt=SMALL_RCVBUF), connect(client, "reader") as reader:
            assert server.wait(lambda: server.opened == {"idle", "reader"})
            for n in range(80):
                reader.send(f"broadcast {n}")
                assert reader.recv() == bytes([n % 256]) * (256 * KIB)
                if server.closed("idle"):
                    break
            assert server.wait(lambda: "idle" in server.closes)
            reason = server.closes["idle"]
            assert reason.code == 1006 and reason.message in ("Send buffer full.", "Write timeout.")
            assert max(server.send_times) < PROMPT
            reader.send("broadcast 7")
            assert reader.recv() == bytes([7]) * (256 * KIB)
            assert not server.closed("reader")


def test_under_asgi_a_send_the_server_does_not_complete_drops_the_client() -> None:
    """The first large message fills the ASGI server's buffer; the server makes the next
    ``websocket.send`` wait for the client, which never reads: after the write timeout the
    session is dropped. (A send buffer larger than both messages: only the timeout applies.)"""
    server = Server()
    app = hostile_app(server)
    app.limits = replace(app.limits, websocket_send_buffer=64 * KIB * KIB, write_timeout=WRITE_TIMEOUT)
    with uvicorn_client(app) as client, connect(client, "idle", sockopt=SMALL_RCVBUF) as idle:
        assert server.wait(lambda: "idle" in server.opened)
        start = time.monotonic()
        idle.send("big 4")
        idle.send("big 4")
        assert server.wait(lambda: "idle" in server.closes)
        reason = server.closes["idle"]
        assert (reason.code, reason.message) == (1006, "Write timeout.")
        assert WRITE_TIMEOUT * 0.9 <= time.monotonic() - start < WAIT
        assert max(server.send_times) < PROMPT
