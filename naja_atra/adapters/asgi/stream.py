"""The channel of a streamed response (``Response.write_bytes``) under ASGI: each piece
becomes an ``http.response.body`` event with ``more_body=True``, sent in order by one task on
the event loop, with the backpressure and the disconnect signal of the ``Channel`` contract
(:class:`~naja_atra.http.response.Channel`).

- Backpressure is the ASGI ``send``: uvicorn and hypercorn make it wait while the client
  reads slowly (their transport's write buffer is full). A write from another thread than
  the loop's (a sync controller in the thread pool) hands its piece to the loop and returns
  only once that ``send`` returned, so one piece per stream is in flight, whatever the
  client does. A write on the loop's thread (an ``async`` controller) cannot wait: it queues
  the piece and returns a future done once it was sent, which ``await
  response.write_bytes(piece)`` waits for.
- Every ``send`` is bounded by ``write_timeout``: past it (a client that stopped reading) the
  send is cancelled, the stream is over (queued pieces are dropped, writes raise
  :class:`~naja_atra.http.errors.ClientDisconnected`) and :meth:`ResponseStream.finish`
  raises :class:`~naja_atra.http.errors.StreamAborted`, on which the server closes the
  connection.
- The client leaving arrives as ``http.disconnect`` from ``receive()``; uvicorn's ``send``
  then silently does nothing, so without looking, a handler would produce its whole
  response for nobody. Once the head is out, a watcher task waits for that event (``watch``:
  the request body's :meth:`~.body.AsgiBody.until_disconnect`, which shares ``receive()``
  with the body reader) and ends the stream: the next write raises ``ClientDisconnected``.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections import deque
from typing import TYPE_CHECKING, Awaitable, Callable, Optional, Union

from ...http.errors import ClientDisconnected, StreamAborted
from .events import Message, Send, asgi_headers

if TYPE_CHECKING:
    from ...http.request import Request
    from ...http.response import Response

__all__ = ["ResponseStream"]

#: Completion of one queued event: an asyncio future for writers on the loop's thread, a
#: concurrent one for writers on other threads (they block on it).
_Waiter = Union["asyncio.Future[None]", "concurrent.futures.Future[None]"]

_FINAL: Message = {"type": "http.response.body", "body": b""}


def _retrieve(future: asyncio.Future[None]) -> None:
    """Mark a failure as seen: an async controller may not await what ``write_bytes`` returns."""
    if not future.cancelled():
        future.exception()


def _settle(waiter: _Waiter, error: Optional[BaseException]) -> None:
    if waiter.done():
        return
    if error is None:
        waiter.set_result(None)
    else:
        waiter.set_exception(error)


class ResponseStream:
    """The :class:`~naja_atra.http.response.Channel` of a live response under ASGI (see the
    module notes). ``start`` and ``write`` may be called from any thread; everything else
    runs on the event loop."""

    def __init__(self, send: Send, watch: Callable[[], Awaitable[None]], write_timeout: float) -> None:
        self._send = send
        self._until_disconnect = watch
        self._timeout = write_timeout
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._queue: deque[tuple[Message, _Waiter]] = deque()
        self._sender: Optional[asyncio.Task[None]] = None
        self._watcher: Optional[asyncio.Task[None]] = None
        self._started = False
        #: Why the client can no longer be written to (None while it can).
        self._gone: Optional[str] = None
        self._timed_out = False
        self._error: Optional[BaseException] = None

    # -- the Channel --------------------------------------------------------------------------
    def start(self, request: Request, status: int, headers: list[tuple[str, str]]) -> None:
        """Send the head (from another thread: wait until it was sent)."""
        self._put({"type": "http.response.start", "status": status, "headers": asgi_headers(headers)})

    def write(self, data: bytes) -> Optional[asyncio.Future[None]]:
        """Send one body piece: from another thread, return once it was sent; on the loop's
        thread, return a future done then (see the module notes)."""
        if not data:
            return None
        return self._put({"type": "http.response.body", "body": bytes(data), "more_body": True})

    def end(self) -> None:
        """Nothing to send yet: :meth:`finish` sends the final event once the controller is done."""

    # -- for the adapter (on the loop) ---------------------------------------------------------
    @property
    def started(self) -> bool:
        """True once the head was handed over."""
        return self._started

    async def finish(self, request: Request, response: Response) -> None:
        """After the controller: wait until what it wrote was sent, then end the body.

        Returns quietly when the client left (the server knows); raises ``StreamAborted``
        when the controller failed after the head went out, when the client stopped reading
        for ``write_timeout`` or when the server refused an event: the server then drops
        the connection, the honest signal of an incomplete body.
        """
        if response.stream_closed and self._gone is None:
            await self._idle()
            self._stop_watching()
            if self._gone is None:
                final = self._future()
                self._enqueue(dict(_FINAL), final)
                await asyncio.wait([final])
        await self._idle()
        if self._error is not None:
            raise StreamAborted(f"the server refused the streamed response to {request.method} "
                                f"{request.path}") from self._error
        if self._timed_out:
            raise StreamAborted(f"the streamed response to {request.method} {request.path} was "
                                f"dropped: {self._gone}")
        if self._gone is None and not response.stream_closed:
            raise StreamAborted(f"the streamed response to {request.method} {request.path} failed")

    def close(self) -> None:
        """The request is over (or cancelled): writes from now on raise ``ClientDisconnected``
        and the tasks end."""
        self._abandon("the response is over")
        self._stop_watching()

    # -- internals ----------------------------------------------------------------------------
    def _put(self, message: Message) -> Optional[asyncio.Future[None]]:
        gone = self._gone
        if gone is not None:
            raise ClientDisconnected(gone)
        if threading.get_ident() == self._thread:
            future = self._future()
            self._enqueue(message, future)
            return future
        waiter: concurrent.futures.Future[None] = concurrent.futures.Future()
        try:
            self._loop.call_soon_threadsafe(self._enqueue, message, waiter)
        except RuntimeError:  # the loop is closed: so is the connection
            raise ClientDisconnected("the server is gone") from None
        try:
            waiter.result(self._timeout)
        except concurrent.futures.TimeoutError:
            reason = self._stalled_reason()
            try:
                self._loop.call_soon_threadsafe(self._time_out)
            except RuntimeError:
                pass
            raise ClientDisconnected(reason) from None
        return None

    def _future(self) -> asyncio.Future[None]:
        future: asyncio.Future[None] = self._loop.create_future()
        future.add_done_callback(_retrieve)
        return future

    def _enqueue(self, message: Message, waiter: _Waiter) -> None:
        """Queue one event (on the loop); ``waiter`` is settled once it was sent (or failed)."""
        if self._gone is not None:
            _settle(waiter, ClientDisconnected(self._gone))
        else:
            self._queue.append((message, waiter))
            if self._sender is None:
                self._sender = self._loop.create_task(self._drain())
            if message["type"] == "http.response.start":
                self._started = True
                self._watch()

    async def _drain(self) -> None:
        """Send the queued events in order, each bounded by ``write_timeout``."""
        queue = self._queue
        try:
            while queue and self._gone is None:
                message, waiter = queue[0]
                timer = self._loop.call_later(self._timeout, self._time_out)
                try:
                    await self._send(message)
                except OSError as exc:
                    self._abandon(f"the client is gone ({exc})")
                    return
                except Exception as exc:  # the server refused the event: nothing more can be sent
                    self._error = exc
                    self._abandon("the server refused the response")
                    return
                finally:
                    timer.cancel()
                if queue and queue[0][1] is waiter:
                    queue.popleft()
                _settle(waiter, None)
        finally:
            if self._sender is asyncio.current_task():
                self._sender = None

    async def _idle(self) -> None:
        """Wait until the sender task has nothing left (each send is bounded)."""
        while self._sender is not None:
            sender = self._sender
            await asyncio.wait([sender])
            if self._sender is sender:  # cancelled before it ran: its finally never did
                self._sender = None

    def _stalled_reason(self) -> str:
        return f"the client read nothing for {self._timeout:g} s"

    def _time_out(self) -> None:
        if self._gone is None:
            self._timed_out = True
            self._abandon(self._stalled_reason())

    def _abandon(self, reason: str) -> None:
        """The client cannot be written to any more: drop what is queued, fail its waiters,
        stop the pending send."""
        if self._gone is None:
            self._gone = reason
        sender = self._sender
        if sender is not None and sender is not asyncio.current_task():
            sender.cancel()
        queue = self._queue
        while queue:
            _, waiter = queue.popleft()
            _settle(waiter, ClientDisconnected(self._gone))

    def _watch(self) -> None:
        if self._watcher is None and self._gone is None:
            self._watcher = self._loop.create_task(self._watch_client())

    async def _watch_client(self) -> None:
        try:
            await self._until_disconnect()
        except Exception:  # a receive() that fails tells nothing about the client: stop watching
            return
        self._abandon("the client disconnected")

    def _stop_watching(self) -> None:
        watcher = self._watcher
        if watcher is not None and watcher is not asyncio.current_task():
            watcher.cancel()
