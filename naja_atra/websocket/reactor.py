"""The threading driver's one shared helper thread: timers and writes to slow clients.

Every WebSocket connection of the threading driver has its own thread blocked in ``recv``; what
needs a clock or must wait for a socket to become writable runs here instead, on one daemon
thread for the whole process (:data:`REACTOR`):

- timers (:meth:`Reactor.call_later`): the wait for the peer's close reply, keepalive pings,
  write deadlines;
- write readiness (:meth:`Reactor.watch_writable`): a connection whose client does not take
  our frames as fast as we queue them is watched here, and its queue is written out when the
  socket can take more. Senders never wait for that.

Callbacks must be short and never block: they all share this thread. The thread starts on
demand and ends after :attr:`Reactor.IDLE_EXIT` seconds with nothing to do, so an idle process
keeps no extra thread.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import selectors
import socket
import threading
import time
from typing import Callable, Optional

__all__ = ["Reactor", "Timer", "REACTOR"]

logger = logging.getLogger("naja_atra.websocket")

#: A write-readiness callback: write what the socket takes; True to keep watching.
Writable = Callable[[], bool]


class Timer:
    """A scheduled callback; :meth:`cancel` makes it a no-op."""

    __slots__ = ("when", "callback", "cancelled")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        """Do not run it."""
        self.cancelled = True


class _Loop:
    """What one run of the reactor thread owns: its selector and its wake-up socket pair."""

    def __init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.wake_w.setblocking(False)
        self.selector.register(self.wake_r, selectors.EVENT_READ, None)

    def wake(self) -> None:
        try:
            self.wake_w.send(b"\0")
        except OSError:  # its buffer is full: a wake-up is pending anyway
            pass

    def drain_wakes(self) -> None:
        try:
            while self.wake_r.recv(4096):
                pass
        except OSError:
            pass

    def close(self) -> None:
        self.selector.close()
        self.wake_r.close()
        self.wake_w.close()


class Reactor:
    """One daemon thread that runs timers and write-readiness callbacks (see the module)."""

    IDLE_EXIT = 10.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        #: Watch changes asked by other threads, applied in order on the reactor thread:
        #: (fd, callback) to watch, (fd, None) to stop.
        self._requests: list[tuple[int, Optional[Writable]]] = []
        self._watched: dict[int, Writable] = {}
        self._loop: Optional[_Loop] = None
        #: A wake-up was sent and the thread has not looked at its requests since.
        self._woken = False

    # -- from any thread ------------------------------------------------------------------
    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` on the reactor thread ``delay`` seconds from now."""
        timer = Timer(time.monotonic() + delay, callback)
        with self._lock:
            earliest = not self._heap or timer.when < self._heap[0][0]
            heapq.heappush(self._heap, (timer.when, next(self._seq), timer))
            if earliest:
                self._wake_locked()
        return timer

    def watch_writable(self, fd: int, callback: Writable) -> None:
        """Call ``callback`` on the reactor thread each time ``fd`` is writable, until it returns
        False or :meth:`unwatch` is called. Call :meth:`unwatch` before closing ``fd``."""
        with self._lock:
            self._requests.append((fd, callback))
            self._wake_locked()

    def unwatch(self, fd: int) -> None:
        """Stop watching ``fd`` (a no-op if it is not watched)."""
        with self._lock:
            self._requests.append((fd, None))
            self._wake_locked()

    def _wake_locked(self) -> None:
        loop = self._loop
        if loop is None:
            self._loop = loop = _Loop()
            self._woken = True
            threading.Thread(target=self._run, args=(loop,), name="naja-atra-ws-reactor", daemon=True).start()
        elif not self._woken:
            self._woken = True
            loop.wake()

    # -- the reactor thread ---------------------------------------------------------------
    def _run(self, loop: _Loop) -> None:
        idle_since = time.monotonic()
        try:
            while True:
                due, timeout = self._prepare(loop)
                if due is None:
                    if time.monotonic() - idle_since >= self.IDLE_EXIT and self._exit_if_idle(loop):
                        return
                    timeout = self.IDLE_EXIT
                else:
                    idle_since = time.monotonic()
                for timer in due or ():
                    self._call(timer.callback)
                if due:
                    continue  # a callback may have changed the timers or the watches
                for key, _ in loop.selector.select(timeout):
                    callback = key.data
                    if callback is None:
                        loop.drain_wakes()
                    elif not self._call_writable(callback):
                        self._unregister(loop, key.fd)
        except Exception:  # a bug of ours: log it, and let the next request start a new thread
            logger.exception("websocket reactor failed")
            with self._lock:
                if self._loop is loop:
                    self._loop = None
                    # Their sockets are not in the next thread's selector: their write
                    # deadlines (timers, which survive) drop those connections.
                    self._watched.clear()
            loop.close()

    def _prepare(self, loop: _Loop) -> tuple[Optional[list[Timer]], Optional[float]]:
        """Apply the pending watch requests and take the due timers. ``(None, _)`` when there is
        nothing at all to do (no timer, no watch); else the due timers and how long to wait."""
        with self._lock:
            self._woken = False
            requests, self._requests = self._requests, []
            heap = self._heap
            due: list[Timer] = []
            now = time.monotonic()
            while heap and (heap[0][2].cancelled or heap[0][0] <= now):
                timer = heapq.heappop(heap)[2]
                if not timer.cancelled:
                    due.append(timer)
            timeout = max(0.0, heap[0][0] - now) if heap else None
        for fd, callback in requests:
            if callback is None:
                self._unregister(loop, fd)
            else:
                self._register(loop, fd, callback)
        if not due and timeout is None and not self._watched:
            return None, None
        return due, timeout

    def _exit_if_idle(self, loop: _Loop) -> bool:
        """End the thread when still nothing is asked of it (decided under the lock, so a
        request that comes now starts a new thread)."""
        with self._lock:
            if self._heap or self._requests or self._watched:
                return False
            self._loop = None
        loop.close()
        return True

    def _register(self, loop: _Loop, fd: int, callback: Writable) -> None:
        if fd in self._watched:
            loop.selector.modify(fd, selectors.EVENT_WRITE, callback)
        else:
            try:
                loop.selector.register(fd, selectors.EVENT_WRITE, callback)
            except (OSError, ValueError):  # closed already: the connection is over
                return
        self._watched[fd] = callback

    def _unregister(self, loop: _Loop, fd: int) -> None:
        if self._watched.pop(fd, None) is not None:
            try:
                loop.selector.unregister(fd)
            except (KeyError, OSError, ValueError):
                pass

    @staticmethod
    def _call(callback: Callable[[], None]) -> None:
        try:
            callback()
        except Exception:
            logger.exception("websocket timer failed")

    @staticmethod
    def _call_writable(callback: Writable) -> bool:
        try:
            return callback()
        except Exception:
            logger.exception("websocket write failed")
            return False


#: The process's one reactor (infrastructure, like a thread pool: no application state).
REACTOR = Reactor()
