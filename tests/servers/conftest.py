"""Fixtures for the server-driver tests: a fake application, started servers, a raw HTTP client.

The fake dispatcher stands in for the real application: it answers with the method, path
and body it got, and a few paths exercise streaming, big bodies and slow handlers.
"""
from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable, Optional

import pytest

from naja_atra.http.errors import HttpError
from naja_atra.http.limits import Limits
from naja_atra.http.outgoing import Outgoing
from naja_atra.http.request import Request
from naja_atra.http.response import Response
from naja_atra.servers import AppLike, AsyncioServer, Server, ServerConfig, ThreadingServer

try:  # 500 clients and their server ends live in this one process
    import resource

    _soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if _soft < 4096:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, _hard), _hard))
except (ImportError, ValueError, OSError):
    pass

DRIVERS: dict[str, Callable[[AppLike, ServerConfig], Server]] = {
    "threading": ThreadingServer,
    "asyncio": AsyncioServer,
}
WAIT = 5.0  # upper bound for any single wait in these tests

BIG_PIECE = b"x" * 65536
BIG_PIECES = 64  # /big sends 4 MiB


def _answer(request: Request, status: int, body: bytes, close: bool = False) -> Outgoing:
    close = close or not request.keep_alive
    headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
    return Outgoing(status, headers, [body], close=close, version=request.version)


def _stream_in_thread(response: Response) -> None:
    """What a controller streaming from a worker thread does."""

    def produce() -> None:
        for piece in (b"first ", b"second ", b"third"):
            response.write_bytes(piece)
            time.sleep(0.01)
        response.close()

    worker = threading.Thread(target=produce)
    worker.start()
    worker.join(WAIT)


def _big_body() -> Iterator[bytes]:
    for _ in range(BIG_PIECES):
        yield BIG_PIECE


def _switch(upgrade: Callable[..., Any]) -> Outgoing:
    """A ``101`` whose ``upgrade`` takes the connection over (the WebSocket seam)."""
    return Outgoing(101, [("Upgrade", "echo"), ("Connection", "Upgrade")], upgrade=upgrade)


def _echo_socket(sock: socket.socket, leftover: bytes) -> None:
    """A threaded take-over: echo upper-cased until the client closes."""
    data = leftover
    while True:
        if data:
            sock.sendall(data.upper())
        data = sock.recv(4096)
        if not data:
            return


class _EchoProtocol(asyncio.Protocol):
    def __init__(self, transport: asyncio.Transport, leftover: bytes) -> None:
        self.transport = transport
        if leftover:
            transport.write(leftover.upper())

    def data_received(self, data: bytes) -> None:
        self.transport.write(data.upper())


@dataclass
class FakeDispatcher:
    """Echoes requests; records what it saw. ``/slow`` sleeps, ``/stream`` streams, ``/big`` is 4 MiB.

    It keeps the body contract of a real dispatcher: the body is read under ``body_limit``
    (a 413 before reading when the length says so, as soon as it passes the limit
    otherwise), and a body it could not read to its end makes the response the
    connection's last.
    """

    seen: list[tuple[str, str, bytes]] = field(default_factory=list)
    slow_seconds: float = 0.5
    body_limit: int = Limits().max_body_size

    def _open_body(self, request: Request) -> None:
        reader = request.reader
        reader.limit = self.body_limit
        reader.check_length()

    def _refused(self, request: Request, error: HttpError) -> Outgoing:
        reader = request.reader
        if not reader.done and not reader.discard_buffered():
            request.keep_alive = False
        return _answer(request, error.code, error.message.encode())

    def _common(self, request: Request, response: Response) -> Optional[Outgoing]:
        self.seen.append((request.method, request.path, request.body))
        if request.path == "/big":
            n = str(len(BIG_PIECE) * BIG_PIECES)
            return Outgoing(200, [("Content-Length", n)], _big_body(), version=request.version)
        if request.path == "/close":
            return _answer(request, 200, b"bye", close=True)
        if request.path == "/scheme":
            return _answer(request, 200, request.scheme.encode())
        if request.path == "/explode":
            raise RuntimeError("a dispatcher must not raise, but the driver survives it")
        return None

    def _echo(self, request: Request) -> Outgoing:
        text = f"{request.method} {request.path} {len(request.body)}\n".encode() + request.body
        return _answer(request, 200, text)

    def handle_sync(self, request: Request, response: Response) -> Outgoing:
        try:
            self._open_body(request)
            request.load_body_sync(1 << 20)
        except HttpError as error:
            return self._refused(request, error)
        out = self._common(request, response)
        if out is not None:
            return out
        if request.path == "/upgrade":
            return _switch(_echo_socket)
        if request.path == "/stream":
            _stream_in_thread(response)
            return Outgoing.already_sent(not request.keep_alive)
        if request.path == "/slow":
            time.sleep(self.slow_seconds)
        return self._echo(request)

    async def handle_async(self, request: Request, response: Response) -> Outgoing:
        try:
            self._open_body(request)
            await request.load_body(1 << 20)
        except HttpError as error:
            return self._refused(request, error)
        out = self._common(request, response)
        if out is not None:
            return out
        if request.path == "/upgrade":
            return _switch(_EchoProtocol)
        if request.path == "/stream":
            await asyncio.get_running_loop().run_in_executor(None, _stream_in_thread, response)
            return Outgoing.already_sent(not request.keep_alive)
        if request.path == "/slow":
            await asyncio.sleep(self.slow_seconds)
        return self._echo(request)


class FakeApp:
    """The application as the drivers see it."""

    def __init__(self) -> None:
        self._dispatcher = FakeDispatcher()

    @property
    def dispatcher(self) -> FakeDispatcher:
        return self._dispatcher


class Running:
    """A started server plus the thread that runs it."""

    def __init__(self, server: Server, thread: threading.Thread) -> None:
        self.server: Any = server
        self.thread = thread

    @property
    def port(self) -> int:
        return int(self.server.port)

    @property
    def dispatcher(self) -> FakeDispatcher:
        app: FakeApp = self.server.app
        return app.dispatcher

    def connect(self, timeout: float = WAIT) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(WAIT)
        assert not self.thread.is_alive(), "serve_forever did not return after shutdown()"


@pytest.fixture
def start_server(driver: str) -> Iterator[Callable[..., Running]]:
    """Start a server of the current driver on a free port; every one is shut down afterwards."""
    started: list[Running] = []

    def start(limits: Optional[Limits] = None, **config: Any) -> Running:
        cfg = ServerConfig(host="127.0.0.1", port=0, limits=limits or Limits(), **config)
        app = FakeApp()
        app.dispatcher.body_limit = cfg.limits.max_body_size
        server = DRIVERS[driver](app, cfg)
        server.bind()
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        running = Running(server, thread)
        started.append(running)
        assert server.ready.wait(WAIT), "server did not become ready"
        return running

    yield start
    for running in started:
        running.stop()


# -- a raw HTTP/1.1 client ----------------------------------------------------------------
@dataclass
class RawReply:
    status: int
    headers: dict[str, str]
    body: bytes


def read_reply(stream: BinaryIO) -> RawReply:
    """Read one response (interim ones too) from a socket's ``makefile("rb")``."""
    line = stream.readline()
    if not line:
        raise EOFError("connection closed before a response")
    status = int(line.split(b" ", 2)[1])
    headers: dict[str, str] = {}
    while True:
        line = stream.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if status < 200:
        return RawReply(status, headers, b"")
    if "content-length" in headers:
        body = stream.read(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        body = _read_chunked(stream)
    else:
        body = stream.read()
    return RawReply(status, headers, body)


def _read_chunked(stream: BinaryIO) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int(stream.readline().split(b";")[0], 16)
        if size == 0:
            while stream.readline() not in (b"\r\n", b""):
                pass
            return b"".join(parts)
        parts.append(stream.read(size))
        stream.readline()


def is_closed(sock: socket.socket, timeout: float = WAIT) -> bool:
    """True when the server closed the connection (EOF or reset) within ``timeout``."""
    sock.settimeout(timeout)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
