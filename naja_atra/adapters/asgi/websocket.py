"""The ``websocket`` scope.

- ``websocket.connect`` runs the handshake through the same pipeline as an HTTP request (see
  :mod:`.scope` for the request it becomes): filters, path values, sessions and the
  handshake callable apply as on the built-in servers.
- Accepted (a ``101``): ``websocket.accept`` with the handler's extra headers; a
  ``Sec-WebSocket-Protocol`` header set by the handler becomes the ``subprotocol`` field.
  Refused (any other answer): with the ``websocket.http.response`` extension the refusal
  goes out as ``websocket.http.response.start``/``.body`` (status, headers and error page as
  on the built-in servers); without it, ``websocket.close`` before accepting, which ASGI
  servers answer with ``403``.
- The ASGI server does the framing, so the ``Endpoint`` callbacks are driven by an
  :class:`AsgiWebsocketSession`: ``send`` posts ``websocket.send`` (safe from any thread, in
  order, through one writer task), ``close`` posts ``websocket.close``; after that the
  server completes the closing handshake and reports ``websocket.disconnect``, and
  ``on_close`` gets our code. A ``websocket.disconnect`` from the client gives ``on_close``
  its code and reason. Sessions are in ``app.websocket_sessions``, so ``close_all`` (and the
  shutdown of the lifespan) closes them.
- Not available under ASGI: pings and pongs (the server answers pings and may send its own;
  ``on_ping_message``/``on_pong_message`` are never called, ``send_ping``/``send_pong`` do
  nothing) and frames: a binary message arrives whole, so a handler's ``on_binary_frame`` is
  called once per message with ``fin=True`` (returning True still passes it on to
  ``on_binary_message``), and ``chunk_size`` does not fragment what is sent.
- Callbacks run one at a time on the event loop (plain ones inline, like on the asyncio
  driver); one that raises is logged and closes the session with 1011. Messages over
  ``limits.max_websocket_message`` close it with 1009 (the ASGI server assembles fragments,
  so ``max_websocket_fragments`` is its business). While more than 64 of our messages wait
  for the client, the next incoming message waits too.
- Slow clients: sends return at once (they queue). A message sent while more than
  ``limits.websocket_send_buffer`` bytes of earlier ones wait, or one ``websocket.send`` that
  the ASGI server has not completed within ``limits.write_timeout``, drops the session:
  ``on_close`` gets 1006 ("Send buffer full." / "Write timeout.") and the application returns
  from the connection, which the ASGI server then closes. Whatever the ASGI server buffers
  itself after accepting a ``websocket.send`` is beyond our reach.
"""
from __future__ import annotations

import asyncio
import functools
import threading
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from ...http.errors import ProtocolError
from ...http.outgoing import Outgoing
from ...http.request import Request
from ...http.response import Response
from ...utils.logger import get_logger
from ...websocket.api import (
    WEBSOCKET_OPCODE_BINARY,
    WEBSOCKET_OPCODE_PING,
    WEBSOCKET_OPCODE_PONG,
    WEBSOCKET_OPCODE_TEXT,
)
from ...websocket.endpoint import Endpoint
from ...websocket.protocol import (
    BinaryFrame,
    BinaryMessage,
    Closed,
    Event,
    TextMessage,
    truncate_utf8,
    valid_wire_code,
)
from ...websocket.session import (
    MESSAGE_LOST,
    MESSAGE_SEND_BUFFER_FULL,
    MESSAGE_WRITE_TIMEOUT,
    EventDispatcher,
    SessionBase,
    closed_reason,
    is_awaitable,
    lost_reason,
)
from ...websocket.upgrade import WebsocketUpgrade
from .events import SERVER_HEADERS, Message, Receive, Scope, Send, asgi_headers
from .http import start_message
from .scope import make_request, request_head

if TYPE_CHECKING:
    from ...app.application import Application

__all__ = ["AsgiWebsocketSession", "serve_websocket"]

_log = get_logger("naja_atra.asgi")

#: On a WebSocket accept the server also computes the handshake headers itself.
_ACCEPT_DROPPED = SERVER_HEADERS | {"sec-websocket-accept", "sec-websocket-extensions",
                                    "sec-websocket-protocol", "content-length"}
#: Our queued WebSocket messages above which reading waits, and below which it resumes.
_BACKLOG_HIGH = 64
_BACKLOG_LOW = 16
_REFUSE_CLOSE_CODE = 1008  # policy violation; servers answer a close before accept with 403


class _HandshakeChannel:
    """The channel of a handshake response: there is no body to stream during a handshake."""

    def start(self, request: Request, status: int, headers: list[tuple[str, str]]) -> None:
        raise RuntimeError("a WebSocket handshake response cannot stream")

    def write(self, data: bytes) -> None:
        raise RuntimeError("a WebSocket handshake response cannot stream")

    def end(self) -> None:
        raise RuntimeError("a WebSocket handshake response cannot stream")


class AsgiWebsocketSession(SessionBase):
    """A :class:`~naja_atra.websocket.api.WebsocketSession` over an ASGI ``websocket`` scope.

    Messages are posted to a queue that one writer task sends in order; posting is safe from
    any thread (other threads hand over through ``loop.call_soon_threadsafe``). Sending on a
    closed session does nothing, as on the built-in servers.

    ``send_buffer`` and ``write_timeout`` bound a client that does not keep up (see the
    module); the session is then dropped: ``on_drop`` is called on the loop, once, and
    :attr:`drop_cause` says why.
    """

    def __init__(self, request: Request, send: Send, *, send_buffer: int = 4 * 1024 * 1024,
                 write_timeout: float = 30.0, on_drop: Optional[Callable[[], None]] = None) -> None:
        super().__init__(request)
        self._send = send
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._lock = threading.Lock()
        #: (message, its size in bytes), in order.
        self._queue: asyncio.Queue[tuple[Message, int]] = asyncio.Queue()
        self._drained = asyncio.Event()
        self._ended = False
        self._send_buffer = send_buffer
        self._write_timeout = write_timeout
        self._on_drop = on_drop
        #: Bytes of the messages posted and not yet sent (text counted as UTF-8).
        self._queued_bytes = 0
        #: Why the session was dropped (a slow client), once it was.
        self.drop_cause: Optional[str] = None
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
            self.send_text(text)
        elif opcode == WEBSOCKET_OPCODE_BINARY:
            data = message.encode("utf-8") if isinstance(message, str) else bytes(message)
            self._post({"type": "websocket.send", "bytes": data}, len(data))
        elif opcode in (WEBSOCKET_OPCODE_PING, WEBSOCKET_OPCODE_PONG):
            self.send_ping()
        else:
            raise ValueError(f"cannot send a message with opcode {opcode!r}; use close() to close")

    def send_text(self, message: str, chunk_size: int = 0) -> None:
        """Send a text message."""
        size = len(message) if message.isascii() else len(message.encode("utf-8"))
        self._post({"type": "websocket.send", "text": message}, size)

    def send_binary(self, binary: Union[bytes, bytearray], chunk_size: int = 0) -> None:
        """Send a binary message."""
        self._post({"type": "websocket.send", "bytes": bytes(binary)}, len(binary))

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
        if not valid_wire_code(code):
            raise ValueError(f"close code {code} cannot be sent")
        reason = truncate_utf8(reason, 123).decode("utf-8")
        with self._lock:
            if self._ended or self.close_sent is not None:
                return
            self.close_sent = (code, reason)
        self._hand_over({"type": "websocket.close", "code": code, "reason": reason}, 0)

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
    def _post(self, message: Message, size: int) -> None:
        with self._lock:
            if self._ended or self.close_sent is not None:
                _log.debug("websocket %s is closed: not sending", self._id)
                return
            full = self._queued_bytes > self._send_buffer
            if full:
                self._ended = True
            else:
                self._queued_bytes += size
        if full:
            self._call_on_loop(self._drop, MESSAGE_SEND_BUFFER_FULL)
        else:
            self._hand_over(message, size)

    def _hand_over(self, message: Message, size: int) -> None:
        if threading.get_ident() == self._thread:
            self._queue.put_nowait((message, size))
            return
        self._call_on_loop(self._queue.put_nowait, (message, size))

    def _call_on_loop(self, callback: Callable[..., Any], *args: Any) -> None:
        if threading.get_ident() == self._thread:
            callback(*args)
            return
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: so is the connection
            pass

    def _drop(self, cause: str) -> None:
        """(On the loop) the client does not keep up: stop sending and end the session."""
        if self.drop_cause is not None:
            return
        _log.debug("websocket %s: client too slow (%s): dropped", self._id, cause)
        self.drop_cause = cause
        with self._lock:
            self._ended = True
        if self._writer is not asyncio.current_task():
            self._writer.cancel()
        if self._on_drop is not None:
            self._on_drop()

    async def _write_loop(self) -> None:
        queue = self._queue
        try:
            while True:
                message, size = await queue.get()
                try:
                    await asyncio.wait_for(self._send(message), self._write_timeout)
                except asyncio.TimeoutError:
                    self._drop(MESSAGE_WRITE_TIMEOUT)
                    return
                except OSError as exc:  # the client is gone; the disconnect event follows
                    _log.debug("websocket %s: send failed: %r", self._id, exc)
                    return
                except Exception:  # the server refused the event: nothing more can be sent
                    _log.exception("websocket %s: send failed", self._id)
                    return
                with self._lock:
                    self._queued_bytes -= size
                if message["type"] == "websocket.close":
                    return  # nothing may follow a close
                if queue.qsize() <= _BACKLOG_LOW:
                    self._drained.set()
        finally:
            self._drained.set()

    def __repr__(self) -> str:
        return f"<AsgiWebsocketSession {self._id} {self._request.path!r}>"


async def _refuse(scope: Scope, send: Send, out: Outgoing) -> None:
    """Refuse the handshake with the response the pipeline made, if the server lets us."""
    if "websocket.http.response" in (scope.get("extensions") or {}):
        start = start_message(out, "websocket.http.response.start")
        if out.status < 200:  # a 101 of some other upgrade: nothing an ASGI server can send
            start["status"] = 500
        await send(start)
        await send({"type": "websocket.http.response.body", "body": out.read_body()})
    else:
        out.close_body()
        await send({"type": "websocket.close", "code": _REFUSE_CLOSE_CODE})


def _subprotocol(headers: Any) -> Optional[str]:
    for name, value in headers:
        if name.lower() == "sec-websocket-protocol":
            return str(value)
    return None


async def serve_websocket(app: Application, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve one ``websocket`` scope: the handshake, then the session."""
    if (await receive())["type"] != "websocket.connect":
        return  # the client left before the handshake
    try:
        head = request_head(scope, app.limits, websocket=True)
    except ProtocolError as error:
        await _refuse(scope, send, Outgoing.error(error.code, error.message))
        return
    request = make_request(scope, head, b"")
    response = Response()
    response.bind(request, _HandshakeChannel())
    out = await app.dispatcher.handle_async(request, response)
    upgrade = out.upgrade
    if not isinstance(upgrade, WebsocketUpgrade):
        await _refuse(scope, send, out)
        return
    accept = {"type": "websocket.accept", "subprotocol": _subprotocol(out.headers),
              "headers": asgi_headers(out.headers, _ACCEPT_DROPPED)}
    try:
        await send(accept)
    except OSError:
        return  # the client left during the handshake: no session was opened
    await _run_session(app, upgrade, receive, send)


async def _settle(session: AsgiWebsocketSession, call: Callable[[], Any]) -> None:
    """Run one callback (awaiting it if async); a failure is logged and closes with 1011."""
    try:
        result = call()
        if is_awaitable(result):
            await result
    except asyncio.CancelledError:
        raise
    except BaseException:  # noqa: B036 - a callback failure closes the session, never the server
        _log.exception("websocket %s: handler failed", session.id)
        session.close("internal error", 1011)


async def _run_session(app: Application, upgrade: WebsocketUpgrade, receive: Receive, send: Send) -> None:
    """Drive the endpoint's callbacks from the ASGI events until the connection ends."""
    task = asyncio.current_task()

    def interrupt() -> None:
        # A dropped session stops waiting for the client's next message: its on_close runs
        # now and the application returns from the connection.
        if task is not None:
            task.cancel()

    session = AsgiWebsocketSession(upgrade.request, send, send_buffer=upgrade.send_buffer,
                                   write_timeout=upgrade.write_timeout, on_drop=interrupt)
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
    except asyncio.CancelledError:
        if session.drop_cause is None:
            raise  # the server's cancellation, not our drop of a slow client
        if task is not None and hasattr(task, "uncancel"):
            task.uncancel()
    finally:
        if not reported:  # dropped, or cancelled (the server is shutting down): on_close still runs
            session.end()
            reason = lost_reason(session, session.drop_cause or MESSAGE_LOST)
            await _settle(session, functools.partial(events.close, reason))
        registry.discard(session)
