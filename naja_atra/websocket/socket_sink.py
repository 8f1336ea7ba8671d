"""The threading driver's :class:`~naja_atra.websocket.session.Sink`: a bounded queue in front
of a socket that no sender ever waits on.

A frame goes straight to the socket when the socket takes it (a non-blocking send: the usual
case, and no thread hop). What the socket does not take waits in an
:class:`~naja_atra.websocket.outbox.Outbox`, in order, and the shared reactor thread
(:mod:`.reactor`) writes it out as the socket drains; meanwhile later frames queue behind it.
So ``session.send`` returns at once whatever the client does, and a broadcast loop never waits
on its slowest client.

Slow-client policy (``Limits.websocket_send_buffer`` and ``Limits.write_timeout``): a message
sent while more than the send buffer waits unsent, or unsent data on which the client makes no
progress for the write timeout, drops the connection -- the TCP connection is shut down (no
close frame: a client that does not read would not read it either), and ``on_close`` reports
1006 with "Send buffer full." or "Write timeout.".

Plain sockets stay in blocking mode for the connection thread's ``recv`` and are written with
``MSG_DONTWAIT``. A TLS socket cannot take that flag, so it is switched to non-blocking mode
(:attr:`SocketSink.nonblocking`) and the runner receives with :meth:`SocketSink.recv`, which
waits for input with ``poll``. An OpenSSL connection must not read and write from two threads
at once, so on TLS every read and write runs under the sink's lock (none of them blocks).
"""
from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from typing import Callable, Iterator, Optional, Union

from .outbox import Outbox, OutboxError
from .reactor import REACTOR, Reactor, Timer
from .session import MESSAGE_LOST, MESSAGE_SEND_BUFFER_FULL, MESSAGE_WRITE_TIMEOUT, logger

__all__ = ["SocketSink"]

#: Bytes handed to one TLS write: a TLS record. A non-blocking TLS write that must be retried
#: has to be retried with the same bytes, which a fixed slice of the queue's head gives.
_TLS_PIECE = 16 * 1024
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)
_WOULD_BLOCK = (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError)

_Bytes = Union[bytes, memoryview]


class SocketSink:
    """One connection's outgoing frames (see the module); every method is thread-safe.

    :param limit: ``Limits.websocket_send_buffer``.
    :param write_timeout: ``Limits.write_timeout``.
    :param on_drop: called (with the reason for ``on_close``) when the client is dropped or the
        connection turns out to be gone; it must cut the connection without blocking.
    """

    def __init__(self, sock: socket.socket, *, limit: int, write_timeout: float,
                 on_drop: Callable[[str], None], reactor: Reactor = REACTOR) -> None:
        self._sock = sock
        self._fd = sock.fileno()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._outbox = Outbox(limit)
        self._timeout = write_timeout
        self._on_drop = on_drop
        self._reactor = reactor
        self._closed = False
        #: The reactor writes our queue out: senders only append.
        self._watching = False
        #: When the client last took some of our data (or data started to wait).
        self._progress = 0.0
        self._timer: Optional[Timer] = None
        self._waiters = 0
        self.nonblocking = isinstance(sock, ssl.SSLSocket) or not _DONTWAIT
        if self.nonblocking:
            sock.setblocking(False)
        elif sock.gettimeout() is not None:
            # The connection is ours now: whatever timeout the server used, silence is fine
            # (pings and deadlines bound it), and a non-blocking recv would read as a loss.
            sock.settimeout(None)

    # -- Sink -----------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        """True once the connection was dropped or closed."""
        return self._closed

    def write(self, data: bytes, limited: bool = True) -> bool:
        """Queue ``data``, writing it now if nothing waits before it and the socket takes it."""
        with self._lock:
            if self._closed or (limited and self._over_limit()):
                return False
            if not data:
                return True
            outbox = self._outbox
            if self._watching or outbox:
                outbox.push(data)
                return True
            try:
                sent = self._send(data)
            except OSError as exc:
                self._gone(exc)
                return False
            if sent < len(data):
                outbox.push(data)
                outbox.advance(sent)
                self._flush()  # a TLS write takes one record at a time: go on while it can
            return not self._closed

    def write_frames(self, frames: Iterator[bytes]) -> bool:
        """Queue a streamed message; its frames are read as the socket takes them."""
        with self._lock:
            if self._closed or self._over_limit():
                return False
            self._outbox.push_frames(frames)
            if not self._watching:
                self._flush()
            return not self._closed

    # -- for the runner -------------------------------------------------------------------
    @property
    def backlog(self) -> int:
        """Bytes queued and not yet written (read without the lock: a hint)."""
        return self._outbox.pending

    def wait_below(self, level: int) -> None:
        """Wait until at most ``level`` bytes are unsent, or the connection is dropped (on the
        connection's own thread: backpressure before it handles more of the client's input).
        Bounded by the write deadline, which drops a client that takes nothing."""
        with self._lock:
            self._wait(lambda: self._outbox.pending <= level)

    def recv(self, size: int) -> bytes:
        """``recv`` in non-blocking mode (TLS): under the lock, since a TLS read must not run
        while another thread writes; waiting for input happens outside it, with ``poll``. A
        shutdown (a deadline, a drop) wakes the wait as it wakes a blocking ``recv``."""
        sock = self._sock
        while True:
            with self._lock:
                try:
                    return sock.recv(size)
                except (BlockingIOError, ssl.SSLWantReadError):
                    write = False
                except ssl.SSLWantWriteError:
                    write = True
            _wait_for(sock, write)

    def flush_before_close(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds until everything queued is written; True if it was."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._wait(lambda: not self._outbox, deadline)
            return not self._outbox and not self._closed

    def close(self) -> None:
        """The connection is over: drop the queue, stop watching (before the socket closes)."""
        with self._lock:
            self._shut()

    # -- internals (under the lock) -------------------------------------------------------
    def _over_limit(self) -> bool:
        if not self._outbox.over_limit():
            return False
        logger.debug("websocket: client too slow (send buffer full): dropped")
        self._drop(MESSAGE_SEND_BUFFER_FULL)
        return True

    def _send(self, data: _Bytes) -> int:
        """Write what the socket takes now, without waiting; 0 when it takes nothing."""
        try:
            if not self.nonblocking:
                return self._sock.send(data, _DONTWAIT)
            if len(data) > _TLS_PIECE:
                data = memoryview(data)[:_TLS_PIECE]
            return self._sock.send(data)
        except _WOULD_BLOCK:
            return 0

    def _flush(self) -> None:
        """Write as much of the queue as the socket takes now; watch for the rest."""
        outbox = self._outbox
        progressed = False
        try:
            while True:
                data = outbox.peek()
                if not data:
                    break
                sent = self._send(data)
                if not sent:
                    break
                outbox.advance(sent)
                progressed = True
        except OutboxError:
            logger.exception("websocket: a streamed message failed; dropping the connection")
            self._drop(MESSAGE_LOST)
            return
        except OSError as exc:
            self._gone(exc)
            return
        if progressed:
            self._progress = time.monotonic()
            if self._waiters:
                self._changed.notify_all()
        if outbox and not self._watching:
            self._watch()

    def _watch(self) -> None:
        """Data waits: the reactor writes it out from now on, under a write deadline."""
        self._watching = True
        self._progress = time.monotonic()
        self._reactor.watch_writable(self._fd, self._on_writable)
        if self._timer is None:
            self._timer = self._reactor.call_later(self._timeout, self._check_deadline)

    def _on_writable(self) -> bool:
        """(Reactor thread) the socket takes more: write; False once there is nothing left."""
        with self._lock:
            if self._closed:
                return False
            self._flush()
            if self._closed or not self._outbox:
                self._watching = False
                return False
            return True

    def _check_deadline(self) -> None:
        """(Reactor thread) drop the client if it took nothing for the write timeout."""
        with self._lock:
            self._timer = None
            if self._closed or not self._watching:
                return
            idle = time.monotonic() - self._progress
            if idle >= self._timeout:
                logger.debug("websocket: client too slow (write timeout): dropped")
                self._drop(MESSAGE_WRITE_TIMEOUT)
            else:
                self._timer = self._reactor.call_later(self._timeout - idle, self._check_deadline)

    def _wait(self, done: Callable[[], bool], deadline: Optional[float] = None) -> None:
        # Woken by progress and by a drop. The reactor's write deadline bounds the wait; the
        # local bound (twice that without progress) only guards against a reactor that died.
        self._waiters += 1
        try:
            while not self._closed and not done():
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    return
                if self._watching and now - self._progress > 2 * self._timeout:
                    self._drop(MESSAGE_WRITE_TIMEOUT)
                    return
                wait = self._timeout if deadline is None else min(self._timeout, deadline - now)
                self._changed.wait(wait)
        finally:
            self._waiters -= 1

    def _gone(self, exc: OSError) -> None:
        logger.debug("websocket: write failed: %r", exc)
        self._drop(MESSAGE_LOST)

    def _drop(self, cause: str) -> None:
        if self._closed:
            return
        self._shut()
        self._on_drop(cause)

    def _shut(self) -> None:
        self._closed = True
        self._outbox.clear()
        if self._watching:
            self._watching = False
            self._reactor.unwatch(self._fd)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._changed.notify_all()


def _wait_for(sock: socket.socket, write: bool) -> None:
    """Wait, without a bound, until ``sock`` is readable (or writable); a shutdown ends it."""
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLOUT if write else select.POLLIN)
            poller.poll()
        elif write:
            select.select([], [sock], [sock])
        else:
            select.select([sock], [], [sock])
    except ValueError as exc:  # closed meanwhile
        raise OSError("socket closed") from exc
