"""The threading driver: a selector thread for waiting connections, a bounded pool of worker
threads for requests.

This is the gthread model: an idle keep-alive connection, or one still sending its request
head, costs a socket in the selector and no thread, so thousands of slow or idle clients
cannot exhaust the server. The selector thread accepts (at most ``max_connections`` open:
past it the oldest idle connection is closed, or the new one refused with a 503), does TLS
handshakes without blocking, reads heads as they arrive and enforces the waits that apply
(``keep_alive_timeout``, ``header_timeout``, the minimum receive rate). A complete head goes
to one of ``worker_threads`` workers, which serves it with straight-line blocking code
(:mod:`.threaded_connection`) and parks the connection again afterwards. An upgraded
connection (WebSocket) gets a thread of its own, outside the pool.
"""
from __future__ import annotations

import asyncio
import collections
import selectors
import socket
import ssl
import threading
import time
from typing import Optional

from ..http.connection import IDLE, NEED_DATA, Event
from ..utils.workers import WorkerPool
from .common import (
    ABORT_BUDGET,
    REFUSED,
    AppLike,
    BaseServer,
    client_address,
    drain_grace,
    logger,
    make_last,
    set_nodelay,
)
from .config import ServerConfig
from .threaded_connection import Connection, Outcome

__all__ = ["ThreadingServer"]

#: The longest the selector sleeps between two looks at the parked connections' deadlines
#: when few are parked; with many, the sweep runs less often (its cost grows with them).
_SWEEP_TICK = 0.1
_SWEEP_PER_CONNECTION = 1 / 20_000
#: How long stop_accepting() waits for the selector thread to close the port (s).
_PORT_WAIT = 0.5
#: Markers of the selector's two non-connection sockets.
_LISTENER = object()
_WAKE = object()


class ThreadingServer(BaseServer):
    """HTTP/1.1 server: a selector thread for waiting connections, ``worker_threads`` worker
    threads for requests (``handle_sync`` per request).

    Use ``serve_forever()`` on a thread of your own, or ``await serve()`` from a coroutine
    (the selector then runs on a helper thread); stop with ``stop_accepting()`` and
    ``shutdown()``. ``serve_forever()`` returns once every connection has ended (or been
    aborted at the cut-off); worker threads are daemons, so a handler that hangs does not
    keep the process alive after that.
    """

    def __init__(self, app: AppLike, config: Optional[ServerConfig] = None) -> None:
        super().__init__(app, config)
        self.stopping = False
        self._connections: set[Connection] = set()
        # Reentrant: shutdown() may run in a signal handler on the selector thread.
        self._lock = threading.RLock()
        # Notified whenever a connection ends or the cut-off moves.
        self._changed = threading.Condition(self._lock)
        #: When (time.monotonic) what is left is aborted; None until shutdown().
        self._cutoff: Optional[float] = None
        self._serving = False  # serve_forever runs
        self._stopped = threading.Event()
        self._stopped.set()  # nothing to wait for until serve_forever runs
        self._selector_ident: Optional[int] = None
        self._not_accepting = threading.Event()  # the selector thread has closed the port
        self._pool = WorkerPool(self.config.limits.worker_threads, "naja-atra-worker")
        # Connections workers hand back to the selector thread, which alone touches the
        # selector and the parked set; a byte on the wake socket tells it.
        self._to_park: collections.deque[Connection] = collections.deque()
        self._wake_w: Optional[socket.socket] = None
        self._wake_pending = False
        #: Connections waiting in the selector, oldest parked first (selector thread only).
        self._parked: dict[Connection, None] = {}

    @property
    def connection_count(self) -> int:
        """How many client connections are open right now."""
        return len(self._connections)

    @property
    def worker_count(self) -> int:
        """How many worker threads the pool has started (at most ``worker_threads``)."""
        return self._pool.thread_count

    # -- serving ------------------------------------------------------------------------
    def serve_forever(self) -> None:
        """Accept and serve until stopped, then drain (binds first if needed).

        Returns when the server has stopped accepting and every connection has ended:
        in-flight requests finished, or were aborted at the cut-off ``shutdown()`` set.
        """
        with self._lock:
            if self.stopping or self._serving:
                return
            self._serving = True
            self._selector_ident = threading.get_ident()
            self._stopped.clear()
            self._not_accepting.clear()
        try:
            self._run()
        finally:
            with self._lock:
                self._serving = False
                self._selector_ident = None
            self._not_accepting.set()
            self._pool.shutdown(wait=False)
            self._stopped.set()

    async def serve(self) -> None:
        """Run :meth:`serve_forever` on a helper thread and wait for it without blocking the loop.

        Cancelling the waiting coroutine shuts the server down.
        """
        loop = asyncio.get_running_loop()
        finished: asyncio.Future[None] = loop.create_future()

        def run() -> None:
            error: Optional[BaseException] = None
            try:
                self.serve_forever()
            except BaseException as exc:  # handed to the awaiting coroutine
                error = exc
            loop.call_soon_threadsafe(_settle, finished, error)

        threading.Thread(target=run, name="naja-atra-selector", daemon=True).start()
        try:
            await asyncio.shield(finished)
        except asyncio.CancelledError:
            await loop.run_in_executor(None, self.shutdown)
            raise

    def _run(self) -> None:
        self.bind()
        listener = self._listener
        if listener is None:  # shut down between the two lines above
            return
        listener.setblocking(False)
        wake_r, wake_w = socket.socketpair()
        wake_r.setblocking(False)
        wake_w.setblocking(False)
        with self._lock:
            if self.stopping:
                wake_r.close()
                wake_w.close()
                return
            self._wake_w = wake_w
        selector = selectors.DefaultSelector()
        # The listener is registered by number: stop_accepting() may close it from another
        # thread while the selector still holds it.
        listener_fd = listener.fileno()
        try:
            selector.register(listener_fd, selectors.EVENT_READ, _LISTENER)
            selector.register(wake_r, selectors.EVENT_READ, _WAKE)
            self.ready.set()
            self._select_loop(selector, listener, listener_fd, wake_r)
        except BaseException:
            if not self.stopping:  # the loop failed: stop for good, the usual way
                self.stop_accepting()
                self._set_cutoff(drain_grace(self.config, None))
            raise
        finally:
            self.ready.clear()
            self._close_listener()
            with self._lock:
                self._wake_w = None
            self._abort_all(selector)
            selector.close()
            wake_r.close()
            wake_w.close()

    def _select_loop(self, selector: selectors.BaseSelector, listener: socket.socket, listener_fd: int,
                     wake_r: socket.socket) -> None:
        """Until stopped and drained: accept, read what parked connections receive, hand
        complete requests to the workers, park what they hand back, sweep the deadlines."""
        listening = True
        next_sweep = time.monotonic() + _SWEEP_TICK
        while True:
            if self.stopping and listening:
                listening = False
                self.ready.clear()
                # The clients in the listen queue sent their requests in good faith: closing
                # the port would reset them, so they are taken (and served) first.
                for _ in range(0, self.config.backlog, 64):
                    if not self._accept_some(selector, listener):
                        break
                selector.unregister(listener_fd)
                self._close_listener()
                self._not_accepting.set()
                self._close_idle(selector)
            self._adopt_parked(selector)
            now = time.monotonic()
            if self.stopping:
                cutoff = self._cutoff
                if not self._connections or (cutoff is not None and now >= cutoff):
                    return
            if now >= next_sweep:
                self._sweep(selector, now)
                next_sweep = now + max(_SWEEP_TICK, len(self._parked) * _SWEEP_PER_CONNECTION)
            wait = next_sweep - now
            if self._cutoff is not None:
                wait = min(wait, self._cutoff - now)
            for key, _ in selector.select(max(0.0, wait)):
                data = key.data
                if data is _LISTENER:
                    if listening and not self.stopping:
                        self._accept_some(selector, listener)
                elif data is _WAKE:
                    try:
                        while wake_r.recv(4096):
                            pass
                    except (BlockingIOError, InterruptedError):
                        pass
                    # Only now: a worker that saw the flag still set before this line has
                    # its connection in _to_park, which the next turn of the loop adopts.
                    self._wake_pending = False
                else:
                    self._on_input(selector, data)

    # -- the selector thread's work ---------------------------------------------------
    def _accept_some(self, selector: selectors.BaseSelector, listener: socket.socket) -> bool:
        """Accept up to 64 connections (a burst costs fewer select calls); False when the
        listen queue is empty (or accepting fails)."""
        for _ in range(64):
            try:
                sock, peer = listener.accept()
            except (BlockingIOError, InterruptedError):
                return False
            except OSError as exc:
                # EMFILE and friends: leave the connection in the backlog and carry on.
                if not self.stopping:
                    logger.warning("accept failed: %r", exc)
                return False
            if len(self._connections) >= self.config.limits.max_connections and not self._evict_idle(selector):
                _refuse(sock)
                continue
            self._open(selector, sock, client_address(peer))
        return True

    def _open(self, selector: selectors.BaseSelector, sock: socket.socket, address: Optional[tuple[str, int]]) -> None:
        sock.setblocking(False)
        set_nodelay(sock)
        context = self.config.ssl_context
        if context is not None:
            try:
                sock = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
            except (ssl.SSLError, OSError):
                sock.close()
                return
        conn = Connection(self, sock, address)
        with self._lock:
            self._connections.add(conn)
        self._register(selector, conn)

    def _evict_idle(self, selector: selectors.BaseSelector) -> bool:
        """At ``max_connections``: close the connection idle for longest, if any is idle."""
        for conn in self._parked:
            if conn.reader.state is IDLE and not conn.reader.buf and not conn.tls_pending and not conn.lingering:
                self._drop(selector, conn)
                return True
        return False

    def _register(self, selector: selectors.BaseSelector, conn: Connection) -> None:
        try:
            selector.register(conn.sock, selectors.EVENT_READ, conn)
        except (ValueError, OSError):  # closed meanwhile (shutdown aborted it)
            self._forget_closed(conn)
            return
        self._parked[conn] = None
        conn.waiting(time.monotonic())

    def _adopt_parked(self, selector: selectors.BaseSelector) -> None:
        """Register the connections workers handed back."""
        to_park = self._to_park
        while to_park:
            conn = to_park.popleft()
            if self.stopping and not self._still_wanted(conn):
                self._forget_closed(conn)
                continue
            self._register(selector, conn)

    def _on_input(self, selector: selectors.BaseSelector, conn: Connection) -> None:
        """A parked connection is readable: handshake, read, and hand a complete request on."""
        if conn.tls_pending:
            done = conn.handshake()
            if done is None:
                return
            if not done:
                self._drop(selector, conn)
                return
        got = conn.fill()
        if got is False:
            self._drop(selector, conn)
            return
        if got is None or conn.lingering:
            return
        event = conn.reader.next_event()
        if event is NEED_DATA:
            conn.waiting(time.monotonic())
            return
        self._unpark(selector, conn)
        self._dispatch(conn, event)

    def _sweep(self, selector: selectors.BaseSelector, now: float) -> None:
        """Close (or answer 408 and linger) the parked connections whose wait ran out."""
        for conn in [conn for conn in self._parked if conn.expired(now)]:
            if conn.time_out() and conn.start_linger():
                continue
            self._drop(selector, conn)

    def _close_idle(self, selector: selectors.BaseSelector) -> None:
        """Stopping: close the parked connections that are between requests. One whose next
        request has arrived, even unread, is not idle; one receiving a head goes on."""
        for conn in list(self._parked):
            if not self._still_wanted(conn):
                self._drop(selector, conn)
            elif conn.reader.buf and not conn.lingering:
                event = conn.reader.next_event()
                if event is not NEED_DATA:
                    self._unpark(selector, conn)
                    self._dispatch(conn, event)

    @staticmethod
    def _still_wanted(conn: Connection) -> bool:
        """Stopping: does this parked connection have a request in flight?"""
        if conn.tls_pending:
            return False
        if conn.lingering:
            return True
        return conn.has_unread_input()

    def _unpark(self, selector: selectors.BaseSelector, conn: Connection) -> None:
        del self._parked[conn]
        selector.unregister(conn.sock)

    def _drop(self, selector: selectors.BaseSelector, conn: Connection) -> None:
        if conn in self._parked:
            del self._parked[conn]
            try:
                selector.unregister(conn.sock)
            except (KeyError, ValueError):
                pass
        self._forget_closed(conn)

    def _forget_closed(self, conn: Connection) -> None:
        conn.close()
        self.forget(conn)

    def _abort_all(self, selector: selectors.BaseSelector) -> None:
        """The end: close what is parked, cut what workers or upgrades still hold, and wait
        (bounded) for them to let go."""
        for conn in list(self._parked):
            self._drop(selector, conn)
        while self._to_park:
            self._forget_closed(self._to_park.popleft())
        with self._lock:
            left = list(self._connections)
        for conn in left:
            conn.abort()
        until = time.monotonic() + ABORT_BUDGET
        with self._changed:
            while self._connections:
                remaining = until - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)

    # -- the workers' side ------------------------------------------------------------
    def _dispatch(self, conn: Connection, event: Event) -> None:
        self._pool.run_soon(lambda: self._work(conn, event))

    def _work(self, conn: Connection, event: Event) -> None:
        outcome = conn.serve(event)
        if outcome is Outcome.UPGRADED:
            return
        if outcome is Outcome.PARK or (outcome is Outcome.LINGER and conn.start_linger()):
            self._park(conn)
        else:
            self._forget_closed(conn)

    def _park(self, conn: Connection) -> None:
        """Hand a connection back to the selector thread (from a worker)."""
        self._to_park.append(conn)
        self._wake()

    def pool_is_backlogged(self) -> bool:
        """True while requests wait for a worker (workers then do not wait for a next request)."""
        return self._pool.backlogged

    def _wake(self) -> None:
        if self._wake_pending:
            return
        self._wake_pending = True
        wake_w = self._wake_w
        if wake_w is not None:
            try:
                wake_w.send(b"x")
            except OSError:
                pass  # already closed, or its buffer full of wake-ups

    def forget(self, conn: Connection) -> None:
        """A connection ended (whoever held it last calls this)."""
        with self._changed:
            self._connections.discard(conn)
            self._changed.notify_all()
        if self.stopping:
            self._wake()

    # -- stopping -----------------------------------------------------------------------
    def stop_accepting(self) -> None:
        """Close the port and the idle connections; in-flight requests become the last.

        A connection counts as idle between requests (nothing of the next one received,
        not even unread); one receiving a request, handling one, or upgraded goes on. The
        request a busy connection handles is made its last, so its response says
        ``Connection: close`` (unless the application already sent the head). Idempotent,
        from any thread, a signal handler included. The selector thread closes the port
        (after taking the connections still in the listen queue) and the idle connections;
        called from another thread, this waits (briefly) until the port is closed.
        """
        with self._lock:
            self.stopping = True
            connections = list(self._connections)
            serving = self._serving
            waits = serving and self._selector_ident != threading.get_ident()
        self.ready.clear()
        self._wake_pending = False
        self._wake()
        if not serving:
            self._close_listener()  # never served: only the bound socket to release
        elif waits:
            self._not_accepting.wait(_PORT_WAIT)
        for conn in connections:
            if conn.busy:
                request = conn.request
                if request is not None:
                    make_last(request)

    def shutdown(self, timeout: Optional[float] = None) -> None:
        """Stop accepting, close upgraded connections, give in-flight requests ``timeout``.

        ``timeout`` None: ``config.shutdown_grace`` (at most 0.9 s), and the call returns
        within 2 s; otherwise within ``timeout`` + 0.9 s. Then the connections left are
        aborted (a sync controller that ignores its closed socket is left behind on its
        daemon worker thread). A second call with a shorter ``timeout`` brings the cut-off
        forward. Idempotent and callable from any thread; on the selector thread itself (a
        signal handler there) it only sets the cut-off: the drain follows when it returns.
        """
        grace = drain_grace(self.config, timeout)
        self.stop_accepting()
        with self._lock:
            upgraded = [conn for conn in self._connections if conn.upgraded]
            serving = self._serving and self._selector_ident != threading.get_ident()
        self._set_cutoff(grace)
        for conn in upgraded:
            conn.abort()
        if serving:
            self._stopped.wait(grace + ABORT_BUDGET)

    def _set_cutoff(self, grace: float) -> None:
        """Abort what is left ``grace`` seconds from now, unless an earlier cut-off is set."""
        with self._changed:
            cutoff = time.monotonic() + grace
            if self._cutoff is None or cutoff < self._cutoff:
                self._cutoff = cutoff
            self._changed.notify_all()
        self._wake_pending = False
        self._wake()


def _refuse(sock: socket.socket) -> None:
    """Past ``max_connections`` with nothing idle to close: a 503 (if it goes out at once)
    and the door."""
    try:
        sock.setblocking(False)
        sock.send(REFUSED)
    except OSError:
        pass
    finally:
        sock.close()


def _settle(future: asyncio.Future[None], error: Optional[BaseException]) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
