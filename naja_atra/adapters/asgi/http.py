"""The ``http`` scope.

- The body arrives as ``http.request`` events, pulled as the application reads it
  (:class:`AsgiBody`): streamed to a controller that takes a ``RequestBodyReader``, read
  whole (and spooled) before any other. The route's body limit applies as it is counted:
  past it the answer is 413 at once and nothing more is read.
- The response goes out as ``http.response.start`` then ``http.response.body``, read from
  the structured ``Outgoing``. Connection management is the server's: hop-by-hop headers
  (``Connection``, ``Transfer-Encoding``, ``Keep-Alive``, ...) are not passed on, and ASGI
  servers add ``Date`` themselves.
- A file body (``StaticFile``, static ``resources``) is sent piece by piece
  (``more_body=True``); meanwhile an ``http.disconnect`` stops the sending and closes the file.
- ``Response.write_bytes`` streams: each piece becomes an ``http.response.body`` with
  ``more_body=True`` as soon as the event loop runs (writes from other threads are handed to
  the loop). An error after streaming began cannot be answered any more; the adapter then
  raises :class:`~naja_atra.http.errors.StreamAborted`, on which ASGI servers cut the
  connection, so the client sees an incomplete body instead of a complete-looking one.
- A ``send`` that raises ``OSError`` (the client is gone) ends the response quietly.
"""
from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from typing import TYPE_CHECKING, Optional

from ...http.errors import ProtocolError, StreamAborted
from ...http.outgoing import Outgoing
from ...http.request import Request
from ...http.request_body import EMPTY_BODY, LoopBody, RequestBodyReader
from ...http.response import Response
from .events import Message, Receive, Scope, Send, asgi_headers
from .scope import make_request, request_head

if TYPE_CHECKING:
    from ...app.application import Application

__all__ = ["AsgiBody", "serve_http", "send_outgoing"]


class AsgiBody(LoopBody):
    """The request body from ``http.request`` events, pulled as the application reads it.

    An ``http.disconnect`` before its end is a 400 that nobody will read: ``disconnected``
    tells the adapter not to answer. A body left unread is the ASGI server's to discard.
    """

    def __init__(self, length: Optional[int], receive: Receive) -> None:
        super().__init__(length, asyncio.get_running_loop())
        self._receive = receive
        self._ended = False
        self.disconnected = False

    async def _next(self) -> bytes:
        while not self._ended:
            message = await self._receive()
            kind = message["type"]
            if kind == "http.request":
                data: bytes = message.get("body") or b""
                if not message.get("more_body", False):
                    self._ended = True
                if data:
                    return data
            elif kind == "http.disconnect":
                self._ended = self.disconnected = True
                raise ProtocolError(400, "Bad Request", "The client disconnected before its body was complete")
        return b""

    def discard_buffered(self) -> bool:
        self._pending = b""
        self.done = True
        return True


def start_message(out: Outgoing, kind: str = "http.response.start") -> Message:
    """The start event of a response (or of a WebSocket refusal)."""
    return {"type": kind, "status": out.status, "headers": asgi_headers(out.headers)}


async def _until_disconnect(receive: Receive) -> None:
    """Return once the client has gone (``http.disconnect``)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def send_outgoing(send: Send, receive: Receive, out: Outgoing) -> None:
    """Send a response: the start event, then its body (a file piece by piece)."""
    try:
        await send(start_message(out))
        small = out.in_memory(limit=1 << 62)
        if small is not None:
            await send({"type": "http.response.body", "body": small})
            return
        # A file: watch for the client leaving, so that an abandoned download stops reading.
        gone = asyncio.ensure_future(_until_disconnect(receive))
        try:
            for piece in out.body:
                if gone.done():
                    return
                await send({"type": "http.response.body", "body": piece, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            gone.cancel()
    except OSError:  # the client is gone: nobody is left to tell
        pass
    finally:
        out.close_body()


class _ResponseStream:
    """The channel of a live ``Response``: what ``write_bytes`` sends, as ASGI events.

    Its methods may be called from any thread; the events are sent in order by one task on
    the event loop.
    """

    def __init__(self, send: Send) -> None:
        self._send = send
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._messages: deque[Message] = deque()
        self._task: Optional[asyncio.Future[None]] = None
        self._gone = False
        self._error: Optional[BaseException] = None

    def start(self, request: Request, status: int, headers: list[tuple[str, str]]) -> None:
        """Queue the start event."""
        self._post({"type": "http.response.start", "status": status, "headers": asgi_headers(headers)})

    def write(self, data: bytes) -> None:
        """Queue one body piece."""
        if data:
            self._post({"type": "http.response.body", "body": bytes(data), "more_body": True})

    def end(self) -> None:
        """Nothing to queue: :meth:`finish` sends the final event once the controller is done."""

    def _post(self, message: Message) -> None:
        if threading.get_ident() == self._thread:
            self._push(message)
        else:
            self._loop.call_soon_threadsafe(self._push, message)

    def _push(self, message: Message) -> None:
        self._messages.append(message)
        if self._task is None:
            self._task = self._loop.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._messages:
                message = self._messages.popleft()
                if not self._gone:
                    try:
                        await self._send(message)
                    except OSError:
                        self._gone = True
        except Exception as exc:  # kept for finish(): the task itself is never awaited after it ended
            self._error = exc
            self._gone = True
        finally:
            self._task = None

    async def finish(self, request: Request, response: Response) -> None:
        """After the controller: send what is still queued, then end the body (or abort)."""
        while self._task is not None:
            await self._task
        if self._error is not None:
            raise self._error
        if not response.stream_closed:
            raise StreamAborted(f"the streamed response to {request.method} {request.path} failed")
        if not self._gone:
            with contextlib.suppress(OSError):
                await self._send({"type": "http.response.body", "body": b""})


async def send_error(send: Send, error: ProtocolError) -> None:
    """Answer input the core refused as the built-in servers do (plain text, no error page)."""
    out = Outgoing.error(error.code, error.message)
    with contextlib.suppress(OSError):
        await send(start_message(out))
        await send({"type": "http.response.body", "body": out.read_body()})


async def serve_http(app: Application, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve one ``http`` scope."""
    try:
        head = request_head(scope, app.limits, websocket=False)
    except ProtocolError as error:
        await send_error(send, error)
        return
    body: RequestBodyReader = EMPTY_BODY
    if head.has_body or head.content_length is None:  # a body may come without a length (HTTP/2)
        body = AsgiBody(head.content_length, receive)
    request = make_request(scope, head, body)
    request.upgrade = None  # an http scope cannot switch protocols (WebSockets come as websocket)
    response = Response()
    stream = _ResponseStream(send)
    response.bind(request, stream)
    try:
        out = await app.dispatcher.handle_async(request, response)
    finally:
        request.release()
    if isinstance(body, AsgiBody) and body.disconnected:
        out.close_body()
        return  # the client left before its request was complete: nobody to answer
    if out.streamed:
        await stream.finish(request, response)
    else:
        await send_outgoing(send, receive, out)
