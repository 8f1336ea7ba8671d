"""The ``http`` scope.

- The body arrives as ``http.request`` events, pulled as the application reads it
  (:class:`~.body.AsgiBody`): streamed to a controller that takes a ``RequestBodyReader``,
  read whole (and spooled) before any other. The route's body limit applies as it is
  counted: past it the answer is 413 at once and nothing more is read.
- The response goes out as ``http.response.start`` then ``http.response.body``, read from
  the structured ``Outgoing``. Connection management is the server's: hop-by-hop headers
  (``Connection``, ``Transfer-Encoding``, ``Keep-Alive``, ...) are not passed on, and ASGI
  servers add ``Date`` themselves.
- One exception: an answer the adapter gives to input it refuses (a head the core refuses,
  such as one with both ``Transfer-Encoding`` and ``Content-Length``, which uvicorn's ``h11``
  and hypercorn pass on) or an error answered before the request body arrived to its end (a
  413, say) carries ``connection: close`` on HTTP/1.x. The server then closes the connection
  after it instead of reading on from where *it* thinks the request ended: if a proxy in
  front framed the request otherwise, the bytes behind it (a smuggled request) are never
  served. Per server: uvicorn (``--http h11`` and ``--http httptools``) and hypercorn close
  after a response that carries it (``httptools`` refuses TE+CL itself, with a 400 and a
  close, before the application runs). gunicorn's own ASGI worker (``-k asgi``, 27.0)
  forwards the header but keeps the connection and serves what follows: run uvicorn or
  hypercorn (or gunicorn with uvicorn workers) in front of untrusted framing. An HTTP/2
  stream needs no such thing (and may not carry the header). A request without
  ``Content-Length`` or ``Transfer-Encoding`` has no body on HTTP/1.x: nothing is left
  unread then.
- A file body (``StaticFile``, static ``resources``) is sent piece by piece
  (``more_body=True``); meanwhile an ``http.disconnect`` stops the sending and closes the file.
- ``Response.write_bytes`` streams through :class:`~.stream.ResponseStream`: each piece an
  ``http.response.body`` with ``more_body=True``, with backpressure (a writer waits until
  the server took its piece, at most ``write_timeout``) and ``ClientDisconnected`` once the
  client is gone. An error after streaming began cannot be answered any more; the adapter
  then raises :class:`~naja_atra.http.errors.StreamAborted`, on which ASGI servers cut the
  connection, so the client sees an incomplete body instead of a complete-looking one. The
  same goes for a client that read nothing for ``write_timeout``: uvicorn and hypercorn then
  close the connection, though their transport still holds what it buffered (some 64 KiB
  and a piece) until the client reads it or goes (ASGI gives an application no way to
  abort a connection), and log the abort.
- A ``send`` that raises ``OSError`` (the client is gone) ends the response quietly.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
from typing import TYPE_CHECKING, Awaitable, Callable

from ...http.errors import ProtocolError
from ...http.outgoing import Outgoing
from ...http.request_body import EMPTY_BODY, RequestBodyReader
from ...http.response import Response
from .body import AsgiBody, until_disconnect
from .events import Message, Receive, Scope, Send, asgi_headers
from .scope import make_request, request_head
from .stream import ResponseStream

if TYPE_CHECKING:
    from ...app.application import Application

__all__ = ["AsgiBody", "serve_http", "send_outgoing", "start_message"]

_CLOSE = (b"connection", b"close")


def start_message(out: Outgoing, kind: str = "http.response.start", close: bool = False) -> Message:
    """The start event of a response (or of a WebSocket refusal); ``close``: with
    ``connection: close`` (see the module notes)."""
    headers = asgi_headers(out.headers)
    if close:
        headers.append(_CLOSE)
    return {"type": kind, "status": out.status, "headers": headers}


async def send_outgoing(send: Send, receive: Receive, out: Outgoing, close: bool = False) -> None:
    """Send a response: the start event, then its body (a file piece by piece)."""
    try:
        await send(start_message(out, close=close))
        small = out.in_memory(limit=1 << 62)
        if small is not None:
            await send({"type": "http.response.body", "body": small})
            return
        # A file: watch for the client leaving, so that an abandoned download stops reading.
        gone = asyncio.ensure_future(until_disconnect(receive))
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


async def send_error(send: Send, error: ProtocolError, close: bool) -> None:
    """Answer input the core refused as the built-in servers do (plain text, no error page)."""
    out = Outgoing.error(error.code, error.message)
    with contextlib.suppress(OSError):
        await send(start_message(out, close=close))
        await send({"type": "http.response.body", "body": out.read_body()})


def _http1(scope: Scope) -> bool:
    """True for an HTTP/1.x scope (the ASGI default), where a response may close the connection."""
    return scope.get("http_version", "1.1") in ("1.0", "1.1")


async def serve_http(app: Application, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve one ``http`` scope."""
    try:
        head = request_head(scope, app.limits, websocket=False)
    except ProtocolError as error:
        await send_error(send, error, close=_http1(scope))
        return
    body: RequestBodyReader = EMPTY_BODY
    watch: Callable[[], Awaitable[None]] = functools.partial(until_disconnect, receive)
    if head.has_body or head.content_length is None:  # a body may come without a length (HTTP/2)
        body = asgi_body = AsgiBody(head.content_length, receive)
        watch = asgi_body.until_disconnect
    request = make_request(scope, head, body)
    request.upgrade = None  # an http scope cannot switch protocols (WebSockets come as websocket)
    response = Response()
    stream = ResponseStream(send, watch, app.limits.write_timeout)
    response.bind(request, stream)
    try:
        try:
            out = await app.dispatcher.handle_async(request, response)
        finally:
            request.release()
        if isinstance(body, AsgiBody) and body.disconnected and not stream.started:
            out.close_body()
            return  # the client left before its request was complete: nobody to answer
        if out.streamed:
            await stream.finish(request, response)
            return
        # On HTTP/1.x a request without Content-Length or Transfer-Encoding has no body.
        unread = head.has_body and isinstance(body, AsgiBody) and not body.complete
        await send_outgoing(send, receive, out, close=unread and out.status >= 400 and _http1(scope))
    finally:
        stream.close()
