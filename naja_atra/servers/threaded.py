"""The threading driver: an accept loop and one daemon thread per connection.

Blocking sockets keep the per-connection code straight-line: read until the reader has a
request, hand it to ``dispatcher.handle_sync``, write the :class:`Outgoing`, repeat while
the connection is kept alive. Every blocking read is bounded by a socket timeout derived
from the phase the reader is in (see :meth:`_Connection._receive`).
"""
from __future__ import annotations

import asyncio
import selectors
import socket
import ssl
import threading
import time
from typing import Optional

from ..http.connection import (
    BODY,
    END_OF_BODY,
    HEAD,
    IDLE,
    NEED_DATA,
    BodyData,
    ReaderState,
    RequestReader,
    RequestReceived,
    RequestRejected,
)
from ..http.errors import ProtocolError
from ..http.outgoing import Outgoing
from ..http.parser import RequestHead
from ..http.request import Request
from ..http.request_body import EMPTY_BODY, PullBody
from ..http.response import Response
from ..http.wire import CONTINUE_100, encode_head, error_bytes
from .common import (
    ABORT_BUDGET,
    AppLike,
    BaseServer,
    RequestCycle,
    StreamChannel,
    client_address,
    drain_grace,
    internal_error,
    logger,
    make_last,
    set_nodelay,
)
from .config import ServerConfig

__all__ = ["ThreadingServer"]

RECV_SIZE = 64 * 1024
#: After an error response, how long (s) and how much to read and discard before closing,
#: so the client's unsent body does not turn our close into a reset that eats the response.
_LINGER_SECONDS = 1.0
_LINGER_BYTES = 1024 * 1024
#: The longest the drain sleeps between two looks at its state (it is woken on every change).
_DRAIN_TICK = 1.0


class _ConnectionClosed(ConnectionError):
    """Writing to a connection that is already closed."""


class _Connection:
    """One client connection, served on its own thread.

    Its responses stream through :attr:`channel`, which sends right away under the write
    lock, so a controller streaming from another thread cannot interleave with the
    driver's own writes.
    """

    def __init__(
        self, server: ThreadingServer, sock: socket.socket, address: Optional[tuple[str, int]]
    ) -> None:
        self.server = server
        self.sock = sock
        self.address = address
        self.limits = server.config.limits
        self.reader = RequestReader(self.limits)
        self.cycle = RequestCycle(self.limits.keep_alive_max_requests)
        self.channel = StreamChannel(self._send)
        self.write_lock = threading.Lock()
        self.busy = False  # handling a request: shutdown() gives it the grace period
        self.upgraded = False  # handed to a protocol upgrade (WebSocket): not ours to drain
        self.continue_pending = False  # the client waits for 100 Continue before its body
        self.body_failed = False  # the body broke off: the connection cannot be reused
        #: The request being handled (while ``busy``): stopping makes it the last one.
        self.request: Optional[Request] = None
        self.closed = False
        self.thread: Optional[threading.Thread] = None
        # When the head being read must be complete; for the first request it counts from
        # the accept, for later ones from their first byte.
        self.head_deadline: Optional[float] = time.monotonic() + self.limits.header_timeout

    # -- the thread ---------------------------------------------------------------------
    def run(self) -> None:
        """Thread body: handshake, serve requests, and always close and deregister."""
        try:
            if self.server.config.ssl_context is not None and not self._handshake():
                return
            self._serve()
        except OSError as exc:  # the client went away, a timeout, or shutdown() cut it
            logger.debug("connection %s ended: %r", self.address, exc)
        except Exception:
            logger.exception("unexpected error on connection %s", self.address)
        finally:
            self.close()
            self.server._forget(self)

    def _handshake(self) -> bool:
        """TLS handshake, here rather than in the accept loop so a slow client stalls no one."""
        context = self.server.config.ssl_context
        assert context is not None
        tls = context.wrap_socket(self.sock, server_side=True, do_handshake_on_connect=False)
        self.sock = tls
        if self.server.stopping:
            return False
        tls.settimeout(self.server.config.handshake_timeout)
        try:
            tls.do_handshake()
        except (ssl.SSLError, OSError) as exc:
            logger.debug("TLS handshake with %s failed: %r", self.address, exc)
            return False
        return True

    def _serve(self) -> None:
        reader = self.reader
        server = self.server
        while True:
            event = reader.next_event()
            if event is NEED_DATA:
                # Once the server stops, a connection between requests ends; one in the middle
                # of receiving a request goes on (the request is in flight).
                if (server.stopping and reader.state is IDLE) or not self._receive():
                    return
            elif isinstance(event, RequestReceived):
                # Busy from here: the shutdown sweep must not take this connection for idle.
                self.busy = True
                head = event.head
                body = self._body_of(head) if head.has_body else EMPTY_BODY
                try:
                    request, response = self.cycle.begin(head, body, self.channel, self.address,
                                                          server.scheme, server.stopping)
                    try:
                        out = self._handle(request, response)
                    finally:
                        if body is not EMPTY_BODY:
                            request.release()
                    if out.upgrade is not None:
                        self.upgraded = True  # before busy drops, for the same reason
                finally:
                    self.busy = False
                if self._take_over(out):
                    return
                if not self.cycle.end(request, out, self.channel, server.stopping):
                    return
                self.head_deadline = None
            elif isinstance(event, RequestRejected):
                self._send(error_bytes(event.error.code, event.error.message))
                self._linger()
                return
            else:  # body bytes nobody read (the application failed before it could): give up
                return

    # -- reading ------------------------------------------------------------------------
    def _receive(self) -> bool:
        """Read once into the reader; False when the connection should end.

        The timeout depends on the phase: idle between requests ``keep_alive_timeout``
        (then close silently); reading a head, whatever is left until ``head_deadline`` (so
        a client trickling bytes cannot extend it; then 408); reading a body,
        ``body_timeout`` of silence per read (then close).
        """
        phase = self.reader.state
        now = time.monotonic()
        if phase is BODY:
            timeout = self.limits.body_timeout
        elif phase is IDLE and self.head_deadline is None:
            timeout = self.limits.keep_alive_timeout
        else:
            if self.head_deadline is None:
                self.head_deadline = now + self.limits.header_timeout
            timeout = self.head_deadline - now
            if timeout <= 0:
                return self._timed_out(phase)
        try:
            self.sock.settimeout(timeout)
            data = self.sock.recv(RECV_SIZE)
        except socket.timeout:
            return self._timed_out(phase)
        if not data:
            return False  # EOF: the client is gone (mid-body or between requests)
        self.reader.buf += data
        return True

    def _body_of(self, head: RequestHead) -> PullBody:
        """The request body, read from this connection when the application asks for it."""
        self.continue_pending = head.expect_continue
        self.body_failed = False
        return PullBody(head.content_length, self._pull_body, self._discard_body)

    def _pull_body(self) -> bytes:
        """The next piece of the body (``b""`` at its end), reading the socket as needed.

        The first read of a body the client holds back (``Expect: 100-continue``) sends
        ``100 Continue``. Silence for ``body_timeout`` is a 408, a connection closed early
        or malformed framing a 400; the connection closes after the answer.
        """
        reader = self.reader
        while True:
            event = reader.next_event()
            if isinstance(event, BodyData):
                return event.data
            if event is END_OF_BODY:
                return b""
            if isinstance(event, RequestRejected):
                self.body_failed = True
                raise event.error
            if self.continue_pending:
                self.continue_pending = False
                self._send(CONTINUE_100)
            try:
                self.sock.settimeout(self.limits.body_timeout)
                data = self.sock.recv(RECV_SIZE)
            except socket.timeout:
                self.body_failed = True
                raise ProtocolError(408, "Request Timeout", "The request body stopped arriving") from None
            if not data:
                self.body_failed = True
                raise ProtocolError(400, "Bad Request", "The connection closed before the body was complete")
            reader.buf += data

    def _discard_body(self) -> bool:
        """Drop the body bytes already read, without waiting; True when that was all of it."""
        if self.body_failed:
            return False
        reader = self.reader
        while True:
            event = reader.next_event()
            if event is END_OF_BODY:
                return True
            if not isinstance(event, BodyData):
                return False  # more to come (or broken): the connection closes after the response

    def _timed_out(self, phase: ReaderState) -> bool:
        if phase is HEAD:
            # A partial head: tell the client why (408) before closing.
            try:
                self._send(error_bytes(408, "Request Timeout"))
            except OSError:
                return False
            self._linger()
        return False

    # -- handling -----------------------------------------------------------------------
    def _handle(self, request: Request, response: Response) -> Outgoing:
        """Run the application on the request and write what it answers."""
        self.request = request
        try:
            try:
                out = self.server.app.dispatcher.handle_sync(request, response)
            except Exception as exc:
                out = internal_error(exc)
            self._write_outgoing(out)
        finally:
            self.request = None
        return out

    def _take_over(self, out: Outgoing) -> bool:
        """The seam for protocol upgrades (WebSocket): hand the socket to ``out.upgrade``.

        An ``Outgoing`` that carries an ``upgrade`` callable (after a ``101 Switching
        Protocols`` head) gets the socket and the bytes already read past the request;
        it runs on this thread and returns when the upgraded connection is over. Returns
        True when it took the connection.
        """
        upgrade = out.upgrade
        if upgrade is None:
            return False
        leftover = bytes(self.reader.buf)
        self.reader.buf.clear()
        self.sock.settimeout(None)
        upgrade(self.sock, leftover)
        return True

    # -- writing ------------------------------------------------------------------------
    def _send(self, data: bytes) -> None:
        """Send ``data`` now; callable from any thread (a streaming controller's included)."""
        with self.write_lock:
            if self.closed:
                raise _ConnectionClosed("the connection is closed")
            # A client that stops reading gets body_timeout before the send gives up.
            self.sock.settimeout(self.limits.body_timeout)
            self.sock.sendall(data)

    def _write_outgoing(self, out: Outgoing) -> None:
        if out.streamed:
            return  # it went out through the channel
        if out.unsized:  # no Content-Length (a file gzipped as it goes): framed as a stream
            framer = out.framer()
            assert framer is not None
            try:
                self._send(framer.head(out.status, out.headers))
                for piece in out.body:
                    data = framer.piece(piece)
                    if data:
                        self._send(data)
                tail = framer.end()
                if tail:
                    self._send(tail)
            finally:
                out.close_body()
            return
        head = encode_head(out.version, out.status, out.headers, out.close)
        small = out.in_memory()
        if small is not None:  # in memory: nothing to close
            self._send(head + small if small else head)
            return
        try:
            self._send(head)
            for piece in out.body:
                if piece:
                    self._send(piece)
        finally:
            out.close_body()

    # -- closing ------------------------------------------------------------------------
    def _linger(self) -> None:
        """Half-close, then drain what the client still sends for a moment, before closing.

        Closing a socket with unread input makes the kernel send a reset, which can
        destroy the error response before the client reads it.
        """
        try:
            self.sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + _LINGER_SECONDS
            drained = 0
            while drained < _LINGER_BYTES and not self.server.stopping:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self.sock.settimeout(remaining)
                data = self.sock.recv(RECV_SIZE)
                if not data:
                    return
                drained += len(data)
        except (OSError, ValueError):
            pass

    def abort(self) -> None:
        """Wake the thread out of any blocking call by shutting the socket down (any thread).

        The plain-socket shutdown is used on TLS sockets too: ``SSLSocket.shutdown`` would
        drop the TLS object under the feet of the thread reading it.
        """
        try:
            socket.socket.shutdown(self.sock, socket.SHUT_RDWR)
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        """Close the socket; later writes raise."""
        with self.write_lock:
            self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass


class ThreadingServer(BaseServer):
    """HTTP/1.1 server with one thread per connection (``handle_sync`` per request).

    Use ``serve_forever()`` on a thread of your own, or ``await serve()`` from a coroutine
    (the accept loop then runs on a helper thread); stop with ``stop_accepting()`` and
    ``shutdown()``. The thread that ran the accept loop also drains: ``serve_forever()``
    returns once every connection has ended (or been aborted at the cut-off).
    """

    def __init__(self, app: AppLike, config: Optional[ServerConfig] = None) -> None:
        super().__init__(app, config)
        self.stopping = False
        self._connections: set[_Connection] = set()
        # Reentrant: shutdown() may run in a signal handler on the accept thread.
        self._lock = threading.RLock()
        # Notified whenever a connection ends or the cut-off moves: the drain waits on it.
        self._changed = threading.Condition(self._lock)
        #: When (time.monotonic) the drain aborts what is left; None until shutdown().
        self._cutoff: Optional[float] = None
        self._serving = False  # serve_forever runs (accept loop or drain)
        self._stopped = threading.Event()
        self._stopped.set()  # nothing to wait for until serve_forever runs
        self._accept_ident: Optional[int] = None
        # A socket pair the accept loop selects on with the listener: stop_accepting()
        # writes a byte to wake it at once.
        self._wake_w: Optional[socket.socket] = None

    @property
    def connection_count(self) -> int:
        """How many client connections are open right now."""
        return len(self._connections)

    # -- serving ------------------------------------------------------------------------
    def serve_forever(self) -> None:
        """Accept connections until stopped, then drain them (binds first if needed).

        Returns when the server has stopped accepting and every connection has ended:
        in-flight requests finished, or were aborted at the cut-off ``shutdown()`` set.
        """
        with self._lock:
            if self.stopping or self._serving:
                return
            self._serving = True
            self._accept_ident = threading.get_ident()
            self._stopped.clear()
        try:
            self._accept_loop()
        finally:
            try:
                self._drain()
            finally:
                with self._lock:
                    self._serving = False
                    self._accept_ident = None
                self._stopped.set()

    def _accept_loop(self) -> None:
        self.bind()
        listener = self._listener
        if listener is None:  # shut down between the two lines above
            return
        listener.setblocking(False)
        wake_r, wake_w = socket.socketpair()
        wake_w.setblocking(False)
        with self._lock:
            if self.stopping:
                wake_r.close()
                wake_w.close()
                return
            self._wake_w = wake_w
        selector = selectors.DefaultSelector()
        try:
            selector.register(listener, selectors.EVENT_READ)
            selector.register(wake_r, selectors.EVENT_READ)
            self.ready.set()
            while not self.stopping:  # stop_accepting() sets it before writing to wake_w
                try:
                    events = selector.select()
                except OSError:
                    if self.stopping:  # select() over a listener stop_accepting() just closed
                        break
                    raise
                for key, _ in events:
                    if key.fileobj is listener and not self.stopping:
                        self._accept_some(listener)
        finally:
            self.ready.clear()
            selector.close()
            if not self.stopping:  # the loop failed: stop for good, the usual way
                self.stop_accepting()
                self._set_cutoff(drain_grace(self.config, None))
            self._close_listener()
            with self._lock:
                self._wake_w = None
            wake_r.close()
            wake_w.close()

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

        threading.Thread(target=run, name="naja-atra-accept", daemon=True).start()
        try:
            await asyncio.shield(finished)
        except asyncio.CancelledError:
            await loop.run_in_executor(None, self.shutdown)
            raise

    def _accept_some(self, listener: socket.socket) -> None:
        # Several per wake-up: a burst of clients costs fewer select calls.
        for _ in range(64):
            try:
                sock, peer = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                # EMFILE and friends: leave the connection in the backlog and carry on.
                if not self.stopping:
                    logger.warning("accept failed: %r", exc)
                    time.sleep(0.01)
                return
            self._start_connection(sock, client_address(peer))

    def _start_connection(self, sock: socket.socket, address: Optional[tuple[str, int]]) -> None:
        sock.setblocking(True)
        set_nodelay(sock)
        conn = _Connection(self, sock, address)
        thread = threading.Thread(target=conn.run, name=f"naja-atra-conn-{address}", daemon=True)
        conn.thread = thread
        with self._lock:
            if self.stopping:
                sock.close()
                return
            self._connections.add(conn)
        thread.start()

    def _forget(self, conn: _Connection) -> None:
        with self._changed:
            self._connections.discard(conn)
            self._changed.notify_all()

    # -- stopping -----------------------------------------------------------------------
    def stop_accepting(self) -> None:
        """Close the port and the idle connections; in-flight requests become the last.

        A connection counts as idle between requests (nothing of the next one received);
        one receiving a request, handling one, or upgraded goes on. The request a busy
        connection handles is made its last, so its response says ``Connection: close``
        (unless the application already sent the head). Idempotent, from any thread, a
        signal handler included; it does not wait.
        """
        with self._lock:
            self.stopping = True
            connections = list(self._connections)
            wake_w = self._wake_w
        self.ready.clear()
        if wake_w is not None:
            try:
                wake_w.send(b"x")
            except OSError:
                pass  # already closed by the accept loop, or its buffer full of wake-ups
        # The port is released right away, not when the accept loop gets round to it.
        self._close_listener()
        for conn in connections:
            if conn.busy:
                request = conn.request
                if request is not None:
                    make_last(request)
            elif not conn.upgraded and conn.reader.state is IDLE:
                conn.abort()

    def shutdown(self, timeout: Optional[float] = None) -> None:
        """Stop accepting, close upgraded connections, give in-flight requests ``timeout``.

        ``timeout`` None: ``config.shutdown_grace`` (at most 0.9 s), and the call returns
        within 2 s; otherwise within ``timeout`` + 0.9 s. Then the connections left are
        aborted (a sync controller that ignores its closed socket is left behind on its
        daemon thread). A second call with a shorter ``timeout`` brings the cut-off
        forward. Idempotent and callable from any thread; on the accept thread itself (a
        signal handler there) it only sets the cut-off: the drain follows when it returns.
        """
        grace = drain_grace(self.config, timeout)
        self.stop_accepting()
        with self._lock:
            upgraded = [conn for conn in self._connections if conn.upgraded]
            serving = self._serving and self._accept_ident != threading.get_ident()
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

    def _drain(self) -> None:
        """After the accept loop: wait for the connections to end until the cut-off, then abort.

        Before ``shutdown()`` sets a cut-off, the wait has no end: after ``stop_accepting()``
        alone the server keeps serving what it has (in-flight requests, WebSocket sessions)
        and returns when the last connection ends.
        """
        with self._changed:
            while self._connections:
                cutoff = self._cutoff
                if cutoff is None:
                    self._changed.wait(_DRAIN_TICK)
                    continue
                remaining = cutoff - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(min(remaining, _DRAIN_TICK))
            connections = list(self._connections)
        for conn in connections:
            conn.abort()
        self._join(connections, time.monotonic() + ABORT_BUDGET)

    def _join(self, connections: list[_Connection], until: float) -> None:
        me = threading.current_thread()
        for conn in connections:
            thread = conn.thread
            if thread is None or thread is me or not thread.is_alive():
                continue
            thread.join(max(0.0, until - time.monotonic()))


def _settle(future: asyncio.Future[None], error: Optional[BaseException]) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
