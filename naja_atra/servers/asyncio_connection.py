"""One HTTP/1.1 connection of the asyncio server: an ``asyncio.Protocol`` (no streams: this
is the fast path).

Bytes arrive in ``data_received`` and go straight into the connection's
:class:`~naja_atra.http.connection.RequestReader`; each request head runs
``dispatcher.handle_async`` in a task, its body (if any) is handed over as it arrives
(reading pauses while the application has not taken enough of it), and the
:class:`Outgoing` the application returns is written with ``transport.write`` after
``encode_head`` (awaiting a drain between the pieces of a file body when the transport asks
us to pause).

Timeouts use one lazily re-armed timer per connection: a phase change only stores a new
deadline, and the timer, when it fires, either acts or re-arms itself for the stored
deadline. So a keep-alive connection creates about one timer handle per
``keep_alive_timeout`` rather than one per request.
"""
from __future__ import annotations

import asyncio
import socket
import sys
import threading
from typing import TYPE_CHECKING, Any, Callable, Coroutine, Generator, Optional

from ..http.connection import (
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
from ..http.errors import ClientDisconnected, ProtocolError
from ..http.outgoing import Outgoing
from ..http.request import Request
from ..http.request_body import EMPTY_BODY, PushBody, RequestBodyReader
from ..http.response import Response
from ..http.wire import CONTINUE_100, encode_head, error_bytes
from .common import (
    REFUSED,
    RequestCycle,
    StreamChannel,
    client_address,
    internal_error,
    logger,
    make_last,
    set_nodelay,
)
from .receive_rate import ReceiveRate

if TYPE_CHECKING:
    from .asyncio_server import AsyncioServer

__all__ = ["HttpProtocol"]

# What the connection's timer guards (the phase it waits in).
_NONE = 0  # handling a request, or closed: no timeout
_WAIT_IDLE = 1  # between requests: keep_alive_timeout, then close
_WAIT_HEAD = 2  # a head (or, first request, anything): header_timeout, then 408 and close
_WAIT_BODY = 3  # body_timeout of silence, then close
_WAIT_DRAIN = 4  # the client does not read our response: write_timeout, then abort
_LINGER = 5  # after an error response: read and discard for a moment, then close

#: Bytes of pipelined input buffered while a request is handled before reading pauses.
_PIPELINE_HIGH_WATER = 64 * 1024
#: Bytes of a request body received but not yet taken by the application: reading pauses
#: above the high mark and resumes once the application is down to the low one.
_BODY_HIGH_WATER = 256 * 1024
_BODY_LOW_WATER = 64 * 1024
_LINGER_SECONDS = 1.0
#: Bytes a writer off the loop may have handed to the loop but not yet written: past it
#: the writer waits (so a streamed response is held to about this much plus the
#: transport's own buffer, whatever the client's speed).
_POSTED_HIGH_WATER = 64 * 1024

# Python 3.12+ can start a task eagerly: a handler that finishes without suspending then
# costs no trip through the event loop. Earlier versions get a normal task.
_EAGER = sys.version_info >= (3, 12)


def _create_task(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    if _EAGER:
        return asyncio.Task(coro, loop=loop, eager_start=True)  # type: ignore[call-arg,unused-ignore]
    return loop.create_task(coro)


class _LoopWriter:
    """How a streaming controller writes to a connection (the channel's ``send``).

    On the loop's thread it writes at once and, while the transport asks us to pause,
    returns an awaitable for the drain (``await response.write_bytes(...)``). From any other
    thread (a sync controller in the pool) the bytes are handed to the loop and the writer
    waits, at most ``write_timeout``, until the loop has written them and the transport is
    not paused: that is the backpressure a client that reads slowly exerts. Once the
    connection is gone, or the wait times out (the connection is then aborted), it raises
    :class:`~naja_atra.http.errors.ClientDisconnected`.
    """

    __slots__ = ("_proto", "_loop", "_ident")

    def __init__(self, proto: HttpProtocol, loop: asyncio.AbstractEventLoop, ident: int) -> None:
        self._proto = proto
        self._loop = loop
        self._ident = ident

    def __call__(self, data: bytes) -> Optional[_Drained]:
        proto = self._proto
        if proto.closed:
            raise ClientDisconnected("the connection is closed")
        if not data:
            return None
        if threading.get_ident() == self._ident:
            proto.write_now(data)
            return _Drained(proto) if proto.writing_paused else None
        proto.post(bytes(data))
        return None


class _Drained:
    """Awaitable: the transport wants more (or ``ClientDisconnected``)."""

    __slots__ = ("_proto",)

    def __init__(self, proto: HttpProtocol) -> None:
        self._proto = proto

    def __await__(self) -> Generator[Any, None, None]:
        yield from self._proto.drain().__await__()
        if self._proto.closed:
            raise ClientDisconnected("the connection is closed")


class HttpProtocol(asyncio.Protocol):
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
        self.writing_paused = False
        self._drain_waiter: Optional[asyncio.Future[None]] = None
        # Off-loop writers: bytes handed to the loop not yet written, and where they wait.
        self._posted = 0
        self._posted_changed = threading.Condition(threading.Lock())
        self._rate = ReceiveRate(self._limits)
        self._rate_mark = 0.0  # when waiting for the client last started (loop time)
        self._head_started = 0.0  # loop time of the current head's first byte (0: none yet)
        self._head_deadline = 0.0
        #: When this connection last became idle (loop time): the oldest idle one is closed
        #: first when ``max_connections`` is reached.
        self.idle_since = 0.0
        self._task: Optional[asyncio.Task[None]] = None
        #: The request being handled (while ``busy``): stopping makes it the last one.
        self._request: Optional[Request] = None
        #: The body of the request being handled while it still arrives.
        self._body: Optional[PushBody] = None
        self._phase = _NONE
        self._deadline = 0.0
        self._timer: Optional[asyncio.TimerHandle] = None

    # -- asyncio.Protocol ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Register the connection and start the first request's head timeout."""
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        if not self._server.adopt(self):
            transport.write(REFUSED)  # past max_connections with nothing idle to close
            self._close()
            return
        set_nodelay(transport.get_extra_info("socket"))
        self._address = client_address(transport.get_extra_info("peername"))
        self.idle_since = self._loop.time()
        if self._server.stopping:
            self.stop()  # taken from the backlog at the stop: served if its request is there
            if self._closing:
                return
        # The first request's head must be complete header_timeout after the accept.
        self._head_deadline = self.idle_since + self._limits.header_timeout
        self._arm(_WAIT_HEAD, self._limits.header_timeout)

    def data_received(self, data: bytes) -> None:
        """Buffer the bytes; parse and dispatch unless a request is being handled."""
        reader = self._reader
        if self._closing:
            return  # discarding what follows an error response or a close
        reader.buf += data
        if self._body is not None:
            if not self._reading_paused:
                now = self._loop.time()
                slow = not self._rate.record(len(data), now - self._rate_mark)
                self._rate_mark = now
                if slow:
                    self._body_too_slow()
                    return
            self._pump_body()
            return
        if self.busy:
            self._check_pipeline()
            return
        self._process()

    def _check_pipeline(self) -> None:
        """Pipelined input waits for the current response; don't let it grow unbounded."""
        if not self._reading_paused and len(self._reader.buf) > _PIPELINE_HIGH_WATER:
            self._pause_reading()

    def eof_received(self) -> Optional[bool]:
        """The client half-closed: finish the request in hand, then close."""
        self._eof = True
        if self._body is not None:
            self._pump_body()  # an unfinished body fails: nothing more will come
        if self.busy:
            return True  # keep the transport open to write the response
        return None

    def connection_lost(self, exc: Optional[Exception]) -> None:
        """Deregister, stop the timer and wake a writer waiting for a drain."""
        self.closed = True
        self._phase = _NONE
        body, self._body = self._body, None
        if body is not None:
            body.fail(ConnectionResetError("the connection closed before the body was complete"))
        self._server.forget(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._wake_writer()

    def pause_writing(self) -> None:
        """The transport's buffer is full: streamed bodies wait for :meth:`resume_writing`."""
        self.writing_paused = True

    def resume_writing(self) -> None:
        """The transport's buffer drained: let a waiting writer go on."""
        self.writing_paused = False
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
                else:  # body bytes nobody read (the application failed before it could)
                    self._close()
                    return
        finally:
            self._in_process = False

    def _wait_for_data(self, phase: ReaderState) -> None:
        if self._eof:
            self._close()  # nothing more will come
            return
        if phase is IDLE:
            if self._cycle.served:
                self.idle_since = self._loop.time()
                self._arm(_WAIT_IDLE, self._limits.keep_alive_timeout)
            # else: the first request keeps the head deadline counted from the accept
        elif phase is HEAD and not self._head_started:
            now = self._head_started = self._loop.time()
            if self._cycle.served:  # from the first byte (the first request's from the accept)
                self._head_deadline = now + self._limits.header_timeout
            self._arm_head(now)
        if self._reading_paused:
            self._reading_paused = False
            assert self._transport is not None
            self._transport.resume_reading()

    def _dispatch(self, event: RequestReceived) -> None:
        """Run the application on a request in a task; its body, if any, is handed over as
        it arrives (:meth:`_pump_body`)."""
        self._phase = _NONE
        self._head_started = 0.0
        head = event.head
        body: RequestBodyReader = EMPTY_BODY
        if head.has_body:
            self._rate.reset()
            self._rate_mark = self._loop.time()
            body = self._body = PushBody(
                head.content_length, self._loop, on_read=self._send_continue if head.expect_continue else None,
                on_drained=self._resume_body, low_water=_BODY_LOW_WATER)
            self._pump_body()
        request, response = self._cycle.begin(head, body, self._channel, self._address,
                                              self._server.scheme, self._server.stopping)
        self.busy = True
        self._request = request
        self._task = _create_task(self._loop, self._respond(request, response))

    # -- a body arriving while its request is handled -------------------------------------
    def _pump_body(self) -> None:
        """Hand the body bytes read so far to the request's body; pause reading while the
        application has not taken ``_BODY_HIGH_WATER`` bytes of it yet."""
        body = self._body
        assert body is not None
        reader = self._reader
        while True:
            event = reader.next_event()
            if isinstance(event, BodyData):
                body.feed(event.data)
            elif event is END_OF_BODY:
                body.end()
                self._body_done()
                if self.busy:
                    self._check_pipeline()
                return
            elif isinstance(event, RequestRejected):
                self._closing = True  # the framing broke: nothing more is read from this connection
                body.fail(event.error)
                self._body_done()
                return
            else:  # NEED_DATA
                if self._eof:
                    body.fail(ProtocolError(400, "Bad Request", "The connection closed before the body was complete"))
                    self._body_done()
                elif body.buffered > _BODY_HIGH_WATER:
                    # The application is behind: stop reading, and the waits with it (the
                    # client is not the slow one now).
                    if not self._reading_paused:
                        self._pause_reading()
                    self._phase = _NONE
                else:
                    # Silence (body_timeout) and the receive rate: any data moves the deadline.
                    self._arm(_WAIT_BODY, min(self._limits.body_timeout, self._rate.remaining()))
                return

    def _body_done(self) -> None:
        self._body = None
        if self._phase == _WAIT_BODY:
            self._phase = _NONE

    def _resume_body(self) -> None:
        """The application took the buffered body bytes: read on."""
        if self._body is not None and self._reading_paused and self._transport is not None:
            self._reading_paused = False
            self._transport.resume_reading()
            self._rate_mark = self._loop.time()
            self._arm(_WAIT_BODY, min(self._limits.body_timeout, self._rate.remaining()))

    def _send_continue(self) -> None:
        """The application waits for a body the client holds back: ask for it."""
        if not self._reader.buf:
            self.write_now(CONTINUE_100)

    async def _respond(self, request: Request, response: Response) -> None:
        try:
            try:
                out = await self._server.app.dispatcher.handle_async(request, response)
            except Exception as exc:
                out = internal_error(exc)
            finally:
                if request.reader is not EMPTY_BODY:
                    request.release()
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
        if self._body is not None or request.reader.failed:
            # The body did not end (or broke off): the response said Connection: close.
            self._body_done()
            self._closing = False
            self._close()
            return
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
        self._server.forget(self)
        self._server.hand_over(self._transport)
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
        # No Content-Length (a file gzipped as it goes): framed as a stream.
        framer = out.framer() if out.unsized else None
        if framer is None:
            head = encode_head(out.version, out.status, out.headers, out.close)
            small = out.in_memory()
            if small is not None:  # in memory: nothing to close
                self.write_now(head + small if small else head)
                if self.writing_paused:
                    await self._drain()
                return
        else:
            head = framer.head(out.status, out.headers)
        try:
            self.write_now(head)
            for piece in out.body:
                if self.closed:
                    break
                data = piece if framer is None else framer.piece(piece)
                if data:
                    self.write_now(data)
                if self.writing_paused:
                    await self._drain()
            if framer is not None:
                self.write_now(framer.end())  # the last chunk; nothing on HTTP/1.0 or for HEAD
        finally:
            out.close_body()

    async def _drain(self) -> None:
        """Wait until the transport wants more (or the connection is gone)."""
        if not self.closed:
            await self.drain()

    def drain(self) -> asyncio.Future[None]:
        """A future done once the transport wants more or the connection is gone; a client
        that reads nothing for ``write_timeout`` meanwhile is dropped (on the loop)."""
        waiter = self._drain_waiter
        if waiter is None or waiter.done():
            waiter = self._drain_waiter = self._loop.create_future()
            if self.closed or not self.writing_paused:
                waiter.set_result(None)
            else:
                self._arm(_WAIT_DRAIN, self._limits.write_timeout)
        return waiter

    def _wake_writer(self) -> None:
        waiter, self._drain_waiter = self._drain_waiter, None
        if self._phase == _WAIT_DRAIN:
            self._phase = _NONE
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        with self._posted_changed:
            self._posted_changed.notify_all()

    def post(self, data: bytes) -> None:
        """From a thread other than the loop's: have the loop write ``data``, then wait until
        it has and the transport wants more, at most ``write_timeout`` (the connection is
        dropped past it). Raises ``ClientDisconnected`` once the connection is gone."""
        size = len(data)
        changed = self._posted_changed
        with changed:
            self._posted += size
        try:
            self._loop.call_soon_threadsafe(self._write_posted, data)
        except RuntimeError:  # the loop is closed: the server is gone
            raise ClientDisconnected("the connection is closed") from None
        timeout = self._limits.write_timeout
        with changed:
            if not changed.wait_for(self._may_post, timeout):
                self._loop.call_soon_threadsafe(self._drop_slow_reader)
                raise ClientDisconnected(f"the client read nothing for {timeout:g} s")
        if self.closed:
            raise ClientDisconnected("the connection is closed")

    def _may_post(self) -> bool:
        return self.closed or (self._posted <= _POSTED_HIGH_WATER and not self.writing_paused)

    def _write_posted(self, data: bytes) -> None:
        self.write_now(data)
        with self._posted_changed:
            self._posted -= len(data)
            if self._may_post():
                self._posted_changed.notify_all()

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
        now = self._loop.time()
        if phase == _WAIT_BODY and self._body is not None:
            silent = now - self._rate_mark  # the mark moves with every byte of the body
            if self._rate.record(0, silent) and silent < self._limits.body_timeout:
                self._rate_mark = now
                self._arm(_WAIT_BODY, min(self._limits.body_timeout - silent, self._rate.remaining()))
                return
            self._body_too_slow()
        elif phase == _WAIT_HEAD and self._reader.buf:
            started = self._head_started
            if now < self._head_deadline and not (started and self._head_too_slow(now)):
                self._arm_head(now)  # it was the receive rate's turn, and the rate is fine
                return
            self._fail(408, "Request Timeout")  # a partial head: tell the client why
        elif phase == _WAIT_DRAIN:
            self._drop_slow_reader()
        else:
            self._close()

    def _arm_head(self, now: float) -> None:
        """Wait for the head until its deadline, or until the receive rate is due to be judged."""
        deadline = self._head_deadline
        if self._rate.enabled:
            deadline = min(deadline, now + self._rate.window)
        self._arm(_WAIT_HEAD, max(0.0, deadline - now))

    def _head_too_slow(self, now: float) -> bool:
        elapsed = now - self._head_started
        rate = self._rate
        return rate.enabled and elapsed >= rate.window and len(self._reader.buf) < rate.rate * elapsed

    def _body_too_slow(self) -> None:
        """The body stopped arriving, or arrives below the minimum rate: 408 to the application."""
        body = self._body
        if body is None:
            return
        self._body_done()
        self._closing = True
        body.fail(ProtocolError(408, "Request Timeout", "The request body is arriving too slowly"))

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
        try:
            if transport.can_write_eof():
                transport.write_eof()
                self._closing = True
                self._arm(_LINGER, _LINGER_SECONDS)
                return
        except OSError:  # the client is already gone (ENOTCONN): nothing left to tell it
            pass
        self._close()

    def _close(self) -> None:
        """Close after the buffered output is flushed."""
        self._phase = _NONE
        self._closing = True
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()

    def _drop_slow_reader(self) -> None:
        """A client read nothing for ``write_timeout``: close now, dropping buffered output.
        The handler is not cancelled: its next write raises ``ClientDisconnected``."""
        self._phase = _NONE
        self._closing = True
        if self._transport is not None:
            self._transport.abort()

    def abort(self) -> None:
        """Close now, dropping buffered output, and cancel the request being handled."""
        self._phase = _NONE
        self._closing = True
        if self._transport is not None:
            self._transport.abort()
        task = self._task
        if task is not None and not task.done() and task is not _current_task():
            task.cancel()

    def is_idle(self) -> bool:
        """Between requests, nothing of the next one received."""
        return not self.busy and not self._closing and self._reader.state is IDLE and not self._reader.buf

    def stop(self) -> None:
        """For stop_accepting: close the connection if it is between requests, else make the
        request in hand its last (a request still being received is made the last when it
        is dispatched: the server is stopping by then). Bytes of a next request the loop has
        not read yet make a connection not idle: they are a request in flight."""
        if self.busy:
            request = self._request
            if request is not None:
                make_last(request)
        elif self.is_idle() and not self._unread_input():
            self._close()

    def _unread_input(self) -> bool:
        """Has the kernel bytes for us that ``data_received`` has not seen yet? (Peeked on a
        duplicate of the socket: the transport's own may not be read from.)"""
        transport = self._transport
        raw = transport.get_extra_info("socket") if transport is not None else None
        if raw is None:
            return False
        try:
            with socket.fromfd(raw.fileno(), raw.family, raw.type) as dup:
                return bool(dup.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
        except (OSError, ValueError, AttributeError):
            return False


def _current_task() -> Optional[asyncio.Task[Any]]:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None
