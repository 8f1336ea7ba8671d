"""Serving an application from an ASGI 3 server (uvicorn, hypercorn, daphne, ...).

``AsgiAdapter(app)`` is an ASGI 3 application for the ``http``, ``websocket`` and ``lifespan``
scopes. ``Application.__call__`` delegates to one (created lazily as ``app.asgi``), so an
application *is* an ASGI app: ``uvicorn my_module:app``.

Like the built-in servers, the adapter is a thin driver: the request path (filters, routing,
injection, sessions, error pages, static files, WebSocket handshakes) is
``app.dispatcher.handle_async`` and nothing else. Decisions worth knowing:

HTTP
  - The request head is rebuilt as HTTP/1.x bytes from the scope (``raw_path`` when given, so
    percent-escapes are decoded by the core's rules: normalisation of ``..``/``//``, 400 for a
    bad escape; ``query_string``; ``headers``) and parsed by the core's own parser with the
    application's limits: header checks and limits, and the 413 for a ``Content-Length`` over
    ``max_body_size``, are exactly the built-in servers'. ``http_version`` ``"2"``/``"3"`` are
    parsed as HTTP/1.1, then ``request.version`` says ``HTTP/2``/``HTTP/3``. A missing ``Host``
    (HTTP/2 without ``:authority``) is taken from ``scope["server"]``. A ``root_path`` that
    prefixes ``path`` is removed: routes are relative to where the application is mounted.
  - ``request.environment`` is the ASGI scope; ``request.client_address`` its ``client``;
    ``request.scheme`` its ``scheme`` (``ws``/``wss`` read as ``http``/``https``).
  - The body arrives as ``http.request`` events and is counted as it comes: past
    ``limits.max_body_size`` the answer is 413 at once and nothing more is read. A client that
    disconnects before its body is complete gets nothing (the application is not called).
  - The response goes out as ``http.response.start`` then ``http.response.body``. Connection
    management is the server's: hop-by-hop headers (``Connection``, ``Transfer-Encoding``,
    ``Keep-Alive``, ...) are not passed on, nor ``Date``, which ASGI servers add themselves.
  - A file body (``StaticFile``, static ``resources``) is sent piece by piece
    (``more_body=True``); meanwhile an ``http.disconnect`` stops the sending and closes the file.
  - ``Response.write_bytes`` streams: each piece becomes an ``http.response.body`` with
    ``more_body=True`` as soon as the event loop runs (writes from other threads are handed to
    the loop). An error after streaming began cannot be answered any more; the adapter then
    raises :class:`StreamAborted` (the WSGI adapter's, re-exported here), on which ASGI servers
    cut the connection, so the client sees an incomplete body instead of a complete-looking one.
  - A ``send`` that raises ``OSError`` (the client is gone) ends the response quietly.

WebSocket
  - ``websocket.connect`` runs the handshake through the same pipeline, as a ``GET`` with the
    upgrade headers: filters, path values, sessions and the handshake callable apply as on the
    built-in servers. The ASGI server has already validated the real handshake and computes
    ``Sec-WebSocket-Accept`` itself, but the core's handshake check still wants
    ``Sec-WebSocket-Key``/``Version``, which some servers drop (HTTP/2 WebSockets, RFC 8441, have
    none). So the adapter keeps what the scope carries and adds what is missing: a random valid
    key, version 13, ``Upgrade``/``Connection``, and ``Sec-WebSocket-Protocol`` from
    ``scope["subprotocols"]``. ``Sec-WebSocket-Extensions`` is dropped: compression is the
    server's business, the core must not negotiate it.
  - Accepted (a ``101``): ``websocket.accept`` with the handler's extra headers; a
    ``Sec-WebSocket-Protocol`` header set by the handler becomes the ``subprotocol`` field.
    Refused (any other answer): with the ``websocket.http.response`` extension the refusal goes
    out as ``websocket.http.response.start``/``.body`` (status, headers and error page as on the
    built-in servers); without it, ``websocket.close`` before accepting, which ASGI servers
    answer with ``403``.
  - The ASGI server does the framing, so the ``Endpoint`` callbacks are driven by an
    :class:`AsgiWebsocketSession`: ``send`` posts ``websocket.send`` (safe from any thread, in
    order, through one writer task), ``close`` posts ``websocket.close``; after that the server
    completes the closing handshake and reports ``websocket.disconnect``, and ``on_close`` gets
    our code. A ``websocket.disconnect`` from the client gives ``on_close`` its code and reason.
    Sessions are in ``app.websocket_sessions``, so ``close_all`` (and the shutdown of the
    lifespan) closes them.
  - Not available under ASGI: pings and pongs (the server answers pings and may send its own;
    ``on_ping_message``/``on_pong_message`` are never called, ``send_ping``/``send_pong`` do
    nothing) and frames: a binary message arrives whole, so a handler's ``on_binary_frame`` is
    called once per message with ``fin=True`` (returning True still passes it on to
    ``on_binary_message``), and ``chunk_size`` does not fragment what is sent.
  - Callbacks run one at a time on the event loop (plain ones inline, like on the asyncio
    driver); one that raises is logged and closes the session with 1011. Messages over
    ``limits.max_websocket_message`` close it with 1009. While more than 64 of our messages
    wait for the client, the next incoming message waits too.

Lifespan
  - ``lifespan.startup`` builds the application and enters ``app.lifespan()`` (every plugin's
    ``naja_atra_lifespan`` context); a failure answers ``lifespan.startup.failed`` with the error.
    ``lifespan.shutdown`` closes the open WebSocket sessions (1001), exits the contexts in
    reverse order and answers ``lifespan.shutdown.complete`` (or ``.failed``). Without a
    lifespan the application is built on its first request.
"""
from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import os
import threading
from collections import deque
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable, MutableMapping, Optional, Union
from urllib.parse import quote

from ..http.errors import ProtocolError, StreamAborted
from ..http.limits import Limits
from ..http.outgoing import Outgoing
from ..http.parser import RequestHead, parse_head
from ..http.request import Request
from ..http.response import Response
from ..http.wire import error_bytes
from ..utils.logger import get_logger
from ..websocket.api import (
    WEBSOCKET_OPCODE_BINARY,
    WEBSOCKET_OPCODE_PING,
    WEBSOCKET_OPCODE_PONG,
    WEBSOCKET_OPCODE_TEXT,
)
from ..websocket.endpoint import Endpoint
from ..websocket.protocol import (
    BinaryFrame,
    BinaryMessage,
    Closed,
    Event,
    TextMessage,
    _truncate_utf8,
    _valid_wire_code,
)
from ..websocket.session import EventDispatcher, SessionBase, closed_reason, is_awaitable, lost_reason
from ..websocket.upgrade import WebsocketUpgrade

if TYPE_CHECKING:
    from ..app.application import Application

__all__ = ["AsgiAdapter", "AsgiWebsocketSession", "StreamAborted", "Scope", "Message", "Receive", "Send"]

#: An ASGI connection scope, and the events exchanged over it.
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_log = get_logger("naja_atra.asgi")

#: Response headers the ASGI server owns: connection management and framing, and Date.
_SERVER_HEADERS = frozenset((b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding",
                             b"upgrade", b"te", b"trailer", b"date"))
#: ... and on a WebSocket accept also the handshake headers the server computes.
_ACCEPT_DROPPED = _SERVER_HEADERS | {b"sec-websocket-accept", b"sec-websocket-extensions",
                                     b"sec-websocket-protocol", b"content-length"}
#: Request headers of a WebSocket scope replaced by canonical ones (see the module notes).
_WS_REPLACED = frozenset((b"upgrade", b"connection", b"sec-websocket-extensions"))
_SCHEMES = {"ws": "http", "wss": "https"}
#: Characters left unescaped when a decoded ``path`` has to be re-quoted (no ``raw_path``).
_PATH_SAFE = "/!$&'()*+,;=:@-._~"
#: Our queued WebSocket messages above which reading waits, and below which it resumes.
_BACKLOG_HIGH = 64
_BACKLOG_LOW = 16
_REFUSE_CLOSE_CODE = 1008  # policy violation; servers answer a close before accept with 403


class AsgiAdapter:
    """An :class:`~naja_atra.application.Application` as an ASGI 3 application (see the module
    notes for what each scope does)."""

    __slots__ = ("app",)

    def __init__(self, app: Application) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await _serve_http(self.app, scope, receive, send)
        elif kind == "websocket":
            await _serve_websocket(self.app, scope, receive, send)
        elif kind == "lifespan":
            await _serve_lifespan(self.app, receive, send)
        else:  # the ASGI spec asks an application to raise for a scope it does not know
            raise ValueError(f"naja_atra cannot serve an ASGI {kind!r} scope")


# -- the request ----------------------------------------------------------------------------------
def _target(scope: Scope) -> bytes:
    """The request target as a client sent it: ``raw_path`` (or the quoted ``path``), query."""
    path: str = scope.get("path") or "/"
    raw: Optional[bytes] = scope.get("raw_path")
    root: str = scope.get("root_path") or ""
    if root and path.startswith(root) and path[len(root):len(root) + 1] in ("", "/"):
        # Mounted below root_path (servers that include it in path): route the rest.
        path = path[len(root):] or "/"
        prefix = root.encode("utf-8")
        raw = (raw[len(prefix):] or b"/") if raw is not None and raw.startswith(prefix) else None
    if raw is None:
        raw = quote(path, safe=_PATH_SAFE).encode("ascii")
    query: bytes = scope.get("query_string") or b""
    return raw + b"?" + query if query else raw


def _host(scope: Scope) -> bytes:
    """A Host value from ``scope["server"]``, for a request that came without one."""
    server = scope.get("server")
    if not server:
        return b"localhost"
    host, port = server[0], server[1] if len(server) > 1 else None
    if ":" in host:
        host = f"[{host}]"
    return (f"{host}:{port}" if port else host).encode("latin-1")


def _request_head(scope: Scope, limits: Limits, websocket: bool) -> RequestHead:
    """Parse the scope's request head with the core's parser (``ProtocolError`` as it raises)."""
    method = "GET" if websocket else scope.get("method") or "GET"
    version = b"HTTP/1.0" if scope.get("http_version") == "1.0" else b"HTTP/1.1"
    try:
        parts: list[bytes] = [method.encode("ascii"), b" ", _target(scope), b" ", version, b"\r\n"]
    except UnicodeEncodeError:
        raise ProtocolError(400, "Bad Request", "Invalid method") from None
    lines = 0
    seen: set[bytes] = set()
    for name, value in scope.get("headers") or ():
        lower = name.lower()
        if websocket and lower in _WS_REPLACED:
            continue
        seen.add(lower)
        parts += (name, b": ", value, b"\r\n")
        lines += 1
    extra: list[tuple[bytes, bytes]] = []
    if b"host" not in seen:
        extra.append((b"host", _host(scope)))
    if websocket:
        extra += [(b"upgrade", b"websocket"), (b"connection", b"upgrade")]
        if b"sec-websocket-key" not in seen:
            extra.append((b"sec-websocket-key", base64.b64encode(os.urandom(16))))
        if b"sec-websocket-version" not in seen:
            extra.append((b"sec-websocket-version", b"13"))
        subprotocols = scope.get("subprotocols")
        if subprotocols and b"sec-websocket-protocol" not in seen:
            extra.append((b"sec-websocket-protocol", ", ".join(subprotocols).encode("latin-1")))
    for name, value in extra:
        parts += (name, b": ", value, b"\r\n")
    lines += len(extra)
    parts.append(b"\r\n")
    raw = b"".join(parts)
    # A CR or LF inside a name or value would add a line (or end the head) in our re-encoding.
    if raw.count(b"\n") != lines + 2:
        raise ProtocolError(400, "Bad Request", "Line break in the request head")
    parsed = parse_head(raw, limits)
    if parsed is None:  # pragma: no cover - the head ends with its blank line
        raise ProtocolError(400, "Bad Request", "Incomplete request head")
    return parsed[0]


def _request(scope: Scope, head: RequestHead, body: bytes) -> Request:
    """The ``Request`` of ``head`` with what the scope says about the connection."""
    client = scope.get("client")
    scheme = scope.get("scheme") or "http"
    request = Request(head, body, client_address=(client[0], client[1]) if client else None,
                      scheme=_SCHEMES.get(scheme, scheme))
    version = scope.get("http_version") or "1.1"
    if version not in ("1.0", "1.1"):
        request.version = f"HTTP/{version}"
    request.environment = scope if isinstance(scope, dict) else dict(scope)
    return request


async def _read_body(receive: Receive, limit: int) -> Optional[bytes]:
    """The request body from ``http.request`` events; None when the client disconnected first.

    ``ProtocolError(413)`` as soon as it exceeds ``limit``: nothing more is read.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "http.request":
            data = message.get("body") or b""
            if data:
                size += len(data)
                if size > limit:
                    raise ProtocolError(413, "Content Too Large", "Request body too large")
                chunks.append(data)
            if not message.get("more_body", False):
                break
        elif kind == "http.disconnect":
            return None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


# -- the response ---------------------------------------------------------------------------------
class _Start:
    """A response head the core serialised, read back as the ASGI start event needs it."""

    __slots__ = ("status", "headers", "subprotocol")

    def __init__(self, head: bytes, dropped: frozenset[bytes] = _SERVER_HEADERS) -> None:
        lines = head.split(b"\r\n")
        self.status = int(lines[0].split(b" ", 2)[1])
        self.headers: list[tuple[bytes, bytes]] = []
        self.subprotocol: Optional[str] = None
        for line in lines[1:]:
            if not line:
                continue
            # The core wrote "Name: value" with a validated token name: the first ": " splits.
            name, _, value = line.partition(b": ")
            name = name.lower()
            if name not in dropped:
                self.headers.append((name, value))
            elif name == b"sec-websocket-protocol":
                self.subprotocol = value.decode("latin-1")

    def message(self, kind: str = "http.response.start") -> Message:
        """The start event of an HTTP response (or of a WebSocket refusal)."""
        return {"type": kind, "status": self.status, "headers": self.headers}


def _split_wire(wire: bytes) -> tuple[bytes, bytes]:
    """A whole serialised response as (head, body)."""
    end = wire.index(b"\r\n\r\n") + 4
    return wire[:end], wire[end:]


def _joined(body: Iterable[bytes]) -> bytes:
    """Every piece of an ``Outgoing`` body, joined (a file generator is closed after)."""
    if isinstance(body, (list, tuple)):
        return body[0] if len(body) == 1 else b"".join(body)
    try:
        return b"".join(body)
    finally:
        _close(body)


def _close(body: Iterable[bytes]) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        close()


async def _send_error(send: Send, error: ProtocolError) -> None:
    """Answer input the core refused as the built-in servers do (plain text, no error page)."""
    head, body = _split_wire(error_bytes(error.code, error.message))
    with contextlib.suppress(OSError):
        await send(_Start(head).message())
        await send({"type": "http.response.body", "body": body})


async def _until_disconnect(receive: Receive) -> None:
    """Return once the client has gone (``http.disconnect``)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def _send_outgoing(send: Send, receive: Receive, out: Outgoing) -> None:
    """Send a response the core finalised: head, then its body (a file piece by piece)."""
    body = out.body
    try:
        await send(_Start(out.head).message())
        if isinstance(body, (list, tuple)):
            await send({"type": "http.response.body", "body": _joined(body)})
            return
        # A file: watch for the client leaving, so that an abandoned download stops reading.
        gone = asyncio.ensure_future(_until_disconnect(receive))
        try:
            for piece in body:
                if gone.done():
                    return
                await send({"type": "http.response.body", "body": piece, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            gone.cancel()
    except OSError:  # the client is gone: nobody is left to tell
        pass
    finally:
        _close(body)


class _ResponseStream:
    """The channel of a live ``Response``: what ``write_bytes`` sends, turned into ASGI events.

    ``write`` may be called from any thread; the pieces are sent in order by one task on the
    event loop. The first piece is the head, the others body bytes as the controller wrote them.
    """

    #: The ASGI server frames the body: the response must not chunk-encode it.
    raw_body = True

    def __init__(self, send: Send) -> None:
        self._send = send
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._pieces: deque[bytes] = deque()
        self._task: Optional[asyncio.Future[None]] = None
        self._started = False
        self._gone = False
        self._error: Optional[BaseException] = None

    def write(self, data: bytes) -> None:
        """Queue ``data`` for sending (any thread)."""
        if threading.get_ident() == self._thread:
            self._push(bytes(data))
        else:
            self._loop.call_soon_threadsafe(self._push, bytes(data))

    def _push(self, data: bytes) -> None:
        self._pieces.append(data)
        if self._task is None:
            self._task = self._loop.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._pieces:
                await self._emit(self._pieces.popleft())
        except Exception as exc:  # kept for finish(): the task itself is never awaited after it ended
            self._error = exc
            self._gone = True
        finally:
            self._task = None

    async def _emit(self, data: bytes) -> None:
        if self._gone:
            return
        try:
            if not self._started:
                self._started = True
                await self._send(_Start(data).message())
            elif data:
                await self._send({"type": "http.response.body", "body": data, "more_body": True})
        except OSError:
            self._gone = True

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


async def _serve_http(app: Application, scope: Scope, receive: Receive, send: Send) -> None:
    limits = app.limits
    try:
        head = _request_head(scope, limits, websocket=False)
        body = await _read_body(receive, limits.max_body_size)
    except ProtocolError as error:
        await _send_error(send, error)
        return
    if body is None:
        return  # the client left before its request was complete
    request = _request(scope, head, body)
    request.upgrade = None  # an http scope cannot switch protocols (WebSockets come as websocket)
    response = Response()
    stream = _ResponseStream(send)
    response.bind(request, stream)
    out = await app.dispatcher.handle_async(request, response)
    if response.streaming:
        await stream.finish(request, response)
    else:
        await _send_outgoing(send, receive, out)


# -- WebSocket ------------------------------------------------------------------------------------
class _HandshakeChannel:
    """The channel of a handshake response: there is no body to stream during a handshake."""

    def write(self, data: bytes) -> None:
        raise RuntimeError("a WebSocket handshake response cannot stream")


class AsgiWebsocketSession(SessionBase):
    """A :class:`~naja_atra.websocket.api.WebsocketSession` over an ASGI ``websocket`` scope.

    Messages are posted to a queue that one writer task sends in order; posting is safe from
    any thread (other threads hand over through ``loop.call_soon_threadsafe``). Sending on a
    closed session does nothing, as on the built-in servers.
    """

    def __init__(self, request: Request, send: Send) -> None:
        super().__init__(request)
        self._send = send
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._lock = threading.Lock()
        self._queue: asyncio.Queue[Message] = asyncio.Queue()
        self._drained = asyncio.Event()
        self._ended = False
        self._writer = self._loop.create_task(self._write_loop())

    # -- the public contract -----------------------------------------------------------------
    @property
    def is_closed(self) -> bool:
        """True once we posted a close or the client disconnected."""
        return self._ended or self.close_sent is not None

    def send(self, message: Union[str, bytes, bytearray], opcode: Optional[int] = None, chunk_size: int = 0) -> None:
        """Send a text (str) or binary message (``chunk_size`` is ignored: ASGI sends whole
        messages); ``opcode`` as for the built-in session."""
        if opcode is None:
            opcode = WEBSOCKET_OPCODE_TEXT if isinstance(message, str) else WEBSOCKET_OPCODE_BINARY
        if opcode == WEBSOCKET_OPCODE_TEXT:
            text = message if isinstance(message, str) else bytes(message).decode("utf-8")
            self._post({"type": "websocket.send", "text": text})
        elif opcode == WEBSOCKET_OPCODE_BINARY:
            data = message.encode("utf-8") if isinstance(message, str) else bytes(message)
            self._post({"type": "websocket.send", "bytes": data})
        elif opcode in (WEBSOCKET_OPCODE_PING, WEBSOCKET_OPCODE_PONG):
            self.send_ping()
        else:
            raise ValueError(f"cannot send a message with opcode {opcode!r}; use close() to close")

    def send_text(self, message: str, chunk_size: int = 0) -> None:
        """Send a text message."""
        self._post({"type": "websocket.send", "text": message})

    def send_binary(self, binary: Union[bytes, bytearray], chunk_size: int = 0) -> None:
        """Send a binary message."""
        self._post({"type": "websocket.send", "bytes": bytes(binary)})

    def send_file(self, path: str, chunk_size: int = 0) -> None:
        """Send a file's content as one binary message (read whole: ASGI has no fragments)."""
        with open(path, "rb") as file:
            self.send_binary(file.read())

    def send_ping(self, message: bytes = b"") -> None:
        """Does nothing: ASGI gives applications no control frames (the server pings)."""
        _log.debug("websocket %s: ASGI cannot send pings or pongs", self._id)

    def send_pong(self, message: bytes = b"") -> None:
        """Does nothing (see :meth:`send_ping`)."""
        self.send_ping(message)

    def close(self, reason: str = "", code: int = 1000) -> None:
        """Post ``websocket.close`` with ``code`` and ``reason`` (once; later calls do nothing).

        ``ValueError`` for a code an endpoint may not send (1005, 1006, 1015, < 1000, ...); the
        reason is cut to the 123 bytes a close frame has room for.
        """
        if not _valid_wire_code(code):
            raise ValueError(f"close code {code} cannot be sent")
        reason = _truncate_utf8(reason, 123).decode("utf-8")
        with self._lock:
            if self._ended or self.close_sent is not None:
                return
            self.close_sent = (code, reason)
        self._hand_over({"type": "websocket.close", "code": code, "reason": reason})

    # -- for the runner ------------------------------------------------------------------------
    def end(self) -> None:
        """The connection is over: sends become no-ops, queued messages are dropped."""
        with self._lock:
            self._ended = True
        self._writer.cancel()

    async def backpressure(self) -> None:
        """Wait while too many of our messages wait for the client."""
        if self._queue.qsize() > _BACKLOG_HIGH and not self._writer.done():
            self._drained.clear()
            await self._drained.wait()

    # -- internals -----------------------------------------------------------------------------
    def _post(self, message: Message) -> None:
        with self._lock:
            if self._ended or self.close_sent is not None:
                _log.debug("websocket %s is closed: not sending", self._id)
                return
        self._hand_over(message)

    def _hand_over(self, message: Message) -> None:
        if threading.get_ident() == self._thread:
            self._queue.put_nowait(message)
            return
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, message)
        except RuntimeError:  # the loop is closed: so is the connection
            pass

    async def _write_loop(self) -> None:
        queue = self._queue
        try:
            while True:
                message = await queue.get()
                try:
                    await self._send(message)
                except OSError as exc:  # the client is gone; the disconnect event follows
                    _log.debug("websocket %s: send failed: %r", self._id, exc)
                    return
                except Exception:  # the server refused the event: nothing more can be sent
                    _log.exception("websocket %s: send failed", self._id)
                    return
                if message["type"] == "websocket.close":
                    return  # nothing may follow a close
                if queue.qsize() <= _BACKLOG_LOW:
                    self._drained.set()
        finally:
            self._drained.set()

    def __repr__(self) -> str:
        return f"<AsgiWebsocketSession {self._id} {self._request.path!r}>"


async def _refuse(scope: Scope, send: Send, head: bytes, body: bytes) -> None:
    """Refuse the handshake with the response the pipeline made, if the server lets us."""
    start = _Start(head)
    if "websocket.http.response" in (scope.get("extensions") or {}):
        if start.status < 200:  # a 101 of some other upgrade: nothing an ASGI server can send
            start.status = 500
        await send(start.message("websocket.http.response.start"))
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": _REFUSE_CLOSE_CODE})


async def _serve_websocket(app: Application, scope: Scope, receive: Receive, send: Send) -> None:
    if (await receive())["type"] != "websocket.connect":
        return  # the client left before the handshake
    try:
        head = _request_head(scope, app.limits, websocket=True)
    except ProtocolError as error:
        await _refuse(scope, send, *_split_wire(error_bytes(error.code, error.message)))
        return
    request = _request(scope, head, b"")
    response = Response()
    response.bind(request, _HandshakeChannel())
    out = await app.dispatcher.handle_async(request, response)
    upgrade = out.upgrade
    if not isinstance(upgrade, WebsocketUpgrade):
        await _refuse(scope, send, out.head, _joined(out.body))
        return
    start = _Start(out.head, _ACCEPT_DROPPED)
    try:
        await send({"type": "websocket.accept", "subprotocol": start.subprotocol, "headers": start.headers})
    except OSError:
        return  # the client left during the handshake: no session was opened
    await _run_session(app, upgrade, receive, send)


async def _settle(session: AsgiWebsocketSession, call: Callable[[], Any]) -> None:
    """Run one callback (awaiting it if async); a failure is logged and closes with 1011."""
    try:
        result = call()
        if is_awaitable(result):
            await result
    except Exception:
        _log.exception("websocket %s: handler failed", session.id)
        session.close("internal error", 1011)


async def _run_session(app: Application, upgrade: WebsocketUpgrade, receive: Receive, send: Send) -> None:
    """Drive the endpoint's callbacks from the ASGI events until the connection ends."""
    session = AsgiWebsocketSession(upgrade.request, send)
    endpoint: Endpoint = upgrade.endpoint
    events = EventDispatcher(session, endpoint)
    registry = app.websocket_sessions
    limit = app.limits.max_websocket_message
    registry.add(session)
    reported = False
    try:
        await _settle(session, events.open)
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "websocket.disconnect":
                code = int(message.get("code") or 1005)
                if code == 1006:
                    reason = lost_reason(session)
                else:
                    reason = closed_reason(session, Closed(code, message.get("reason") or "", True))
                session.end()
                reported = True
                await _settle(session, functools.partial(events.close, reason))
                return
            if kind != "websocket.receive" or session.close_sent is not None:
                continue  # we are closing: only on_close is still to come
            text = message.get("text")
            data: Union[str, bytes] = text if text is not None else message.get("bytes") or b""
            if len(data) > limit:
                session.close("message too big", 1009)
                continue
            event: Event
            if isinstance(data, str):
                event = TextMessage(data)
            elif endpoint.stream_binary:
                event = BinaryFrame(data, True)  # ASGI delivers whole messages: one final frame
            else:
                event = BinaryMessage(data)
            await _settle(session, functools.partial(events.dispatch, event))
            await session.backpressure()
    finally:
        if not reported:  # cancelled (the server is shutting down): on_close still runs
            session.end()
            try:
                result = events.close(lost_reason(session))
                if is_awaitable(result):
                    await result
            except Exception:
                _log.exception("websocket %s: on_close failed", session.id)
        registry.discard(session)


# -- lifespan -------------------------------------------------------------------------------------
async def _serve_lifespan(app: Application, receive: Receive, send: Send) -> None:
    stack = contextlib.ExitStack()
    while True:
        kind = (await receive())["type"]
        if kind == "lifespan.startup":
            try:
                app.build()  # first: entry-point plugins (and their lifespans) join at the build
                stack.enter_context(app.lifespan())
            except Exception as exc:
                _log.exception("Application startup failed")
                await send({"type": "lifespan.startup.failed", "message": f"{type(exc).__name__}: {exc}"})
                return
            await send({"type": "lifespan.startup.complete"})
        elif kind == "lifespan.shutdown":
            app.websocket_sessions.close_all(1001, "server shutdown")  # on the loop: only sends the closes
            try:
                stack.close()
            except Exception as exc:
                _log.exception("Application shutdown failed")
                await send({"type": "lifespan.shutdown.failed", "message": f"{type(exc).__name__}: {exc}"})
                return
            await send({"type": "lifespan.shutdown.complete"})
            return
