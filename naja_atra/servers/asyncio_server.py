"""The asyncio driver: an ``asyncio.Protocol`` per connection (no streams: this is the fast path).

Bytes arrive in ``data_received`` and go straight into the connection's
:class:`~naja_atra.http.connection.RequestReader`; each complete request runs
``dispatcher.handle_async`` in a task, and the :class:`Outgoing` it returns is written with
``transport.write`` after ``encode_head`` (awaiting a drain between the pieces of a file body when the
transport asks us to pause).

Timeouts use one lazily re-armed timer per connection: a phase change only stores a new
deadline, and the timer, when it fires, either acts or re-arms itself for the stored
deadline. So a keep-alive connection creates about one timer handle per
``keep_alive_timeout`` rather than one per request.
"""
from __future__ import annotations

import asyncio
import sys
import threading
import time
import weakref
from typing import Any, Callable, Coroutine, Optional

from ..http.connection import HEAD, IDLE, NEED_DATA, ReaderState, RequestReader, RequestReceived, RequestRejected
from ..http.outgoing import Outgoing
from ..http.request import Request
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

__all__ = ["AsyncioServer"]

# What the connection's timer guards (the phase it waits in).
_NONE = 0  # handling a request, or closed: no timeout
_WAIT_IDLE = 1  # between requests: keep_alive_timeout, then close
_WAIT_HEAD = 2  # a head (or, first request, anything): header_timeout, then 408 and close
_WAIT_BODY = 3  # body_timeout of silence, then close
_WAIT_DRAIN = 4  # the client does not read our response: body_timeout, then abort
_LINGER = 5  # after an error response: read and discard for a moment, then close

#: Bytes of pipelined input buffered while a request is handled before reading pauses.
_PIPELINE_HIGH_WATER = 64 * 1024
_LINGER_SECONDS = 1.0
#: While upgraded connections are open the drain looks at them this often (s): they tell
#: no one when they close.
_UPGRADED_TICK = 0.05
#: How long stop_accepting() called off the loop waits for the loop to close the port (s).
_HOP_WAIT = 0.5

# Python 3.12+ can start a task eagerly: a handler that finishes without suspending then
# costs no trip through the event loop. Earlier versions get a normal task.
_EAGER = sys.version_info >= (3, 12)


def _create_task(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    if _EAGER:
        return asyncio.Task(coro, loop=loop, eager_start=True)  # type: ignore[call-arg,unused-ignore]
    return loop.create_task(coro)


class _LoopWriter:
    """How a streaming controller writes to a connection: now on the loop's thread, handed
    to the loop from any other (``call_soon_threadsafe``)."""

    __slots__ = ("_proto", "_loop", "_ident")

    def __init__(self, proto: _HttpProtocol, loop: asyncio.AbstractEventLoop, ident: int) -> None:
        self._proto = proto
        self._loop = loop
        self._ident = ident

    def __call__(self, data: bytes) -> None:
        """Write ``data`` to the transport; ``ConnectionResetError`` once the connection is
        closed, so a streaming controller learns that its client is gone."""
        proto = self._proto
        if proto.closed:
            raise ConnectionResetError("the connection is closed")
        if not data:
            return
        if threading.get_ident() == self._ident:
            proto.write_now(data)
            return
        try:
            self._loop.call_soon_threadsafe(proto.write_now, bytes(data))
        except RuntimeError:  # the loop is closed: the server is gone
            raise ConnectionResetError("the connection is closed") from None


class _HttpProtocol(asyncio.Protocol):
    """One HTTP/1.1 connection."""

    def __init__(self, server: AsyncioServer, loop: asyncio.AbstractEventLoop, ident: int) -> None:
        self._server = server
        self._loop = loop
        self._limits = server.config.limits
        self._reader = RequestReader(self._limits)
        self._cycle = RequestCycle(self._limits.keep_alive_max_requests)
        self._channel = StreamChannel(_LoopWriter(self, loop, ident))
        self._transport: Optional[asyncio.Transport] = None
        self._address: Optional[tuple[str, int]] = None
        self.closed = False  # connection_lost has run
        self._closing = False  # we asked the transport to close: ignore further input
        self.busy = False  # a request is being handled
        self._eof = False
        self._in_process = False
        self._reading_paused = False
        self._writing_paused = False
        self._drain_waiter: Optional[asyncio.Future[None]] = None
        self._task: Optional[asyncio.Task[None]] = None
        #: The request being handled (while ``busy``): stopping makes it the last one.
        self._request: Optional[Request] = None
        self._phase = _NONE
        self._deadline = 0.0
        self._timer: Optional[asyncio.TimerHandle] = None

    # -- asyncio.Protocol ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Register the connection and start the first request's head timeout."""
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        set_nodelay(transport.get_extra_info("socket"))
        self._address = client_address(transport.get_extra_info("peername"))
        self._server._protocols.add(self)
        if self._server.stopping:
            self.abort()
            return
        # The first request's head must be complete header_timeout after the accept.
        self._arm(_WAIT_HEAD, self._limits.header_timeout)

    def data_received(self, data: bytes) -> None:
        """Buffer the bytes; parse and dispatch unless a request is being handled."""
        reader = self._reader
        if self._closing:
            return  # discarding what follows an error response or a close
        reader.buf += data
        if self.busy:
            # Pipelined input waits for the current response; don't let it grow unbounded.
            if not self._reading_paused and len(reader.buf) > _PIPELINE_HIGH_WATER:
                self._pause_reading()
            return
        if self._phase == _WAIT_BODY:
            # Silence is what body_timeout measures: any data moves the deadline.
            self._deadline = self._loop.time() + self._limits.body_timeout
        self._process()

    def eof_received(self) -> Optional[bool]:
        """The client half-closed: finish the request in hand, then close."""
        self._eof = True
        if self.busy:
            return True  # keep the transport open to write the response
        return None

    def connection_lost(self, exc: Optional[Exception]) -> None:
        """Deregister, stop the timer and wake a writer waiting for a drain."""
        self.closed = True
        self._phase = _NONE
        self._server._forget(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._wake_writer()

    def pause_writing(self) -> None:
        """The transport's buffer is full: streamed bodies wait for :meth:`resume_writing`."""
        self._writing_paused = True

    def resume_writing(self) -> None:
        """The transport's buffer drained: let a waiting writer go on."""
        self._writing_paused = False
        self._wake_writer()

    # -- reading and dispatching --------------------------------------------------------
    def _process(self) -> None:
        """Serve every complete request in the buffer, then wait for more bytes."""
        reader = self._reader
        self._in_process = True
        try:
            while not self._closing:
                event = reader.next_event()
                if isinstance(event, RequestReceived):
                    self._dispatch(event)
                    if self.busy:
                        return  # the task calls _process again when the response is out
                elif event is NEED_DATA:
                    self._wait_for_data(reader.state)
                    return
                elif isinstance(event, RequestRejected):
                    self._fail(event.error.code, event.error.message)
                    return
                else:  # SEND_CONTINUE
                    self.write_now(CONTINUE_100)
        finally:
            self._in_process = False

    def _wait_for_data(self, phase: ReaderState) -> None:
        if self._eof:
            self._close()  # nothing more will come
            return
        if phase is IDLE:
            if self._cycle.served:
                self._arm(_WAIT_IDLE, self._limits.keep_alive_timeout)
            # else: the first request keeps the head deadline counted from the accept
        elif phase is HEAD:
            if self._phase != _WAIT_HEAD:
                self._arm(_WAIT_HEAD, self._limits.header_timeout)  # from the first byte
        elif self._phase != _WAIT_BODY:
            self._arm(_WAIT_BODY, self._limits.body_timeout)
        if self._reading_paused:
            self._reading_paused = False
            assert self._transport is not None
            self._transport.resume_reading()

    def _dispatch(self, event: RequestReceived) -> None:
        """Run the application on a request in a task."""
        self._phase = _NONE
        request, response = self._cycle.begin(event.head, event.body, self._channel, self._address,
                                              self._server.scheme, self._server.stopping)
        self.busy = True
        self._request = request
        self._task = _create_task(self._loop, self._respond(request, response))

    async def _respond(self, request: Request, response: Response) -> None:
        try:
            try:
                out = await self._server.app.dispatcher.handle_async(request, response)
            except Exception as exc:
                out = internal_error(exc)
            await self._write_outgoing(out)
        except asyncio.CancelledError:
            self.abort()
            raise
        except Exception:
            logger.exception("unexpected error on connection %s", self._address)
            self.abort()
            return
        finally:
            self._task = None
        self._after_response(request, out)

    def _after_response(self, request: Request, out: Outgoing) -> None:
        self.busy = False
        self._request = None
        if self._closing:
            return
        if self._take_over(out):
            return
        if not self._cycle.end(request, out, self._channel, self._server.stopping):
            self._close()
        elif not self._in_process:
            # Resumed from the task: serve what was pipelined meanwhile. (When an eager task
            # finished inside _process, its loop simply goes on.)
            self._process()

    def _take_over(self, out: Outgoing) -> bool:
        """The seam for protocol upgrades (WebSocket): hand the transport to ``out.upgrade``.

        An ``Outgoing`` that carries an ``upgrade`` callable (after a ``101 Switching
        Protocols`` head) is called with the transport and the bytes already read past
        the request, and returns the ``asyncio.Protocol`` that takes the connection over.
        The connection then no longer counts here: the new protocol owns it.
        """
        upgrade: Optional[Callable[[asyncio.Transport, bytes], asyncio.BaseProtocol]] = out.upgrade
        if upgrade is None:
            return False
        assert self._transport is not None
        leftover = bytes(self._reader.buf)
        self._reader.buf.clear()
        self._phase = _NONE
        self._closing = True  # nothing more for this protocol to do
        self._server._forget(self)
        self._server._upgraded.add(self._transport)
        if self._reading_paused:
            self._reading_paused = False
            self._transport.resume_reading()
        self._transport.set_protocol(upgrade(self._transport, leftover))
        return True

    # -- writing ------------------------------------------------------------------------
    def write_now(self, data: bytes) -> None:
        """Write on the loop thread, unless the connection is already closed."""
        if not self.closed and self._transport is not None:
            self._transport.write(data)

    async def _write_outgoing(self, out: Outgoing) -> None:
        if out.streamed:
            return  # it went out through the channel
        head = encode_head(out.version, out.status, out.headers, out.close)
        small = out.in_memory()
        if small is not None:  # in memory: nothing to close
            self.write_now(head + small if small else head)
            if self._writing_paused:
                await self._drain()
            return
        try:
            self.write_now(head)
            for piece in out.body:
                if self.closed:
                    break
                if piece:
                    self.write_now(piece)
                if self._writing_paused:
                    await self._drain()
        finally:
            out.close_body()

    async def _drain(self) -> None:
        """Wait until the transport wants more (or the connection is gone)."""
        if self.closed:
            return
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._drain_waiter = waiter
        self._arm(_WAIT_DRAIN, self._limits.body_timeout)
        try:
            await waiter
        finally:
            self._drain_waiter = None
            if self._phase == _WAIT_DRAIN:
                self._phase = _NONE

    def _wake_writer(self) -> None:
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _pause_reading(self) -> None:
        assert self._transport is not None
        self._reading_paused = True
        self._transport.pause_reading()

    # -- timeouts -----------------------------------------------------------------------
    def _arm(self, phase: int, timeout: float) -> None:
        """Wait in ``phase`` until ``timeout`` from now, reusing the pending timer if it fires sooner."""
        deadline = self._loop.time() + timeout
        self._phase = phase
        self._deadline = deadline
        timer = self._timer
        if timer is None:
            self._timer = self._loop.call_at(deadline, self._on_timer)
        elif timer.when() > deadline:
            timer.cancel()
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        phase = self._phase
        if phase == _NONE or self.closed:
            return
        if self._loop.time() < self._deadline:
            self._timer = self._loop.call_at(self._deadline, self._on_timer)
            return
        self._phase = _NONE
        if phase == _WAIT_HEAD and self._reader.buf:
            self._fail(408, "Request Timeout")  # a partial head: tell the client why
        elif phase == _WAIT_DRAIN:
            self.abort()
        else:
            self._close()

    # -- closing ------------------------------------------------------------------------
    def _fail(self, code: int, message: str) -> None:
        """Answer a protocol error and close, reading what the client still sends for a moment.

        Closing with unread input makes the kernel send a reset, which can destroy the
        error response before the client reads it: half-close first, close after.
        """
        transport = self._transport
        assert transport is not None
        self.write_now(error_bytes(code, message))
        self._reader.buf.clear()
        if self._reading_paused:
            self._reading_paused = False
            transport.resume_reading()
        if transport.can_write_eof():
            transport.write_eof()
            self._closing = True
            self._arm(_LINGER, _LINGER_SECONDS)
        else:
            self._close()

    def _close(self) -> None:
        """Close after the buffered output is flushed."""
        self._phase = _NONE
        self._closing = True
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()

    def abort(self) -> None:
        """Close now, dropping buffered output, and cancel the request being handled."""
        self._phase = _NONE
        self._closing = True
        if self._transport is not None:
            self._transport.abort()
        task = self._task
        if task is not None and not task.done() and task is not _current_task():
            task.cancel()

    def stop(self) -> None:
        """For stop_accepting: close the connection if it is between requests, else make the
        request in hand its last (a request still being received is made the last when it
        is dispatched: the server is stopping by then)."""
        if self.busy:
            request = self._request
            if request is not None:
                make_last(request)
        elif not self._closing and self._reader.state is IDLE:
            self._close()


def _current_task() -> Optional[asyncio.Task[Any]]:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


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
        self._protocols: set[_HttpProtocol] = set()
        # Connections handed over by an upgrade: no longer ours to serve, still ours to close.
        self._upgraded: weakref.WeakSet[asyncio.Transport] = weakref.WeakSet()
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

    def _forget(self, proto: _HttpProtocol) -> None:
        self._protocols.discard(proto)
        self._wake_drain()

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
            server = await loop.create_server(
                lambda: _HttpProtocol(self, loop, ident),
                sock=listener,
                ssl=ssl_context,
                ssl_handshake_timeout=self.config.handshake_timeout if ssl_context else None,
                backlog=self.config.backlog,
            )
            try:
                self.ready.set()
                await self._stop_requested
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
                if not self._protocols and not upgraded:
                    break
                cutoff = self._cutoff
                wait: Optional[float] = None
                if cutoff is not None:
                    wait = cutoff - time.monotonic()
                    if wait <= 0:
                        break
                if upgraded:
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
