"""The asyncio driver's :class:`~naja_atra.websocket.session.Sink`: a bounded queue in front of
a transport.

An asyncio transport buffers whatever it is given, without bound. Frames therefore go to the
transport only while it is under its high-water mark; the rest waits in an
:class:`~naja_atra.websocket.outbox.Outbox`, in order, and moves on when the transport asks for
more (``resume_writing``). A send on the loop thread writes straight to the transport when
nothing waits (the echo fast path); a send from another thread queues and has the loop flush.
Either way it returns at once, so a broadcast never waits on its slowest client.

Slow-client policy (``Limits.websocket_send_buffer`` and ``Limits.write_timeout``), as on the
threading driver: a message sent while more than the send buffer is unsent (queued here or in
the transport), or unsent data on which the client makes no progress for the write timeout,
drops the connection -- the transport is aborted (no close frame: a client that does not read
would not read it either) and ``on_close`` reports 1006 with "Send buffer full." or
"Write timeout.".
"""
from __future__ import annotations

import asyncio
import threading
from typing import Callable, Iterator, Optional

from .outbox import Outbox, OutboxError
from .session import MESSAGE_LOST, MESSAGE_SEND_BUFFER_FULL, MESSAGE_WRITE_TIMEOUT, logger

__all__ = ["TransportSink"]

#: The transport's high-water mark (bytes it buffers before we hold frames back), unless half
#: the send buffer is smaller.
_HIGH_WATER = 64 * 1024
#: The write deadline is checked this many times per ``write_timeout`` while data is unsent.
_DEADLINE_CHECKS = 4


class TransportSink:
    """One connection's outgoing frames (see the module); ``write`` and ``write_frames`` are
    thread-safe, the other methods run on the loop.

    :param on_drop: called on the loop (with the reason for ``on_close``) to cut the connection.
    :param on_drained: called on the loop when nothing is held back any more (the consumer of
        the client's messages waits for that before handling the next one).
    """

    def __init__(self, transport: asyncio.Transport, *, limit: int, write_timeout: float,
                 on_drop: Callable[[str], None], on_drained: Callable[[], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._ident = threading.get_ident()
        self._transport = transport
        self._lock = threading.Lock()
        self._outbox = Outbox(limit)
        self._limit = limit
        self._timeout = write_timeout
        self._on_drop = on_drop
        self._on_drained = on_drained
        self._closed = False
        #: Our side of the connection is shut: nothing more may be written.
        self._sealed = False
        self._paused = False
        self._flush_scheduled = False
        #: What the transport held at the last look (read by other threads, without the lock).
        self._in_transport = 0
        #: Bytes handed to the transport so far, and how many of them had left it at the last
        #: deadline check (progress is measured by the difference).
        self._written = 0
        self._sent_mark = 0
        self._progress = 0.0
        self._timer: Optional[asyncio.TimerHandle] = None
        self._then: Optional[Callable[[], None]] = None
        high = max(1, min(_HIGH_WATER, limit // 2))
        transport.set_write_buffer_limits(high=high, low=high // 4)

    # -- Sink -----------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        """True once the connection was dropped or is gone."""
        return self._closed

    def write(self, data: bytes, limited: bool = True) -> bool:
        """Queue ``data``; straight to the transport when on the loop and nothing waits."""
        with self._lock:
            if self._closed or self._sealed or (limited and self._over_limit()):
                return False
            if not data:
                return True
            if threading.get_ident() == self._ident:
                if not self._outbox and not self._paused:
                    self._to_transport(data)
                else:
                    self._outbox.push(data)
                return True
            self._outbox.push(data)
            self._schedule_flush()
            return True

    def write_frames(self, frames: Iterator[bytes]) -> bool:
        """Queue a streamed message; its frames are read as the transport takes them."""
        with self._lock:
            if self._closed or self._sealed or self._over_limit():
                return False
            self._outbox.push_frames(frames)
            if threading.get_ident() == self._ident:
                self._flush()
            else:
                self._schedule_flush()
            return True

    # -- for the runner (on the loop) -----------------------------------------------------
    @property
    def busy(self) -> bool:
        """Frames are held back (the transport is full or a queue waits for it)."""
        return self._paused or bool(self._outbox)

    def pause(self) -> None:
        """The transport is over its high-water mark."""
        self._paused = True

    def resume(self) -> None:
        """The transport drained to its low-water mark: the client makes progress."""
        self._paused = False
        self._progress = self._loop.time()
        self._in_transport = self._transport.get_write_buffer_size()
        with self._lock:
            self._flush()

    def when_drained(self, then: Callable[[], None]) -> None:
        """Call ``then`` once every queued frame is in the transport (now, if none waits)."""
        with self._lock:
            if self._outbox and not self._closed:
                self._then = then
                return
        then()

    def seal(self) -> None:
        """Our side is about to be shut (after the closing handshake): refuse further frames.
        The write deadline still watches what the transport holds."""
        with self._lock:
            self._sealed = True

    def close(self) -> None:
        """The connection is gone: drop the queue and the deadline."""
        with self._lock:
            self._closed = True
            self._outbox.clear()
            self._then = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- internals ------------------------------------------------------------------------
    def _over_limit(self) -> bool:
        """(Under the lock.) Drop the client when it already has more than the limit unsent."""
        on_loop = threading.get_ident() == self._ident
        in_transport = self._transport.get_write_buffer_size() if on_loop else self._in_transport
        if self._outbox.pending + in_transport <= self._limit:
            return False
        logger.debug("websocket: client too slow (send buffer full): dropped")
        self._closed = True
        self._outbox.clear()
        if on_loop:
            self._loop.call_soon(self._on_drop, MESSAGE_SEND_BUFFER_FULL)
        else:
            self._call_soon_threadsafe(self._on_drop, MESSAGE_SEND_BUFFER_FULL)
        return True

    def _to_transport(self, data: bytes) -> None:
        transport = self._transport
        if transport.is_closing():
            return
        transport.write(data)
        self._written += len(data)
        in_transport = self._in_transport = transport.get_write_buffer_size()
        if in_transport and self._timer is None:
            self._arm_deadline()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._call_soon_threadsafe(self._scheduled_flush)

    def _call_soon_threadsafe(self, callback: Callable[..., None], *args: object) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: so is the connection
            pass

    def _scheduled_flush(self) -> None:
        with self._lock:
            self._flush_scheduled = False
            self._flush()

    def _flush(self) -> None:
        """(On the loop, under the lock.) Move queued frames to the transport until it is full."""
        outbox = self._outbox
        try:
            while outbox and not self._paused and not self._closed:
                data = outbox.pop()
                if data:
                    self._to_transport(data)  # may pause us (pause_writing runs synchronously)
        except OutboxError:
            logger.exception("websocket: a streamed message failed; dropping the connection")
            self._closed = True
            outbox.clear()
            self._loop.call_soon(self._on_drop, MESSAGE_LOST)
            return
        if outbox:
            if self._timer is None:
                self._arm_deadline()
            return
        then, self._then = self._then, None
        if then is not None:
            self._loop.call_soon(then)
        if not self._paused:
            self._loop.call_soon(self._on_drained)

    def _arm_deadline(self) -> None:
        self._progress = self._loop.time()
        self._sent_mark = self._written - self._in_transport
        self._timer = self._loop.call_later(self._timeout / _DEADLINE_CHECKS, self._check_deadline)

    def _check_deadline(self) -> None:
        """Drop the client if it took none of our data for the write timeout."""
        self._timer = None
        if self._closed:
            return
        in_transport = self._in_transport = self._transport.get_write_buffer_size()
        if not in_transport and not self._outbox:
            return  # all written
        now = self._loop.time()
        sent = self._written - in_transport
        if sent != self._sent_mark:
            self._sent_mark = sent
            self._progress = max(self._progress, now)
        if now - self._progress >= self._timeout:
            logger.debug("websocket: client too slow (write timeout): dropped")
            with self._lock:
                self._closed = True
                self._outbox.clear()
            self._on_drop(MESSAGE_WRITE_TIMEOUT)
            return
        self._timer = self._loop.call_later(self._timeout / _DEADLINE_CHECKS, self._check_deadline)
