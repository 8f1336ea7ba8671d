"""Hostile load, scaled down, on both built-in servers over real sockets: slowloris against a
small worker pool, ``max_connections``, the minimum receive rate, and streamed responses to
clients that stop reading or go away (backpressure, ``write_timeout``, ``ClientDisconnected``).

``benchmarks/hostile.py`` runs the full-size versions and prints memory and latency.
"""
from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from naja_atra import Application, Request, Response
from naja_atra.http.errors import ClientDisconnected

from ..support import HOST, WAIT, serving, wait_until

DRIVERS = ["threading", "asyncio"]
PIECE = b"x" * 65536


def _connect(port: int) -> socket.socket:
    return socket.create_connection((HOST, port), timeout=WAIT)


def _read_reply(sock: socket.socket) -> bytes:
    """Everything until the server closes (bounded by the socket timeout)."""
    chunks = []
    while True:
        try:
            data = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


def _hello_app(**options: Any) -> Application:
    app = Application(load_entry_points=False, **options)

    @app.route("/hello")
    def hello() -> str:
        return "hello"

    @app.route("/upload", method="POST")
    def upload(request: Request) -> str:
        return str(len(request.body))

    return app


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    """Client sockets a test opens; all closed afterwards."""
    opened: list[socket.socket] = []
    yield opened
    for sock in opened:
        sock.close()


# -- slowloris ---------------------------------------------------------------------------------


@pytest.mark.parametrize("driver", DRIVERS)
def test_slowloris_connections_cost_no_thread_and_stall_no_one(driver: str, sockets: list[socket.socket]) -> None:
    """The table's 6,000-connection row scaled down: 200 clients each holding a partial head
    against a pool of 8 workers. The server keeps every connection open without a thread
    per connection, and a normal client is answered at once."""
    threads_before = threading.active_count()
    app = _hello_app()
    with serving(app, driver, worker_threads=8) as client:
        app_server = app.server
        assert app_server is not None
        for _ in range(200):
            sock = _connect(client.port)
            sock.sendall(b"GET /hello HTTP/1.1\r\nHost: t\r\nX-Slow: ")
            sockets.append(sock)
        assert wait_until(lambda: app_server.connection_count >= 200)
        for _ in range(5):
            assert client.get("/hello").text == "hello"
        # The selector (or the event loop) holds the 200: a handful of threads, not 200.
        assert threading.active_count() - threads_before <= 8 + 4
        if driver == "threading":
            assert app_server.worker_count <= 8  # type: ignore[attr-defined]


# -- max_connections ---------------------------------------------------------------------------


@pytest.mark.parametrize("driver", DRIVERS)
def test_past_max_connections_the_oldest_idle_connection_makes_room(driver: str, sockets: list[socket.socket]) -> None:
    with serving(_hello_app(), driver, max_connections=20) as client:
        for _ in range(20):
            sock = _connect(client.port)
            sock.sendall(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")  # served, then idle keep-alive
            sockets.append(sock)
        assert client.get("/hello").text == "hello"  # connection 21
        oldest = sockets[0]
        assert oldest.recv(1) == b""  # closed to make room
        for sock in sockets[1:]:  # the others are still there
            sock.sendall(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("driver", DRIVERS)
def test_past_max_connections_with_none_idle_the_new_one_is_refused(driver: str, sockets: list[socket.socket]) -> None:
    app = _hello_app()
    with serving(app, driver, max_connections=20) as client:
        server = app.server
        assert server is not None
        for _ in range(20):
            sock = _connect(client.port)
            sock.sendall(b"GET /hello HTTP/1.1\r\n")  # a request on its way: not idle
            sockets.append(sock)
        assert wait_until(lambda: server.connection_count == 20)
        refused = _connect(client.port)
        sockets.append(refused)
        assert _read_reply(refused).startswith(b"HTTP/1.1 503 ")
        for sock in sockets[:20]:  # they finish their requests
            sock.sendall(b"Host: t\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")


# -- the minimum receive rate --------------------------------------------------------------


RATE = {"min_receive_rate": 1000, "receive_rate_window": 0.5, "body_timeout": 30.0, "header_timeout": 30.0}


def _trickle(sock: socket.socket, data: bytes, piece: int, pause: float, until: float) -> None:
    """Send ``data`` ``piece`` bytes at a time; stop early when the server has closed."""
    for start in range(0, len(data), piece):
        if time.monotonic() > until:
            return
        try:
            sock.sendall(data[start:start + piece])
        except OSError:
            return
        time.sleep(pause)


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_body_trickled_below_the_minimum_rate_gets_408(driver: str, sockets: list[socket.socket]) -> None:
    """10 bytes every 0.1 s never leaves body_timeout (30 s) of silence, yet is far below
    1,000 bytes/s: refused after a window or two, not after minutes."""
    with serving(_hello_app(), driver, **RATE) as client:
        sock = _connect(client.port)
        sockets.append(sock)
        started = time.monotonic()
        sock.sendall(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n")
        feeder = threading.Thread(target=_trickle, args=(sock, b"y" * 100000, 10, 0.1, started + WAIT))
        feeder.start()
        reply = _read_reply(sock)
        feeder.join(WAIT)
        assert reply.startswith(b"HTTP/1.1 408 "), reply[:100]
        assert time.monotonic() - started < WAIT


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_body_at_a_decent_rate_is_not_cut(driver: str, sockets: list[socket.socket]) -> None:
    with serving(_hello_app(), driver, **RATE) as client:
        sock = _connect(client.port)
        sockets.append(sock)
        sock.sendall(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 20000\r\nConnection: close\r\n\r\n")
        _trickle(sock, b"y" * 20000, 2000, 0.1, time.monotonic() + WAIT)  # ~20 kB/s for 1 s
        reply = _read_reply(sock)
        assert reply.startswith(b"HTTP/1.1 200 ") and reply.endswith(b"20000"), reply[:100]


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_head_trickled_below_the_minimum_rate_gets_408(driver: str, sockets: list[socket.socket]) -> None:
    with serving(_hello_app(), driver, **RATE) as client:
        sock = _connect(client.port)
        sockets.append(sock)
        started = time.monotonic()
        head = b"GET /hello HTTP/1.1\r\nHost: t\r\n" + b"X-Pad: " + b"p" * 4000 + b"\r\n\r\n"
        feeder = threading.Thread(target=_trickle, args=(sock, head, 5, 0.1, started + WAIT))
        feeder.start()
        reply = _read_reply(sock)
        feeder.join(WAIT)
        assert reply.startswith(b"HTTP/1.1 408 "), reply[:100]
        assert time.monotonic() - started < WAIT


# -- streamed responses: backpressure, write_timeout, disconnects ---------------------------


class StreamLog:
    """What a streaming controller saw: bytes it got through, and how it ended."""

    def __init__(self) -> None:
        self.sent = 0
        self.error: BaseException | None = None
        self.done = threading.Event()

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        """Around a controller's body: keep what ends it, then say it ended."""
        try:
            yield
        except BaseException as exc:
            self.error = exc
            raise
        finally:
            self.done.set()


def _streaming_app(log: StreamLog, total: int, pause: float = 0.0, **options: Any) -> Application:
    app = Application(load_entry_points=False, **options)

    @app.route("/stream")
    def stream(response: Response) -> None:
        with log.recording():
            while log.sent < total:
                response.write_bytes(PIECE)
                log.sent += len(PIECE)
                if pause:
                    time.sleep(pause)
            response.close()

    @app.route("/astream")
    async def astream(response: Response) -> None:
        with log.recording():
            while log.sent < total:
                await response.write_bytes(PIECE)
                log.sent += len(PIECE)
            response.close()

    return app


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_client_that_does_not_read_holds_the_writer_then_loses_its_connection(
        driver: str, sockets: list[socket.socket]) -> None:
    """64 MiB streamed to a client that reads nothing: the writer waits for it (no buffering
    of the whole response) and, after ``write_timeout``, gets ``ClientDisconnected``."""
    log = StreamLog()
    with serving(_streaming_app(log, 64 * 1024 * 1024), driver, write_timeout=0.5) as client:
        sock = _connect(client.port)
        sockets.append(sock)
        sock.sendall(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
        assert log.done.wait(WAIT + 5)
        assert isinstance(log.error, ClientDisconnected), log.error
        # The kernel buffers of both ends plus a piece or two: far from the 64 MiB.
        assert log.sent < 24 * 1024 * 1024, log.sent


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_client_that_goes_away_mid_stream_stops_the_writer(driver: str, sockets: list[socket.socket]) -> None:
    log = StreamLog()
    with serving(_streaming_app(log, 1024 * 1024 * 1024, pause=0.01), driver) as client:
        sock = _connect(client.port)
        sock.sendall(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        sock.close()
        assert log.done.wait(WAIT)
        assert isinstance(log.error, ClientDisconnected), log.error


def test_an_async_controller_awaiting_its_writes_streams_all_to_a_reader() -> None:
    log = StreamLog()
    total = 8 * 1024 * 1024
    with serving(_streaming_app(log, total), "asyncio") as client:
        reply = client.get("/astream")
        assert len(reply.body) == total
        assert log.error is None


def test_an_async_controller_awaiting_its_writes_is_told_when_the_client_does_not_read(
        sockets: list[socket.socket]) -> None:
    log = StreamLog()
    with serving(_streaming_app(log, 64 * 1024 * 1024), "asyncio", write_timeout=0.5) as client:
        sock = _connect(client.port)
        sockets.append(sock)
        sock.sendall(b"GET /astream HTTP/1.1\r\nHost: t\r\n\r\n")
        assert log.done.wait(WAIT + 5)
        assert isinstance(log.error, ClientDisconnected), log.error
        assert log.sent < 24 * 1024 * 1024, log.sent


@pytest.mark.parametrize("driver", DRIVERS)
def test_clients_reset_around_the_header_timeout_leave_no_error(
    driver: str, sockets: list[socket.socket], caplog: pytest.LogCaptureFixture
) -> None:
    """Clients holding a partial head reset their connections just before, at, and just after
    the 408 timer: whichever comes first, the server logs no error and keeps serving.

    Which side wins each race is up to the scheduler, so this spreads 40 resets over the
    deadline rather than pinning one order."""
    timeout = 0.4
    with serving(_hello_app(), driver, header_timeout=timeout) as client:
        for _ in range(40):
            sock = _connect(client.port)
            sockets.append(sock)
            sock.sendall(b"GET /hello HTTP/1.1\r\nHost: t\r\n")
        started = time.monotonic()
        for index, sock in enumerate(sockets):
            delay = timeout - 0.1 + index * 0.005 - (time.monotonic() - started)
            if delay > 0:
                time.sleep(delay)
            # SO_LINGER 0: close sends a reset, the server's next write or shutdown fails
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.close()
        time.sleep(timeout)
        assert client.get("/hello").body == b"hello"
    errors = [record for record in caplog.records if record.levelname in ("ERROR", "CRITICAL")]
    assert errors == [], [record.getMessage() for record in errors]
