"""A WebSocket connection on the asyncio driver: an ``asyncio.Protocol`` over the upgraded transport.

``data_received`` feeds the protocol core and appends the events to the session's queue. The
queue has one consumer at a time, so callbacks run one by one and in order: while every
callback is synchronous the events are handled right there in ``data_received`` (no task, no
extra trip through the loop -- the echo fast path); the first callback that returns an awaitable
hands the queue to one task, which awaits it and goes on with the queue until it is empty.
Meanwhile ``data_received`` only appends.

Backpressure both ways: reading pauses while more than 64 events or 1 MiB of input wait in the
queue (resumes once it is drained), and the consumer waits before the next event while our
frames to the client are held back (a client that does not read our replies stops being read).

Writes go through a :class:`~.transport_sink.TransportSink`, a bounded queue in front of the
transport: sends return at once from any thread, and a client that does not keep up is dropped
(``Limits.websocket_send_buffer``, ``Limits.write_timeout``; ``on_close`` gets 1006).
"""
from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections import deque
from typing import Any, Awaitable, Coroutine, Optional, Union

from ..http.request import Request
from .api import WebsocketCloseReason
from .endpoint import Endpoint
from .protocol import Closed, Event, Pong, WebSocketProtocol
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
from .transport_sink import TransportSink

__all__ = ["make_protocol", "CLOSE_TIMEOUT"]

#: How long (s) we wait for the peer's close frame after sending ours.
CLOSE_TIMEOUT = 2.0
#: After the closing handshake, how long (s) the peer gets to close its side before we close.
_LINGER_SECONDS = 1.0
#: Reading pauses while more than this many events, or bytes of input, wait for the consumer.
_QUEUE_HIGH_EVENTS = 64
_QUEUE_HIGH_BYTES = 1024 * 1024

# Python 3.12+ can start a task eagerly: an async callback that finishes without suspending
# then costs no trip through the event loop.
_EAGER = sys.version_info >= (3, 12)


def make_protocol(
    transport: asyncio.Transport,
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
) -> asyncio.Protocol:
    """The protocol that takes an upgraded ``transport`` over (the caller installs it with
    ``transport.set_protocol``). Must be called on the transport's event loop.

    ``leftover`` holds bytes read past the handshake (the client's first frames): they are
    parsed now, their callbacks run after ``on_open``. ``on_close`` runs exactly once, after the
    last message callback. With ``ping_interval`` > 0 a ping goes out every ``ping_interval``
    seconds, and a peer that does not answer one within ``ping_timeout`` is dropped (1006).
    ``send_buffer`` and ``write_timeout`` bound what a client that does not read may cost (see
    :mod:`.transport_sink`).
    """
    conn = _Connection(transport, request, endpoint, protocol, registry, ping_interval, ping_timeout,
                       send_buffer, write_timeout)
    conn.start(leftover)
    return conn


class _Open:
    """Queue item: call ``on_open``."""


class _Finish:
    """Queue item: the session is over, call ``on_close``."""

    __slots__ = ("reason",)

    def __init__(self, reason: WebsocketCloseReason) -> None:
        self.reason = reason


_Item = Union[Event, _Open, _Finish]


class _Connection(asyncio.Protocol):
    """One upgraded connection."""

    def __init__(
        self,
        transport: asyncio.Transport,
        request: Request,
        endpoint: Endpoint,
        protocol: WebSocketProtocol,
        registry: SessionRegistry,
        ping_interval: float,
        ping_timeout: float,
        send_buffer: int,
        write_timeout: float,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._ident = threading.get_ident()
        self._transport = transport
        self._registry = registry
        self._sink = TransportSink(transport, limit=send_buffer, write_timeout=write_timeout,
                                   on_drop=self._abort, on_drained=self._wake_writer)
        self._session = ConnectionSession(request, protocol, self._sink, self._on_closing)
        self._dispatcher = EventDispatcher(self._session, endpoint)
        self._queue: deque[_Item] = deque()
        self._queued_bytes = 0
        #: The queue has a consumer (a task, or the start not having run yet): only append.
        self._busy = False
        self._task: Optional[asyncio.Task[None]] = None
        self._finish_queued = False
        self._reported = False  # on_close has been called
        self._lost = False
        self._reading_paused = False
        self._drain_waiter: Optional[asyncio.Future[None]] = None
        self._abort_cause: Optional[str] = None
        self._close_timer: Optional[asyncio.TimerHandle] = None
        self._linger_timer: Optional[asyncio.TimerHandle] = None
        self._ping_timer: Optional[asyncio.TimerHandle] = None
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._next_ping = 0.0
        self._ping_since: Optional[float] = None
        self._ping_payload = b""

    def start(self, leftover: bytes) -> None:
        """Register the session, queue ``on_open`` and the leftover's events; the queue is
        served from the next loop iteration, once the caller has installed this protocol."""
        self._registry.add(self._session)
        self._queue.append(_Open())
        self._busy = True
        if leftover:
            self._receive(leftover)
        self._loop.call_soon(self._first_pump)
        if self._ping_interval > 0:
            self._next_ping = self._loop.time() + self._ping_interval
            self._ping_timer = self._loop.call_later(self._ping_interval, self._ping_tick)

    def _first_pump(self) -> None:
        self._busy = False
        self._pump()

    # -- asyncio.Protocol -----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Not called: the transport is handed over with ``set_protocol``."""

    def data_received(self, data: bytes) -> None:
        """Parse, queue the events, and handle them now unless a task is consuming the queue."""
        if self._finish_queued:
            return  # after the closing handshake: discard
        self._receive(data)
        if not self._busy:
            self._pump()
        elif not self._reading_paused:
            self._queued_bytes += len(data)
            if len(self._queue) > _QUEUE_HIGH_EVENTS or self._queued_bytes > _QUEUE_HIGH_BYTES:
                self._reading_paused = True
                self._transport.pause_reading()

    def eof_received(self) -> Optional[bool]:
        """The peer closed its side: let the transport close (``connection_lost`` follows)."""
        return None

    def connection_lost(self, exc: Optional[Exception]) -> None:
        """The TCP connection is gone: ``on_close`` follows the queued events (1006 unless the
        closing handshake completed or we had started it)."""
        self._lost = True
        self._session.end()
        self._sink.close()
        self._cancel_timers()
        self._wake_writer()
        if not self._finish_queued:
            if exc is not None:
                logger.debug("websocket %s: connection lost: %r", self._session.id, exc)
            self._queue_finish(lost_reason(self._session, self._abort_cause or MESSAGE_LOST))
            if not self._busy:
                self._pump()

    def pause_writing(self) -> None:
        """The transport's buffer is full: frames wait in the sink, and the consumer waits
        before the next event."""
        self._sink.pause()

    def resume_writing(self) -> None:
        """The transport's buffer drained: the sink moves on (and wakes the consumer once
        nothing is held back)."""
        self._sink.resume()

    # -- events ---------------------------------------------------------------------------
    def _receive(self, data: bytes) -> None:
        queue = self._queue
        for event in self._session.feed(data):
            if type(event) is Closed:
                self._close_transport()
                self._queue_finish(closed_reason(self._session, event))
                return
            queue.append(event)

    def _queue_finish(self, reason: WebsocketCloseReason) -> None:
        if not self._finish_queued:
            self._finish_queued = True
            self._queue.append(_Finish(reason))

    def _pump(self) -> None:
        """Handle queued events inline until one needs awaiting; then a task takes over."""
        queue = self._queue
        while queue:
            if self._sink.busy and not self._lost:
                self._spawn(None)
                return
            pending = self._handle(queue.popleft())
            if pending is not None:
                self._spawn(pending)
                return
        self._drained()

    def _spawn(self, pending: Optional[Awaitable[Any]]) -> None:
        self._busy = True
        coro = self._consume(pending)
        if _EAGER:
            self._task = asyncio.Task(coro, loop=self._loop, eager_start=True)  # type: ignore[call-arg,unused-ignore]
        else:
            self._task = self._loop.create_task(coro)

    async def _consume(self, pending: Optional[Awaitable[Any]]) -> None:
        """The task that owns the queue while callbacks await."""
        queue = self._queue
        try:
            if pending is not None:
                await self._settle(pending)
            while queue:
                if self._sink.busy and not self._lost:
                    await self._drain()
                    continue
                pending = self._handle(queue.popleft())
                if pending is not None:
                    await self._settle(pending)
        except asyncio.CancelledError:
            self._abandon()
            raise
        finally:
            self._task = None
            self._busy = False
        self._drained()

    def _handle(self, item: _Item) -> Optional[Awaitable[Any]]:
        """Run one item's callback; return what must still be awaited (errors handled)."""
        if type(item) is _Finish:
            return self._finish(item.reason)
        try:
            if type(item) is _Open:
                result = self._dispatcher.open()
            else:
                assert isinstance(item, Event)
                if self._session.close_sent is not None:
                    return None  # we are closing: no more callbacks, only on_close
                if type(item) is Pong and self._ping_since is not None:
                    self._pong(item)
                result = self._dispatcher.dispatch(item)
        except BaseException:  # noqa: B036 - a callback failure closes the session, never the server
            self._failed()
            return None
        return result if is_awaitable(result) else None

    async def _settle(self, pending: Awaitable[Any]) -> None:
        """Await a message callback; a failure is logged and closes the session with 1011."""
        try:
            await pending
        except asyncio.CancelledError:
            raise
        except BaseException:  # noqa: B036 - a callback failure closes the session, never the server
            self._failed()

    def _failed(self) -> None:
        logger.exception("websocket %s: handler failed", self._session.id)
        try:
            self._session.close("internal error", 1011)
        except Exception:
            logger.exception("websocket %s: close failed", self._session.id)

    def _drained(self) -> None:
        """The queue is empty: read again if we had paused."""
        self._queued_bytes = 0
        if self._reading_paused:
            self._reading_paused = False
            if not self._lost and not self._transport.is_closing():
                self._transport.resume_reading()

    # -- ending ---------------------------------------------------------------------------
    def _finish(self, reason: WebsocketCloseReason) -> Optional[Coroutine[Any, Any, None]]:
        """``on_close`` (the last item of the queue), then deregister."""
        session = self._session
        session.end()
        self._reported = True
        self._cancel_timers(keep_linger=True)
        try:
            result = self._dispatcher.close(reason)
        except BaseException:  # noqa: B036 - a callback failure closes the session, never the server
            logger.exception("websocket %s: on_close failed", session.id)
            result = None
        if is_awaitable(result):
            return self._finish_async(result)
        self._registry.discard(session)
        return None

    async def _finish_async(self, pending: Awaitable[Any]) -> None:
        try:
            await pending
        except asyncio.CancelledError:
            raise
        except BaseException:  # noqa: B036 - a callback failure closes the session, never the server
            logger.exception("websocket %s: on_close failed", self._session.id)
        finally:
            self._registry.discard(self._session)

    def _abandon(self) -> None:
        """The consumer task was cancelled (the loop is shutting down): drop the queued
        events but still report ``on_close`` (best effort if it is async)."""
        if not self._reported:
            reason = next((item.reason for item in self._queue if type(item) is _Finish), None)
            self._queue.clear()
            pending = self._finish(reason or lost_reason(self._session))
            if pending is not None:
                self._loop.create_task(pending)
        if not self._transport.is_closing():
            self._transport.abort()

    def _close_transport(self) -> None:
        """After the closing handshake: once our last frames (the close reply among them) are
        in the transport, close our side first (RFC 6455 7.1.1); the peer gets a moment to
        close its side before we close the transport anyway."""
        if not self._transport.is_closing():
            self._sink.when_drained(self._shut_write)

    def _shut_write(self) -> None:
        transport = self._transport
        if transport.is_closing():
            return
        self._sink.seal()
        if transport.can_write_eof():
            transport.write_eof()
            self._linger_timer = self._loop.call_later(_LINGER_SECONDS, transport.close)
        else:
            transport.close()

    def _cancel_timers(self, keep_linger: bool = False) -> None:
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        if self._ping_timer is not None:
            self._ping_timer.cancel()
            self._ping_timer = None
        if self._linger_timer is not None and not keep_linger:
            self._linger_timer.cancel()
            self._linger_timer = None

    def _on_closing(self) -> None:
        """Our close frame went out (any thread): give the peer CLOSE_TIMEOUT to answer."""
        if threading.get_ident() == self._ident:
            self._arm_close_timer()
            return
        try:
            self._loop.call_soon_threadsafe(self._arm_close_timer)
        except RuntimeError:  # the loop is closed
            pass

    def _arm_close_timer(self) -> None:
        if self._close_timer is None and not self._finish_queued and not self._lost:
            self._close_timer = self._loop.call_later(CLOSE_TIMEOUT, self._abort, MESSAGE_LOST)

    def _abort(self, cause: str) -> None:
        if self._abort_cause is None:
            self._abort_cause = cause
        self._transport.abort()

    # -- keepalive pings ------------------------------------------------------------------
    def _ping_tick(self) -> None:
        """Send a ping every interval; drop a peer that leaves one unanswered past the timeout
        (1006: see run_threaded._Pinger for why no close frame)."""
        self._ping_timer = None
        if self._finish_queued or self._lost:
            return
        now = self._loop.time()
        since = self._ping_since
        if since is None:
            if now >= self._next_ping:
                since = self._ping_since = now
                self._next_ping = now + self._ping_interval
                self._ping_payload = os.urandom(4)
                self._session.send_ping(self._ping_payload)
        elif now - since >= self._ping_timeout:
            logger.debug("websocket %s: ping timeout", self._session.id)
            self._abort(MESSAGE_PING_TIMEOUT)
            return
        self._ping_timer = self._loop.call_at(_next_wake(now, self._next_ping, self._ping_since, self._ping_timeout),
                                              self._ping_tick)

    def _pong(self, pong: Pong) -> None:
        if pong.data == self._ping_payload:
            self._ping_since = None

    # -- writing --------------------------------------------------------------------------
    async def _drain(self) -> None:
        """Wait until the transport wants more (or the connection is gone)."""
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._drain_waiter = waiter
        try:
            await waiter
        finally:
            self._drain_waiter = None

    def _wake_writer(self) -> None:
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def _next_wake(now: float, next_ping: float, since: Optional[float], timeout: float) -> float:
    """When the ping timer should next fire: the next ping, or while a ping is unanswered its
    deadline (or the next ping, if that comes first and has not passed)."""
    if since is None:
        return next_ping
    deadline = since + timeout
    return deadline if next_ping <= now else min(next_ping, deadline)
