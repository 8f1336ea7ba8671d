"""One request served through the application, and the answer read back.

The raw request bytes are parsed as a server parses them, ``app.dispatcher.handle_sync``
runs as the threading driver runs it, and the response is read back from the bytes a
driver would have sent: the ``Outgoing`` plus what a streaming controller wrote to the
response channel (see the notes of :mod:`naja_atra.testing`).
"""
from __future__ import annotations

import asyncio
import sys
import threading
from typing import TYPE_CHECKING, Iterable, Optional

from ..http.body import ChunkedDecoder, body_decoder
from ..http.errors import ProtocolError
from ..http.headers import HeaderMap
from ..http.limits import Limits
from ..http.outgoing import Outgoing
from ..http.parser import RequestHead, parse_head
from ..http.request import Request
from ..http.response import Response
from ..http.wire import error_bytes
from .errors import IncompleteResponse, TestClientError
from .response import TestResponse

if TYPE_CHECKING:
    from ..app.application import Application
    from .websocket import _Upgrade

#: Responses are de-chunked without a size limit (the limits protect servers, not clients).
_RESPONSE_LIMITS = Limits(max_body_size=sys.maxsize)


class _Recorder:
    """The channel of the live response: keeps what a streaming controller writes, in order."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._lock = threading.Lock()

    def write(self, data: bytes) -> None:
        """Record ``data`` (callable from any thread, like a driver's connection)."""
        with self._lock:
            self._parts.append(bytes(data))

    def getvalue(self) -> bytes:
        """Everything written so far."""
        with self._lock:
            return b"".join(self._parts)


def exchange(app: Application, raw: bytes, scheme: str, netloc: str,
             client_address: tuple[str, int]) -> TestResponse:
    """Parse ``raw`` as a server would, serve it, and read the response back (the
    connection hand-over of a 101 is dropped: only
    :meth:`~naja_atra.testing.TestClient.websocket_connect` runs it)."""
    return serve(app, raw, scheme, netloc, client_address)[0]


def serve(app: Application, raw: bytes, scheme: str, netloc: str,
          client_address: tuple[str, int]) -> tuple[TestResponse, Optional[_Upgrade]]:
    """:func:`exchange`, also handing back the ``Outgoing.upgrade`` of a 101 (or None)."""
    upgrade: Optional[_Upgrade] = None
    limits = app.limits
    method, target = "GET", "/"
    try:
        parsed = parse_head(raw, limits)
        if parsed is None:
            raise TestClientError("The request head is incomplete: a server would wait for more bytes")
        head, consumed = parsed
        method, target = head.method, head.target
        body = _read_body(head, raw[consumed:], limits)
    except ProtocolError as error:
        # What both drivers answer before closing (see servers.common.RequestReader users).
        wire = error_bytes(error.code, error.message)
        close = True
    else:
        request = Request(head, body, client_address=client_address, scheme=scheme)
        response = Response()
        channel = _Recorder()
        response.bind(request, channel)
        out = _dispatch(app, request, response)
        upgrade = out.upgrade
        # Streamed: the head and chunks went to the channel, ``out`` holds nothing more.
        # Otherwise the channel is empty and ``out`` is the whole response.
        wire = channel.getvalue() + out.head + _drain(out.body)
        close = out.close
    url = target if "://" in target else f"{scheme}://{netloc}{target}"
    return _parse_response(wire, method, url, close), upgrade


def _dispatch(app: Application, request: Request, response: Response) -> Outgoing:
    """``handle_sync`` on this thread, or on a helper thread when this one runs an event
    loop (an async test): the dispatcher runs async controllers on a loop of its own,
    which cannot run inside another one. The caller's loop is blocked meanwhile."""
    dispatcher = app.dispatcher
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return dispatcher.handle_sync(request, response)
    result: list[Outgoing] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(dispatcher.handle_sync(request, response))
        except BaseException as exc:  # noqa: B036 - re-raised on the calling thread
            failure.append(exc)

    worker = threading.Thread(target=run, name="naja_atra-testclient", daemon=True)
    worker.start()
    worker.join()
    if failure:
        raise failure[0]
    return result[0]


def _read_body(head: RequestHead, rest: bytes, limits: Limits) -> bytes:
    """The body of the request ``head`` from the bytes after it, as the drivers read it."""
    decoder = body_decoder(head, limits)
    if decoder is None or decoder.done:
        return b""
    data, _ = decoder.feed(rest)
    if len(data) > limits.max_body_size:
        raise ProtocolError(413, "Content Too Large", "Request body too large")
    if not decoder.done:
        raise TestClientError("The request body is shorter than its framing announces: "
                              "a server would wait for more bytes")
    return data


def _drain(body: Iterable[bytes]) -> bytes:
    """Join the body pieces of an ``Outgoing`` (closing a file generator, as drivers do)."""
    try:
        return b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()


def _parse_response(wire: bytes, method: str, url: str, close: bool) -> TestResponse:
    """Read a response from the bytes a driver would have sent: head, then the body framed
    by ``Transfer-Encoding: chunked``, ``Content-Length`` or the end of the connection."""
    end = wire.find(b"\r\n\r\n")
    if end < 0:
        raise TestClientError(f"No response head for {method} {url}: {wire[:200]!r}")
    lines = wire[:end].decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code, _, reason = rest.partition(" ")
    headers = HeaderMap()
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.add(name, value.strip(" \t"))
    status = int(code)
    data = wire[end + 4:]
    complete = True
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        content = b""
    elif "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        decoder = ChunkedDecoder(_RESPONSE_LIMITS)
        try:
            content, _ = decoder.feed(data)
            complete = decoder.done
        except ProtocolError:
            content, complete = b"", False
    elif headers.get("Content-Length") is not None:
        length = int(headers.get("Content-Length") or "0")
        content, complete = data[:length], len(data) >= length
    else:
        content = data  # delimited by the end of the connection
    response = TestResponse(status, reason, version, headers, content, method=method, url=url,
                            connection_close=close or not complete)
    if not complete:
        raise IncompleteResponse(f"The response to {method} {url} was cut short (the server failed "
                                 "after it began streaming)", response)
    return response
