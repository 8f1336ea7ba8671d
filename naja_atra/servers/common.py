"""What both server drivers share: the application protocols, the request reader, listening.

The drivers only move bytes; turning them into requests is :class:`RequestReader`'s job
(itself a thin loop over the sans-I/O parser and body decoders), so the threading and the
asyncio server frame, limit and answer malformed input identically.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from typing import TYPE_CHECKING, Any, Optional, Protocol

from ..http.body import BodyDecoder, body_decoder
from ..http.errors import ProtocolError
from ..http.limits import Limits
from ..http.outgoing import Outgoing
from ..http.parser import RequestHead, parse_head
from ..http.wire import error_bytes
from .config import ServerConfig

if TYPE_CHECKING:
    from ..http.request import Request
    from ..http.response import Response

__all__ = [
    "DispatcherLike", "AppLike", "Server", "BaseServer", "RequestReader", "create_listener",
    "client_address", "logger", "NEED_DATA", "CONTINUE", "REQUEST", "ERROR", "IDLE", "HEAD", "BODY",
    "ABORT_BUDGET", "drain_grace", "make_last",
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


# -- events of RequestReader.next_event -------------------------------------------------
NEED_DATA = 0  #: read more bytes, then call next_event again
CONTINUE = 1  #: send ``100 Continue`` now, the client waits for it before the body
REQUEST = 2  #: a whole request is ready: :meth:`RequestReader.take`
ERROR = 3  #: answer :attr:`RequestReader.error` and close

# -- phases (what the reader waits for; drivers pick the timeout from it) -------------------
IDLE = 0  #: nothing of the next request received yet
HEAD = 1  #: part of a request head received
BODY = 2  #: the head is complete, the body is not


class RequestReader:
    """Turns the bytes of one connection into complete requests (head and whole body).

    A driver appends what it reads to :attr:`buf` (or calls :meth:`feed`) and calls
    :meth:`next_event` until it says ``NEED_DATA``. Pipelined requests stay in ``buf``
    and come out one by one, in order.
    """

    __slots__ = ("buf", "error", "_limits", "_head", "_decoder", "_parts", "_size", "_ready")

    def __init__(self, limits: Limits) -> None:
        self.buf = bytearray()
        self.error: Optional[ProtocolError] = None
        self._limits = limits
        self._head: Optional[RequestHead] = None
        self._decoder: Optional[BodyDecoder] = None
        self._parts: list[bytes] = []
        self._size = 0
        self._ready: Optional[tuple[RequestHead, bytes]] = None

    @property
    def phase(self) -> int:
        """``IDLE``, ``HEAD`` or ``BODY``: what the reader is waiting for."""
        if self._head is not None:
            return BODY
        return HEAD if self.buf else IDLE

    def feed(self, data: bytes) -> None:
        """Append bytes read from the connection."""
        self.buf += data

    def take(self) -> tuple[RequestHead, bytes]:
        """The request announced by ``REQUEST``: its head and whole body."""
        ready = self._ready
        assert ready is not None, "take() follows a REQUEST event"
        self._ready = None
        return ready

    def next_event(self) -> int:
        """What the driver should do next; see ``NEED_DATA``, ``CONTINUE``, ``REQUEST``, ``ERROR``."""
        try:
            if self._head is None:
                return self._read_head()
            return self._read_body()
        except ProtocolError as exc:
            self.error = exc
            return ERROR

    def _read_head(self) -> int:
        buf = self.buf
        if not buf:
            return NEED_DATA
        parsed = parse_head(buf, self._limits)
        if parsed is None:
            return NEED_DATA
        head, consumed = parsed
        del buf[:consumed]
        length = head.content_length
        if length is not None and length > self._limits.max_body_size:
            # The parser refuses this already; kept so the promise does not hang on it.
            raise ProtocolError(413, "Content Too Large", "Request body too large")
        decoder = body_decoder(head, self._limits)
        if decoder is None or decoder.done:
            self._ready = (head, b"")
            return REQUEST
        self._head = head
        self._decoder = decoder
        if head.expect_continue and not buf:
            # The client holds the body back until it hears from us; a client that sent it
            # anyway gets no interim response (it would be noise).
            return CONTINUE
        return self._read_body()

    def _read_body(self) -> int:
        decoder = self._decoder
        assert decoder is not None and self._head is not None
        if self.buf:
            data, leftover = decoder.feed(bytes(self.buf))
            self.buf = bytearray(leftover)
            if data:
                self._size += len(data)
                if self._size > self._limits.max_body_size:
                    raise ProtocolError(413, "Content Too Large", "Request body too large")
                self._parts.append(data)
        if not decoder.done:
            return NEED_DATA
        parts = self._parts
        body = parts[0] if len(parts) == 1 else b"".join(parts)
        self._ready = (self._head, body)
        self._head = None
        self._decoder = None
        self._parts = []
        self._size = 0
        return REQUEST


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
    return Outgoing(error_bytes(500, "Internal Server Error"), (), close=True)


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
