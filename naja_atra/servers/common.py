"""What both server drivers share: the application protocols, the request cycle of a
connection, the response channel, listening.

The drivers only move bytes: turning them into requests is the sans-I/O
:class:`~naja_atra.http.connection.RequestReader`'s job, and turning responses into bytes
:mod:`naja_atra.http.wire`'s, so the threading and the asyncio server frame, limit and
answer malformed input identically.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any, Awaitable, Callable, Optional, Protocol

from ..http.outgoing import Outgoing
from ..http.parser import RequestHead
from ..http.request import Request
from ..http.request_body import RequestBodyReader
from ..http.response import Response
from ..http.wire import StreamFramer, error_bytes
from .config import ServerConfig

__all__ = [
    "DispatcherLike", "AppLike", "Server", "BaseServer", "RequestCycle", "StreamChannel", "create_listener",
    "client_address", "logger", "ABORT_BUDGET", "drain_grace", "make_last", "REFUSED",
]

logger = logging.getLogger("naja_atra.server")


class DispatcherLike(Protocol):
    """What a driver calls per request; neither method raises (errors become responses)."""

    def handle_sync(self, request: Request, response: Response) -> Outgoing:
        """Handle a request on the calling (connection) thread."""
        ...

    async def handle_async(self, request: Request, response: Response) -> Outgoing:
        """Handle a request on the event loop."""
        ...


class AppLike(Protocol):
    """The application as a driver sees it: a dispatcher, built on first use."""

    @property
    def dispatcher(self) -> DispatcherLike:
        """The current dispatcher; cheap to read once built, rebuilt after registrations."""
        ...


class Server(Protocol):
    """The interface every server driver implements.

    ``bind()`` opens the listening socket (``port`` then holds the real port),
    ``serve_forever()`` blocks until the server has stopped, ``serve()`` does the same as a
    coroutine in the caller's loop.

    Stopping comes in two steps, both idempotent and callable from any thread (a signal
    handler included):

    - ``stop_accepting()`` closes the listening socket (a new connection is refused from
      then on) and the idle keep-alive connections, and makes the request each busy
      connection is handling its last (its response says ``Connection: close``). In-flight
      requests, requests still being received and upgraded (WebSocket) connections go on.
    - ``shutdown(timeout)`` does the same if not yet done, closes the upgraded connections,
      lets in-flight requests finish for ``timeout`` seconds, then aborts what is left.
      Without ``timeout`` it uses ``config.shutdown_grace`` (at most 0.9 s) and returns
      within 2 s; with one, within ``timeout`` + 1 s. A later call with a shorter timeout
      brings the cut-off forward (``shutdown(0)``: abort now).

    ``serve_forever()``/``serve()`` return once every connection is closed, so what runs
    after them (the lifespan exit) never overlaps a request still being handled.
    """

    app: AppLike
    config: ServerConfig
    ready: threading.Event

    @property
    def port(self) -> int:
        """The port listened on (the OS's pick when configured with 0, once bound)."""
        ...

    @property
    def connection_count(self) -> int:
        """How many client connections are open right now."""
        ...

    def bind(self) -> None:
        """Create the listening socket."""
        ...

    def serve_forever(self) -> None:
        """Accept and serve connections until stopped and drained."""
        ...

    async def serve(self) -> None:
        """Serve until stopped and drained, awaited in the caller's running loop."""
        ...

    def stop_accepting(self) -> None:
        """Close the port and the idle connections; the in-flight requests become the last."""
        ...

    def shutdown(self, timeout: Optional[float] = None) -> None:
        """Stop accepting, let in-flight requests finish within ``timeout``, close everything."""
        ...

    def is_ready(self) -> bool:
        """True while the server accepts connections."""
        ...


#: After the cut-off of a shutdown, how long (s) it waits for the aborted connections to end.
ABORT_BUDGET = 0.9
#: The answer to a connection past ``max_connections`` when no idle one can make room.
REFUSED = error_bytes(503, "Service Unavailable")


def drain_grace(config: ServerConfig, timeout: Optional[float]) -> float:
    """Seconds in-flight requests get in ``shutdown(timeout)``: ``timeout`` when given, else
    ``config.shutdown_grace`` capped so that a plain ``shutdown()`` stays within 2 s."""
    if timeout is None:
        return max(0.0, min(config.shutdown_grace, ABORT_BUDGET))
    return max(0.0, timeout)


def make_last(request: Request) -> None:
    """Make ``request`` the last of its connection: the application then answers with
    ``Connection: close`` and the driver closes the connection after the response.

    An upgrade request is left alone: its ``101`` must keep ``Connection: Upgrade`` (the
    driver still closes the connection after any other answer when it is stopping).
    """
    if request.upgrade is None:
        request.keep_alive = False


class RequestCycle:
    """The request accounting of one connection: how many it served, whether the next one
    must be its last (``keep_alive_max_requests``, or the server is stopping), whether it
    may go on after a response."""

    __slots__ = ("served", "max_requests")

    def __init__(self, max_requests: int) -> None:
        self.served = 0
        self.max_requests = max_requests

    def begin(self, head: RequestHead, body: RequestBodyReader, channel: StreamChannel,
              address: Optional[tuple[str, int]],
              scheme: str, stopping: bool) -> tuple[Request, Response]:
        """The request and its live response. A request the connection will not outlive is
        made the last before the application sees it, so its response says
        ``Connection: close``."""
        request = Request(head, body, client_address=address, scheme=scheme)
        limit = self.max_requests
        if stopping or (limit and self.served + 1 >= limit):
            make_last(request)
        response = Response()
        response.bind(request, channel)
        return request, response

    def end(self, request: Request, out: Outgoing, channel: StreamChannel, stopping: bool) -> bool:
        """Count the request served; True when the connection may serve another one."""
        self.served += 1
        limit = self.max_requests
        if out.close or not request.keep_alive or stopping or (limit and self.served >= limit):
            channel.finish()
            return False
        return not (out.streamed and channel.finish())


class StreamChannel:
    """The response channel of a socket connection: a streamed body (``write_bytes``)
    framed for HTTP/1.x (:class:`~naja_atra.http.wire.StreamFramer`) and handed to the
    driver's ``send``, which must be callable from any thread and applies the backpressure
    :class:`~naja_atra.http.response.Channel` describes (what it returns is what ``write``
    returns). One per connection: its requests stream one at a time."""

    __slots__ = ("_send", "_framer")

    def __init__(self, send: Callable[[bytes], Optional[Awaitable[None]]]) -> None:
        self._send = send
        self._framer: Optional[StreamFramer] = None

    def start(self, request: Request, status: int, headers: list[tuple[str, str]]) -> None:
        """Send the head of a streamed response."""
        framer = self._framer = StreamFramer(request.version, request.method == "HEAD", request.keep_alive)
        self._send(framer.head(status, headers))

    def write(self, data: bytes) -> Optional[Awaitable[None]]:
        """Send one body piece."""
        framer = self._framer
        assert framer is not None, "start() comes first"
        piece = framer.piece(data)
        return self._send(piece) if piece else None

    def end(self) -> None:
        """Send what ends the body."""
        framer = self._framer
        assert framer is not None, "start() comes first"
        tail = framer.end()
        if tail:
            self._send(tail)

    def finish(self) -> bool:
        """After a response: forget its stream; True when it was close-delimited (the
        connection must close for its body to end)."""
        framer, self._framer = self._framer, None
        return framer is not None and framer.close_delimited


def create_listener(host: str, port: int, backlog: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``""``: every IPv4 interface; port 0: any free one).

    ``SO_REUSEADDR`` lets a restarted server bind while old connections sit in TIME_WAIT
    (POSIX only: on Windows it would let another process steal the port).
    """
    address: Any
    if host in ("", "0.0.0.0"):
        family, address = socket.AF_INET, ("", port)
    else:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
        family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if os.name == "posix":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def set_nodelay(sock: Optional[socket.socket]) -> None:
    """Turn Nagle's algorithm off: a response head and body must not wait for an ACK."""
    if sock is None:
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):
        pass  # not a TCP socket (a UNIX socket in a test, say)


def internal_error(exc: BaseException) -> Outgoing:
    """What a driver sends when the application itself failed (it promises not to)."""
    logger.error("the application failed to handle a request", exc_info=exc)
    return Outgoing.error(500, "Internal Server Error")


def client_address(peer: Any) -> Optional[tuple[str, int]]:
    """``(host, port)`` of a peer name (IPv6 names carry two more fields, dropped here)."""
    if isinstance(peer, tuple) and len(peer) >= 2:
        return str(peer[0]), int(peer[1])
    return None


class BaseServer:
    """The state and listening socket both drivers share."""

    def __init__(self, app: AppLike, config: Optional[ServerConfig] = None) -> None:
        self.app: AppLike = app
        self.config: ServerConfig = config if config is not None else ServerConfig()
        self.ready = threading.Event()
        self.scheme: str = self.config.scheme
        self._listener: Optional[socket.socket] = None
        self._port: int = self.config.port
        # Reentrant: shutdown() may run in a signal handler on a thread that holds it.
        self._bind_lock = threading.RLock()

    @property
    def port(self) -> int:
        """The port listened on: the configured one, or the OS's pick for 0 once bound."""
        return self._port

    def bind(self) -> None:
        """Create the listening socket (once; later calls do nothing)."""
        with self._bind_lock:
            if self._listener is not None:
                return
            cfg = self.config
            self._listener = create_listener(cfg.host, cfg.port, cfg.backlog)
            self._port = int(self._listener.getsockname()[1])

    def is_ready(self) -> bool:
        """True while the server accepts connections."""
        return self.ready.is_set()

    def _close_listener(self) -> None:
        with self._bind_lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
