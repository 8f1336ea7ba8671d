"""The asyncio driver: the listening socket, stopping and draining; each connection is an
:class:`~naja_atra.servers.asyncio_connection.HttpProtocol`.
"""
from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
import weakref
from typing import Any, Callable, Optional

from .asyncio_connection import HttpProtocol
from .common import ABORT_BUDGET, AppLike, BaseServer, drain_grace
from .config import ServerConfig

__all__ = ["AsyncioServer"]

#: While upgraded connections are open the drain looks at them this often (s): they tell
#: no one when they close.
_UPGRADED_TICK = 0.05
#: How long stop_accepting() called off the loop waits for the loop to close the port (s).
_HOP_WAIT = 0.5
#: How long the stop waits for the connections taken from the listen queue to be set up (s).
_BACKLOG_WAIT = 0.5


class AsyncioServer(BaseServer):
    """HTTP/1.1 server on an asyncio event loop (``await handle_async`` per request).

    ``await serve()`` runs in the caller's loop; ``serve_forever()`` makes a new loop on
    the calling thread. ``stop_accepting()`` and ``shutdown()`` work from any thread; the
    loop does the work, and ``serve()`` returns once every connection has ended (or been
    aborted at the cut-off).
    """

    def __init__(self, app: AppLike, config: Optional[ServerConfig] = None) -> None:
        super().__init__(app, config)
        self.stopping = False
        self._protocols: set[HttpProtocol] = set()
        # Connections handed over by an upgrade: no longer ours to serve, still ours to close.
        self._upgraded: weakref.WeakSet[asyncio.Transport] = weakref.WeakSet()
        # Connections accepted whose protocol is not connected yet (the transport, or its
        # TLS handshake, is being set up), with when: the drain must not end without them.
        self._opening: dict[HttpProtocol, float] = {}
        # Reentrant: shutdown() may run in a signal handler on the loop thread.
        self._state_lock = threading.RLock()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._loop_ident: Optional[int] = None
        self._stop_requested: Optional[asyncio.Future[None]] = None
        #: Resolved (on the loop) when a connection ends or the cut-off moves.
        self._changed: Optional[asyncio.Future[None]] = None
        #: When (time.monotonic) the drain aborts what is left; None until shutdown().
        self._cutoff: Optional[float] = None
        self._close_upgraded = False  # shutdown() asked: close the upgraded connections
        self._not_accepting = threading.Event()  # the loop has closed the port
        self._stopped = threading.Event()
        self._stopped.set()  # nothing to wait for until serve() runs

    @property
    def connection_count(self) -> int:
        """How many client connections are open right now."""
        return len(self._protocols)

    def adopt(self, proto: HttpProtocol) -> bool:
        """A connection opened (its protocol calls this). At ``max_connections`` the
        connection idle for longest is closed to make room; False when none is idle (the
        new one is then refused)."""
        self._opening.pop(proto, None)
        protocols = self._protocols
        if len(protocols) >= self.config.limits.max_connections:
            idle = [p for p in protocols if p.is_idle()]
            if not idle:
                return False
            oldest = min(idle, key=_idle_since)
            oldest.abort()
            protocols.discard(oldest)
        protocols.add(proto)
        return True

    def forget(self, proto: HttpProtocol) -> None:
        """A connection closed or was handed over to an upgrade (its protocol calls this)."""
        self._protocols.discard(proto)
        self._wake_drain()

    def hand_over(self, transport: asyncio.Transport) -> None:
        """A connection now belongs to an upgrade (WebSocket): still ours to close at shutdown."""
        self._upgraded.add(transport)

    def _wake_drain(self) -> None:
        """On the loop: let the drain look at its state again."""
        waiter = self._changed
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- serving ------------------------------------------------------------------------
    def serve_forever(self) -> None:
        """Serve on a new event loop in the calling thread until stopped and drained."""
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self.serve())
        finally:
            try:
                _cancel_leftovers(loop)
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    async def serve(self) -> None:
        """Listen and serve in the running loop until stopped, then drain (binds first if needed)."""
        loop = asyncio.get_running_loop()
        with self._state_lock:
            if self.stopping:
                return
            self._loop = loop
            self._loop_ident = threading.get_ident()
            self._stop_requested = loop.create_future()
            self._not_accepting.clear()
            self._stopped.clear()
        try:
            self.bind()
            listener = self._listener
            if listener is None:
                return
            ident = self._loop_ident
            ssl_context = self.config.ssl_context

            def factory() -> HttpProtocol:
                proto = HttpProtocol(self, loop, ident)
                self._opening[proto] = time.monotonic()
                return proto

            server = await loop.create_server(
                factory,
                sock=listener,
                ssl=ssl_context,
                ssl_handshake_timeout=self.config.handshake_timeout if ssl_context else None,
                backlog=self.config.backlog,
            )
            try:
                self.ready.set()
                await self._stop_requested
                # Connections the kernel accepted but we had not yet taken hold requests the
                # clients sent in good faith: serve them too (closing the port resets them).
                await self._accept_backlog(listener, factory)
            except asyncio.CancelledError:
                # Cancelled rather than stopped: stop now, with a plain shutdown()'s grace.
                self._set_stopping(drain_grace(self.config, None))
                raise
            finally:
                self.ready.clear()
                server.close()  # closes the listening socket: the port is free from here
                self._listener = None
                self._not_accepting.set()
                await self._drain()
        finally:
            self.stopping = True  # also when the serving task was cancelled: no restart
            self._close_listener()
            self._not_accepting.set()
            self._stopped.set()

    async def _accept_backlog(self, listener: socket.socket, factory: Callable[[], HttpProtocol]) -> None:
        """Stop accepting, then take the connections left in the listen queue (bounded by
        ``backlog``), and wait (at most ``_BACKLOG_WAIT``) until every accepted connection
        is set up: asyncio refuses to set up a connection once its server is closed."""
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, ValueError, OSError):
            loop.remove_reader(listener.fileno())
        context = self.config.ssl_context
        for _ in range(self.config.backlog):
            try:
                sock, _ = listener.accept()
            except OSError:  # BlockingIOError: the queue is empty
                break
            task = loop.create_task(loop.connect_accepted_socket(
                factory, sock, ssl=context,
                ssl_handshake_timeout=self.config.handshake_timeout if context else None))
            task.add_done_callback(_retrieve)
        until = time.monotonic() + _BACKLOG_WAIT
        await asyncio.sleep(0)
        while self._opening and time.monotonic() < until:
            await asyncio.sleep(0.005)

    async def _drain(self) -> None:
        """Close idle connections now, wait for the others until the cut-off, abort the rest.

        Before ``shutdown()`` sets a cut-off the wait has no end: after ``stop_accepting()``
        alone the server keeps serving what it has (in-flight requests, WebSocket sessions)
        and returns when the last connection ends. When the serving task is cancelled, the
        cut-off is that of a plain ``shutdown()``; cancelled again, everything is aborted.
        """
        loop = asyncio.get_running_loop()
        try:
            for proto in list(self._protocols):
                proto.stop()
            while True:
                if self._close_upgraded:
                    for transport in list(self._upgraded):
                        transport.close()
                upgraded = [t for t in self._upgraded if not t.is_closing()]
                opening = self._still_opening()
                if not self._protocols and not upgraded and not opening:
                    break
                cutoff = self._cutoff
                wait: Optional[float] = None
                if cutoff is not None:
                    wait = cutoff - time.monotonic()
                    if wait <= 0:
                        break
                if upgraded or opening:  # they tell no one when they change
                    wait = _UPGRADED_TICK if wait is None else min(wait, _UPGRADED_TICK)
                self._changed = loop.create_future()
                try:
                    await asyncio.wait_for(asyncio.shield(self._changed), wait)
                except asyncio.TimeoutError:
                    pass
                finally:
                    self._changed = None
        finally:
            # Also on cancellation: what is left is aborted, and that does not need awaiting.
            for proto in list(self._protocols):
                proto.abort()
            for transport in list(self._upgraded):
                transport.abort()
        await self._wait_all_closed(time.monotonic() + ABORT_BUDGET)
        self._protocols.clear()

    def _still_opening(self) -> bool:
        """Are connections being set up? (One whose TLS handshake outlived its timeout failed:
        asyncio does not tell the protocol.)"""
        opening = self._opening
        if opening:
            too_old = time.monotonic() - self.config.handshake_timeout - 1.0
            for proto in [proto for proto, since in opening.items() if since < too_old]:
                del opening[proto]
        return bool(opening)

    async def _wait_all_closed(self, until: float) -> None:
        loop = asyncio.get_running_loop()
        while self._protocols:
            remaining = until - time.monotonic()
            if remaining <= 0:
                return
            self._changed = loop.create_future()
            try:
                await asyncio.wait_for(asyncio.shield(self._changed), remaining)
            except asyncio.TimeoutError:
                return
            finally:
                self._changed = None

    # -- stopping -----------------------------------------------------------------------
    def stop_accepting(self) -> None:
        """Close the port and the idle connections; in-flight requests become the last.

        A connection counts as idle between requests (nothing of the next one received);
        one receiving a request, handling one, or upgraded goes on. Idempotent and callable
        from any thread. Off the loop's thread it waits (briefly) until the loop has closed
        the port; on it (a coroutine, a signal handler there) it only asks.
        """
        self._request_stop(None)

    def shutdown(self, timeout: Optional[float] = None) -> None:
        """Stop accepting, close upgraded connections, give in-flight requests ``timeout``.

        ``timeout`` None: ``config.shutdown_grace`` (at most 0.9 s), and the call returns
        within 2 s; otherwise within ``timeout`` + 0.9 s. Then the connections left are
        aborted and their handler tasks cancelled. A second call with a shorter ``timeout``
        brings the cut-off forward. Idempotent and callable from any thread; on the loop's
        own thread (a coroutine or a signal handler there) it cannot wait, so it only asks.
        """
        grace = drain_grace(self.config, timeout)
        if self._request_stop(grace):
            self._stopped.wait(grace + ABORT_BUDGET)

    def _set_stopping(self, grace: Optional[float]) -> None:
        """Mark the server stopping; with ``grace``, also close the upgraded connections and
        set the cut-off ``grace`` s from now (unless an earlier one is set)."""
        with self._state_lock:
            self.stopping = True
            if grace is not None:
                cutoff = time.monotonic() + grace
                if self._cutoff is None or cutoff < self._cutoff:
                    self._cutoff = cutoff
                self._close_upgraded = True

    def _request_stop(self, grace: Optional[float]) -> bool:
        """:meth:`_set_stopping`, then let the loop act on it. True when the caller may wait
        for the loop to finish (it is off the loop's thread)."""
        self._set_stopping(grace)
        with self._state_lock:
            loop = self._loop
            requested = self._stop_requested
        self.ready.clear()
        if loop is None or requested is None:
            self._close_listener()  # never served: only the bound socket to release
            return False
        try:
            # call_soon_threadsafe also wakes a loop blocked in select.
            loop.call_soon_threadsafe(self._on_stop, requested)
        except RuntimeError:
            return False  # the loop is closed: serve() has finished
        if threading.get_ident() == self._loop_ident:
            return False
        if grace is None:  # shutdown() waits for the whole stop instead
            self._not_accepting.wait(_HOP_WAIT)
        return True

    def _on_stop(self, requested: asyncio.Future[None]) -> None:
        """On the loop: end the accept phase of serve(), or wake its drain."""
        _resolve(requested)
        for proto in list(self._protocols):
            proto.stop()
        self._wake_drain()


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()  # a connection that failed to set up only loses that client


def _idle_since(proto: HttpProtocol) -> float:
    return proto.idle_since


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel the tasks serve() left (handlers still running at shutdown) and let them end."""
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.wait(tasks, timeout=0.5))
