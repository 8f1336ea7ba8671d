"""A WebSocket connection on the threading driver: a blocking receive loop on the connection's thread.

The socket stays in plain blocking mode (no Python-level timeout): a timeout makes every
``recv`` poll first, which costs ~20% of a small-message round trip. (A TLS socket is the
exception: see :mod:`.socket_sink`.) What needs a clock -- the wait for the peer's close reply,
the optional keepalive pings, write deadlines -- runs on the shared reactor thread
(:mod:`.reactor`) whose callbacks never block: a deadline that passes shuts the socket down,
which wakes the blocked ``recv``.

Writing never blocks anyone: frames go through the session's :class:`~.socket_sink.SocketSink`,
straight to the socket when it takes them, else queued for the reactor to write as the client
drains. A client that does not keep up is dropped (``Limits.websocket_send_buffer``,
``Limits.write_timeout``; ``on_close`` gets 1006). Backpressure on the client's own input is
kept: before handling its next message the connection thread waits until our earlier frames to
it are (mostly) written, so a client that sends faster than it reads our replies stops being
read rather than being dropped.

Callbacks run on the connection thread, one at a time and in order; an ``async`` callback runs
to completion on an event loop that belongs to this connection (created on first need, closed
at the end), so tasks it spawns only progress while one of its callbacks is running.
"""
from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from typing import Any, Awaitable, Callable, Optional

from ..http.request import Request
from .api import WebsocketCloseReason
from .endpoint import Endpoint
from .protocol import Closed, Event, Pong, WebSocketProtocol
from .reactor import REACTOR, Timer
from .session import (
    MESSAGE_LOST,
    MESSAGE_PING_TIMEOUT,
    ConnectionSession,
    EventDispatcher,
    SessionRegistry,
    closed_reason,
    is_awaitable,
    logger,
    lost_reason,
)
from .socket_sink import SocketSink

__all__ = ["run_threaded", "RECV_SIZE", "CLOSE_TIMEOUT"]

RECV_SIZE = 64 * 1024
#: How long (s) we wait for the peer's close frame after sending ours.
CLOSE_TIMEOUT = 2.0
#: After the closing handshake: how long (s) and how much we read and discard while waiting for
#: the peer to close its side, so our close frame is not destroyed by a reset.
_LINGER_SECONDS = 1.0
_LINGER_BYTES = 1024 * 1024
#: A keepalive ping that could not go out without blocking is retried this often (s).
_PING_RETRY = 0.05
#: Before handling the client's next message, wait until at most this much of our data to it
#: (or half the send buffer, if smaller) is unsent.
_BACKPRESSURE_BYTES = 64 * 1024


def run_threaded(
    sock: socket.socket,
    leftover: bytes,
    *,
    request: Request,
    endpoint: Endpoint,
    protocol: WebSocketProtocol,
    registry: SessionRegistry,
    ping_interval: float = 0.0,
    ping_timeout: float = 20.0,
    send_buffer: int = 4 * 1024 * 1024,
    write_timeout: float = 30.0,
) -> None:
    """Serve an upgraded connection on the calling thread until it ends.

    ``leftover`` holds bytes read past the handshake (the client's first frames). ``on_open``
    runs first, ``on_close`` exactly once at the end; the socket is closed on return.
    With ``ping_interval`` > 0 a ping goes out every ``ping_interval`` seconds, and a peer that
    does not answer one within ``ping_timeout`` is dropped (``on_close`` with 1006).
    ``send_buffer`` and ``write_timeout`` bound what a client that does not read may cost (see
    :mod:`.socket_sink`).
    """
    conn = _Connection(sock, request, endpoint, protocol, registry, ping_interval, ping_timeout,
                       send_buffer, write_timeout)
    conn.run(leftover)


class _Connection:
    """One upgraded connection on its own thread."""

    def __init__(
        self,
        sock: socket.socket,
        request: Request,
        endpoint: Endpoint,
        protocol: WebSocketProtocol,
        registry: SessionRegistry,
        ping_interval: float,
        ping_timeout: float,
        send_buffer: int,
        write_timeout: float,
    ) -> None:
        self._sock = sock
        self._registry = registry
        self._sink = SocketSink(sock, limit=send_buffer, write_timeout=write_timeout, on_drop=self.abort)
        self._backpressure = min(_BACKPRESSURE_BYTES, send_buffer // 2)
        self._session = ConnectionSession(request, protocol, self._sink, self._on_closing)
        self._dispatcher = EventDispatcher(self._session, endpoint)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        #: Set when the session has ended: why (for on_close).
        self._reason: Optional[WebsocketCloseReason] = None
        #: A Closed event ended it: the close frames are exchanged, close TCP gracefully.
        self._close_exchanged = False
        #: Why we cut the connection (a deadline, a slow client), if we did.
        self._abort_cause: Optional[str] = None
        self._close_timer: Optional[Timer] = None
        self._pinger = _Pinger(self, ping_interval, ping_timeout) if ping_interval > 0 else None

    # -- the thread -----------------------------------------------------------------------
    def run(self, leftover: bytes) -> None:
        """Open, receive until the end, then close the socket and report ``on_close``."""
        session = self._session
        session.runner_thread = threading.get_ident()
        self._registry.add(session)
        try:
            if self._pinger is not None:
                self._pinger.start()
            self._call(self._dispatcher.open)
            if leftover and self._reason is None:
                self._deliver(session.feed(leftover))
            self._receive_loop()
        except Exception:  # a bug of ours: never let it escape into the server
            logger.exception("websocket %s: unexpected error", session.id)
            if self._reason is None:
                self._reason = WebsocketCloseReason("Internal error.", 1011, "")
        finally:
            self._finish()

    def _receive_loop(self) -> None:
        recv = self._sink.recv if self._sink.nonblocking else self._sock.recv
        feed = self._session.feed
        deliver = self._deliver
        while self._reason is None:
            try:
                data = recv(RECV_SIZE)
            except OSError as exc:  # reset, or shut down by a deadline, a drop or the server
                logger.debug("websocket %s: receive failed: %r", self._session.id, exc)
                data = b""
            if not data:
                self._lost()
                return
            deliver(feed(data))

    def _deliver(self, events: list[Event]) -> None:
        """Run the callback of each event, in order; a :class:`Closed` event ends the session."""
        session = self._session
        sink = self._sink
        for event in events:
            if type(event) is Closed:
                self._close_exchanged = True
                self._reason = closed_reason(session, event)
                return
            if session.close_sent is not None:
                continue  # we are closing: no more callbacks, only on_close
            if sink.backlog > self._backpressure:
                sink.wait_below(self._backpressure)
            if type(event) is Pong and self._pinger is not None:
                self._pinger.pong(event.data)
            self._call(self._dispatcher.dispatch, event)

    def _call(self, callback: Callable[..., Any], *args: Any) -> None:
        """Run a callback (awaiting it if async); a failure is logged and closes with 1011."""
        try:
            result = callback(*args)
            if is_awaitable(result):
                self._run_async(result)
        except BaseException:  # noqa: B036 - a callback failure closes the session, never the server
            logger.exception("websocket %s: handler failed", self._session.id)
            try:
                self._session.close("internal error", 1011)
            except Exception:  # the close itself must not take the thread down
                logger.exception("websocket %s: close failed", self._session.id)

    def _run_async(self, awaitable: Awaitable[Any]) -> Any:
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.new_event_loop()
        return loop.run_until_complete(awaitable)

    # -- ending ---------------------------------------------------------------------------
    def _lost(self) -> None:
        """The TCP connection ended before a closing handshake completed."""
        self._reason = lost_reason(self._session, self._abort_cause or MESSAGE_LOST)

    def _finish(self) -> None:
        """End the session: stop sends and timers, close our side of TCP, ``on_close``,
        deregister, then (after a clean close) linger briefly before closing the socket.

        ``on_close`` does not wait for the linger: the session is over once the closing
        handshake is, and ``OpenSessions.close_all`` should not wait on slow clients' FINs.
        """
        session = self._session
        session.end()
        if self._close_timer is not None:
            self._close_timer.cancel()
        if self._pinger is not None:
            self._pinger.stop()
        if self._close_exchanged and not self._sink.flush_before_close(CLOSE_TIMEOUT):
            self._close_exchanged = False  # our close frame did not go out: no graceful close
        self._sink.close()
        if self._close_exchanged:
            # Close our side first (RFC 6455 7.1.1); the plain-socket shutdown is used on TLS
            # sockets too, as the server's abort does: the close frame ended the conversation.
            try:
                socket.socket.shutdown(self._sock, socket.SHUT_WR)
            except (OSError, ValueError):
                pass
        else:
            self._close_socket()
        reason = self._reason or lost_reason(session)
        try:
            result = self._dispatcher.close(reason)
            if is_awaitable(result):
                self._run_async(result)
        except BaseException:  # noqa: B036 - a callback failure closes the session, never the server
            logger.exception("websocket %s: on_close failed", session.id)
        finally:
            self._registry.discard(session)
            self._close_loop()
            if self._close_exchanged:
                self._linger()
                self._close_socket()

    def _close_socket(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass

    def _linger(self) -> None:
        """After the closing handshake, read and discard until the peer closes its side too,
        for a bounded time: closing with unread input would send a reset, which can destroy
        our close frame before the peer reads it."""
        sock = self._sock
        try:
            deadline = time.monotonic() + _LINGER_SECONDS
            drained = 0
            while drained < _LINGER_BYTES:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                sock.settimeout(remaining)
                data = sock.recv(RECV_SIZE)
                if not data:
                    return
                drained += len(data)
        except (OSError, ValueError):
            pass

    def _close_loop(self) -> None:
        loop = self._loop
        if loop is None:
            return
        self._loop = None
        try:
            leftovers = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in leftovers:
                task.cancel()
            if leftovers:
                loop.run_until_complete(asyncio.wait(leftovers, timeout=0.5))
            loop.run_until_complete(loop.shutdown_asyncgens())
        except Exception:
            logger.exception("websocket %s: closing its event loop failed", self._session.id)
        finally:
            loop.close()

    # -- timers (their callbacks run on the reactor thread and never block) ----------------
    def _on_closing(self) -> None:
        """Our close frame went out (from any thread): give the peer CLOSE_TIMEOUT to answer."""
        if self._close_timer is None:
            self._close_timer = REACTOR.call_later(CLOSE_TIMEOUT, self._close_expired)

    def _close_expired(self) -> None:
        if self._reason is None:
            logger.debug("websocket %s: no close reply in time", self._session.id)
            self.abort(MESSAGE_LOST)

    def abort(self, cause: str) -> None:
        """Cut the connection now (any thread): the receive loop wakes up with EOF."""
        if self._abort_cause is None:
            self._abort_cause = cause
        try:
            socket.socket.shutdown(self._sock, socket.SHUT_RDWR)
        except (OSError, ValueError):
            pass

    @property
    def session(self) -> ConnectionSession:
        """The connection's session."""
        return self._session

    @property
    def ended(self) -> bool:
        """True once the receive loop has decided the session is over."""
        return self._reason is not None


class _Pinger:
    """Keepalive pings for one connection, driven by the reactor.

    A ping goes out every ``interval``; its pong (same payload) must come back within
    ``timeout``, else the connection is cut and reported as 1006 "Ping timeout.". Dropping
    rather than sending a 1011 close: a peer that does not answer pings is not reading our
    frames, so a closing handshake could not complete -- it would only hold the thread for
    another CLOSE_TIMEOUT -- and 1006 is what RFC 6455 7.1.5 calls a connection closed without a
    close frame.
    """

    def __init__(self, conn: _Connection, interval: float, timeout: float) -> None:
        self._conn = conn
        self._interval = interval
        self._timeout = timeout
        self._next_ping = 0.0
        self._since: Optional[float] = None  # when the unanswered ping was first due
        self._sent = False
        self._payload = b""
        self._timer: Optional[Timer] = None
        self._stopped = False

    def start(self) -> None:
        """Schedule the first ping."""
        self._next_ping = time.monotonic() + self._interval
        self._schedule(self._interval)

    def stop(self) -> None:
        """No more pings."""
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()

    def pong(self, payload: bytes) -> None:
        """A pong arrived (connection thread): the one answering our ping ends the wait."""
        if self._since is not None and payload == self._payload:
            self._since = None

    def _schedule(self, delay: float) -> None:
        if not self._stopped:
            self._timer = REACTOR.call_later(max(0.0, delay), self._tick)

    def _tick(self) -> None:
        conn = self._conn
        if self._stopped or conn.ended:
            return
        now = time.monotonic()
        since = self._since
        if since is None:
            if now < self._next_ping:
                self._schedule(self._next_ping - now)
                return
            since = self._since = now
            self._next_ping = now + self._interval
            self._sent = False
            self._payload = os.urandom(4)
        elif now - since >= self._timeout:
            logger.debug("websocket %s: ping timeout", conn.session.id)
            conn.abort(MESSAGE_PING_TIMEOUT)
            return
        if not self._sent:
            self._sent = conn.session.send_ping_nowait(self._payload)
        deadline = since + self._timeout
        if not self._sent:
            wake = min(now + _PING_RETRY, deadline)
        elif self._next_ping <= now:
            wake = deadline
        else:
            wake = min(self._next_ping, deadline)
        self._schedule(wake - now)
