"""One request served through the application, and the answer read back.

The raw request bytes are read as a server reads them (the same
:class:`~naja_atra.http.connection.RequestReader`, with the application's limits),
``app.dispatcher.handle_sync`` runs as the threading driver runs it, and the response is
taken from the structured ``Outgoing`` -- or, for a streamed response, from what the
controller sent through the response channel -- with the headers a socket would add
(``Date``, ``Connection``, the framing of a stream: :mod:`naja_atra.http.wire`), so a test
sees what a socket client receives.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Optional

from ..http.connection import END_OF_BODY, BodyData, RequestReader, RequestReceived, RequestRejected
from ..http.headers import HeaderMap
from ..http.outgoing import Outgoing
from ..http.request import Request
from ..http.response import Response
from ..http.status import reason_phrase
from ..http.wire import StreamFramer, wire_headers
from ..utils.threads import call_off_loop
from .errors import IncompleteResponse, TestClientError
from .response import TestResponse

if TYPE_CHECKING:
    from ..app.application import Application
    from .websocket import Upgrade


class _Recorder:
    """The channel of the live response: keeps what a streaming controller sends, in order
    (callable from any thread, like a driver's connection)."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self.framer: Optional[StreamFramer] = None
        self.ended = False
        self._pieces: list[bytes] = []
        self._lock = threading.Lock()

    def start(self, request: Request, status: int, headers: list[tuple[str, str]]) -> None:
        """Record the head, framed as a socket would frame it."""
        framer = StreamFramer(request.version, request.method == "HEAD", request.keep_alive)
        with self._lock:
            self.framer = framer
            self.status = status
            self.headers = wire_headers(request.version, framer.headers(headers), framer.close)

    def write(self, data: bytes) -> None:
        """Record one body piece."""
        with self._lock:
            self._pieces.append(bytes(data))

    def end(self) -> None:
        """Record that the body is complete."""
        with self._lock:
            self.ended = True

    def content(self) -> bytes:
        """Every body piece so far, joined."""
        with self._lock:
            return b"".join(self._pieces)


def exchange(app: Application, raw: bytes, scheme: str, netloc: str,
             client_address: tuple[str, int]) -> TestResponse:
    """Read ``raw`` as a server would, serve it, and return the response (the connection
    hand-over of a 101 is dropped: only
    :meth:`~naja_atra.testing.TestClient.websocket_connect` runs it)."""
    return serve(app, raw, scheme, netloc, client_address)[0]


def serve(app: Application, raw: bytes, scheme: str, netloc: str,
          client_address: tuple[str, int]) -> tuple[TestResponse, Optional[Upgrade]]:
    """:func:`exchange`, also handing back the ``Outgoing.upgrade`` of a 101 (or None).

    Bytes past the first request (pipelining) are ignored.
    """
    reader = RequestReader(app.limits)
    reader.feed(raw)
    event = reader.next_event()
    if isinstance(event, RequestRejected):
        # What both drivers answer before closing.
        out = Outgoing.error(event.error.code, event.error.message)
        return _response(out, "GET", f"{scheme}://{netloc}/"), None
    if not isinstance(event, RequestReceived):
        raise TestClientError("The request head is incomplete: a server would wait for more bytes")
    head = event.head
    pieces: list[bytes] = []
    while head.has_body:
        event = reader.next_event()
        if isinstance(event, BodyData):
            pieces.append(event.data)
        elif event is END_OF_BODY:
            break
        elif isinstance(event, RequestRejected):
            out = Outgoing.error(event.error.code, event.error.message)
            return _response(out, head.method, _url(head.target, scheme, netloc)), None
        else:
            raise TestClientError("The request body is shorter than its framing announces: "
                                  "a server would wait for more bytes")
    request = Request(head, b"".join(pieces), client_address=client_address, scheme=scheme)
    response = Response()
    channel = _Recorder()
    response.bind(request, channel)
    out = _dispatch(app, request, response)
    request.release()
    url = _url(head.target, scheme, netloc)
    if out.streamed:
        return _streamed_response(channel, out, request, url), None
    return _response(out, head.method, url), out.upgrade


def _url(target: str, scheme: str, netloc: str) -> str:
    return target if "://" in target else f"{scheme}://{netloc}{target}"


def _response(out: Outgoing, method: str, url: str) -> TestResponse:
    """The response a socket client would read for ``out`` (an unsized body framed as the
    socket drivers frame it: chunked on HTTP/1.1, until the close on HTTP/1.0)."""
    framer = out.framer()
    lines = out.headers if framer is None else framer.headers(out.headers)
    headers = HeaderMap(wire_headers(out.version, lines, out.close))
    return TestResponse(out.status, out.reason, out.version, headers, out.read_body(), method=method, url=url,
                        connection_close=out.close)


def _streamed_response(channel: _Recorder, out: Outgoing, request: Request, url: str) -> TestResponse:
    """The response a streaming controller sent; :class:`IncompleteResponse` when it never
    ended its body (a server cuts the connection there)."""
    framer = channel.framer
    close = out.close or (framer is not None and framer.close)
    response = TestResponse(channel.status, reason_phrase(channel.status), request.version,
                            HeaderMap(channel.headers), channel.content(), method=request.method, url=url,
                            connection_close=close or not channel.ended)
    if not channel.ended:
        raise IncompleteResponse(f"The response to {request.method} {url} was cut short (the server failed "
                                 "after it began streaming)", response)
    return response


def _dispatch(app: Application, request: Request, response: Response) -> Outgoing:
    """``handle_sync`` on this thread, or on a helper thread when this one runs an event
    loop (an async test): the dispatcher runs async controllers on a loop of its own,
    which cannot run inside another one. The caller's loop is blocked meanwhile."""
    dispatcher = app.dispatcher
    return call_off_loop(lambda: dispatcher.handle_sync(request, response), name="naja_atra-testclient")
