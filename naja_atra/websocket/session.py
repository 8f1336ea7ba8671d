"""The concrete WebSocket session and what both connection runners share.

:class:`ConnectionSession` is the :class:`~naja_atra.websocket.api.WebsocketSession` handlers
get: it encodes with the connection's sans-I/O :class:`~naja_atra.websocket.protocol.WebSocketProtocol`
and hands the frames to the runner's :class:`Sink`, a bounded queue in front of the connection
(:mod:`.outbox`). The protocol object is not thread-safe and its compressor is stateful, so
*every* use of it -- encoding a message, feeding received bytes, queueing the result -- happens
under the session's one lock: frames never interleave and the compression context sees messages
in wire order (the queue keeps that order up to the wire).

Sends never wait for the client: queueing is all a send does, from any thread, so a broadcast
over many sessions never waits on the slowest. A client that does not keep up is dropped by its
runner instead (see :class:`Sink`); its ``on_close`` reports 1006 with
:data:`MESSAGE_SEND_BUFFER_FULL` or :data:`MESSAGE_WRITE_TIMEOUT`.

:class:`EventDispatcher` maps protocol events to the endpoint's callbacks (and buffers streamed
binary frames when the handler asks for it); the runners (:mod:`.run_threaded`,
:mod:`.run_asyncio`) only decide *where* the callbacks run and how their awaitables are awaited.

:class:`OpenSessions` is the application's set of open sessions, for broadcasts and for closing
everything at shutdown.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
import uuid
from typing import IO, Any, Awaitable, Callable, Iterator, Optional, Protocol, Union

from ..http.request import Request
from .api import (
    WEBSOCKET_OPCODE_BINARY,
    WEBSOCKET_OPCODE_PING,
    WEBSOCKET_OPCODE_PONG,
    WEBSOCKET_OPCODE_TEXT,
    WebsocketCloseReason,
    WebsocketSession,
)
from .endpoint import Endpoint
from .protocol import (
    BinaryFrame,
    BinaryMessage,
    Closed,
    Event,
    Opcode,
    Ping,
    Pong,
    State,
    TextMessage,
    WebSocketProtocol,
)

__all__ = [
    "SessionBase", "ConnectionSession", "Sink", "SessionRegistry", "OpenSessions", "EventDispatcher",
    "closed_reason", "lost_reason", "is_awaitable", "logger",
]

logger = logging.getLogger("naja_atra.websocket")

#: ``WebsocketCloseReason.message`` for each way a session ends.
MESSAGE_BY_CLIENT = "Client asked to close connection."
MESSAGE_BY_SERVER = "Server asked to close connection."
MESSAGE_LOST = "Connection lost."
MESSAGE_PING_TIMEOUT = "Ping timeout."
#: A message was sent while the client had more than ``Limits.websocket_send_buffer`` unsent.
MESSAGE_SEND_BUFFER_FULL = "Send buffer full."
#: Data waited ``Limits.write_timeout`` for a client that read none of it.
MESSAGE_WRITE_TIMEOUT = "Write timeout."

_OPEN = State.OPEN


class Sink(Protocol):
    """Where a :class:`ConnectionSession` puts its frames: the runner's queue in front of the
    connection. Its methods are called under the session lock, in encoding order, and never
    wait for the client.

    The runner bounds it with ``Limits.websocket_send_buffer`` and ``Limits.write_timeout``:
    a message queued while more than the send buffer is unsent, or unsent data that makes no
    progress for the write timeout, drops the connection. Dropping means aborting TCP, not a
    close frame: a client that does not read our frames would not read a close frame either,
    and waiting for its reply would hold the connection for nothing.
    """

    @property
    def closed(self) -> bool:
        """True once the connection is gone or was dropped: frames would go nowhere."""
        ...

    def write(self, data: bytes, limited: bool = True) -> bool:
        """Queue ``data`` (whole frames). ``limited`` is false for a close frame, which goes out
        whatever the backlog. False when nothing was queued (the connection is gone, or this
        message found the backlog over the limit and dropped it)."""
        ...

    def write_frames(self, frames: Iterator[bytes]) -> bool:
        """Queue a streamed message, read one frame at a time as the connection drains; see
        :meth:`write`."""
        ...


class SessionRegistry(Protocol):
    """The application's set of open sessions: a runner adds its session before ``on_open`` and
    discards it after ``on_close``."""

    def add(self, session: SessionBase) -> None:
        """A session opened."""
        ...

    def discard(self, session: SessionBase) -> None:
        """A session ended (its ``on_close`` has run)."""
        ...


class SessionBase(WebsocketSession):
    """What every session of this package has, whichever transport carries it: a unique
    ``id``, the handshake ``request``, and what :class:`OpenSessions` reads to close it."""

    def __init__(self, request: Request) -> None:
        self._id = uuid.uuid4().hex
        self._request = request
        #: ``(code, reason)`` of the close this side sent, once it did.
        self.close_sent: Optional[tuple[int, str]] = None
        #: The thread that runs this session's callbacks, when it is a dedicated one (threading
        #: driver): :meth:`OpenSessions.close_all` cannot wait for a session from its own thread.
        self.runner_thread: Optional[int] = None

    @property
    def id(self) -> str:
        """A unique id (a uuid4 in hex)."""
        return self._id

    @property
    def request(self) -> Request:
        """The handshake request."""
        return self._request


class ConnectionSession(SessionBase):
    """A :class:`WebsocketSession` over one connection.

    :param request: the handshake request.
    :param protocol: the connection's protocol core; this session is its only user.
    :param sink: the runner's queue in front of the connection (always used under the session
        lock).
    :param on_closing: called (outside the lock, on the calling thread) once :meth:`close` has
        queued our close frame, so the runner can bound the wait for the peer's reply.

    Every method is safe from any thread and returns without waiting for the client. Sending
    on a closed session is a no-op (logged at debug level), never an exception: a handler
    broadcasting to many sessions must not have to guard against one that just went away.
    """

    def __init__(
        self,
        request: Request,
        protocol: WebSocketProtocol,
        sink: Sink,
        on_closing: Callable[[], None],
    ) -> None:
        super().__init__(request)
        self._protocol = protocol
        self._sink = sink
        self._on_closing = on_closing
        self._lock = threading.Lock()
        #: The runner finished with the connection: nothing may be written any more.
        self._ended = False

    # -- the public contract --------------------------------------------------------------
    @property
    def is_closed(self) -> bool:
        """True once a close frame was sent or received, or the connection is gone (or is
        being dropped: a client that did not keep up)."""
        return self._ended or self._protocol.state is not _OPEN or self._sink.closed

    def send(self, message: Union[str, bytes, bytearray], opcode: Optional[int] = None, chunk_size: int = 0) -> None:
        """Send ``message``: a ``str`` as text, bytes as binary, unless ``opcode`` says otherwise
        (``WEBSOCKET_OPCODE_TEXT``/``BINARY``, or ``PING``/``PONG`` for a control frame).
        ``chunk_size`` > 0 fragments a message into frames of at most that many bytes."""
        if opcode is None:
            opcode = WEBSOCKET_OPCODE_TEXT if isinstance(message, str) else WEBSOCKET_OPCODE_BINARY
        if opcode == WEBSOCKET_OPCODE_TEXT:
            text = message if isinstance(message, str) else bytes(message).decode("utf-8")
            self._send(self._protocol.send_text, text, chunk_size)
        elif opcode == WEBSOCKET_OPCODE_BINARY:
            self._send(self._protocol.send_binary, _as_bytes(message), chunk_size)
        elif opcode == WEBSOCKET_OPCODE_PING:
            self.send_ping(_as_bytes(message))
        elif opcode == WEBSOCKET_OPCODE_PONG:
            self.send_pong(_as_bytes(message))
        else:
            raise ValueError(f"cannot send a message with opcode {opcode!r}; use close() to close")

    def send_text(self, message: str, chunk_size: int = 0) -> None:
        """Send a text message."""
        self._send(self._protocol.send_text, message, chunk_size)

    def send_binary(self, binary: Union[bytes, bytearray], chunk_size: int = 0) -> None:
        """Send a binary message."""
        self._send(self._protocol.send_binary, _as_bytes(binary), chunk_size)

    def send_file(self, path: str, chunk_size: int = 0) -> None:
        """Send a file's content as one binary message.

        With ``chunk_size`` > 0 the message is streamed: its frames (of ``chunk_size`` bytes)
        are read from the file as the connection takes them, so the file is never whole in
        memory and the call returns at once; the file stays open until its last frame is
        queued or the connection ends. Messages sent later follow it on the wire. Raises
        ``OSError`` if the file cannot be opened.
        """
        if chunk_size <= 0:
            with open(path, "rb") as file:
                self.send_binary(file.read())
            return
        frames = _FileFrames(open(path, "rb"), chunk_size, self._protocol.encode_frame)
        with self._lock:
            if self._cannot_send() or not self._sink.write_frames(frames):
                frames.close()

    def send_ping(self, message: bytes = b"") -> None:
        """Send a ping (payload at most 125 bytes, else ``ValueError``)."""
        self._send(self._protocol.send_ping, _as_bytes(message))

    def send_pong(self, message: bytes = b"") -> None:
        """Send a pong (payload at most 125 bytes, else ``ValueError``)."""
        self._send(self._protocol.send_pong, _as_bytes(message))

    def close(self, reason: str = "", code: int = 1000) -> None:
        """Send a close frame with ``code`` and ``reason`` (once; later calls do nothing).

        The runner then waits (at most 2 s) for the peer's close frame and closes the TCP
        connection; ``on_close`` follows with this code. ``ValueError`` for a code an endpoint
        may not send (1005, 1006, 1015, < 1000, ...).
        """
        with self._lock:
            if self._ended or self._protocol.state is not _OPEN:
                return
            data = self._protocol.send_close(code, reason)
            self.close_sent = (code, reason)
            self._sink.write(data, limited=False)
        self._on_closing()

    # -- for the runners ------------------------------------------------------------------
    def feed(self, data: bytes) -> list[Event]:
        """Parse received bytes; queue what the protocol answers itself (close replies, failure
        closes) right away, under the lock. Returns the events in order."""
        with self._lock:
            events = self._protocol.receive_data(data)
            out = self._protocol.data_to_send()
            if out and not self._ended:
                self._sink.write(out, limited=False)
        return events

    def send_ping_nowait(self, payload: bytes) -> bool:
        """Queue a ping unless another thread holds the lock (it may be encoding a large
        message). True when the ping was queued (for a timer thread that must never wait on
        one connection)."""
        if not self._lock.acquire(blocking=False):
            return False
        try:
            if self._cannot_send():
                return False
            return self._sink.write(self._protocol.send_ping(payload))
        finally:
            self._lock.release()

    def end(self) -> None:
        """The connection is over: from now on sends are no-ops."""
        with self._lock:
            self._ended = True

    # -- internals ------------------------------------------------------------------------
    def _send(self, encode: Callable[..., bytes], *args: Any) -> None:
        """Encode (``encode(*args)``, a method of the protocol) and queue, under the lock."""
        with self._lock:
            if self._cannot_send():
                return
            self._sink.write(encode(*args))

    def _cannot_send(self) -> bool:
        if self._ended or self._protocol.state is not _OPEN or self._sink.closed:
            logger.debug("websocket %s is closed: not sending", self._id)
            return True
        return False

    def __repr__(self) -> str:
        return f"<ConnectionSession {self._id} {self._request.path!r}>"


class _FileFrames:
    """The frames of a file sent as one streamed binary message, read one chunk at a time
    (an iterator for :meth:`Sink.write_frames`); :meth:`close` closes the file."""

    __slots__ = ("_file", "_size", "_encode", "_opcode", "_piece", "_done")

    def __init__(self, file: IO[bytes], size: int, encode: Callable[[Opcode, bytes, bool], bytes]) -> None:
        self._file = file
        self._size = size
        self._encode = encode
        self._opcode = Opcode.BINARY
        self._piece: Optional[bytes] = None
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._done:
            raise StopIteration
        piece = self._piece if self._piece is not None else self._file.read(self._size)
        # One chunk ahead: the frame is final when nothing follows it (an empty file is one
        # empty final frame).
        following = self._file.read(self._size)
        fin = not following
        frame = self._encode(self._opcode, piece, fin)
        self._opcode = Opcode.CONTINUATION
        self._piece = following
        if fin:
            self.close()
        return frame

    def close(self) -> None:
        """No more frames; the file is closed."""
        self._done = True
        self._piece = None
        self._file.close()


def _as_bytes(data: Union[str, bytes, bytearray, memoryview]) -> bytes:
    if type(data) is bytes:
        return data
    if isinstance(data, str):
        return data.encode("utf-8")
    return bytes(data)


# -- events to callbacks ------------------------------------------------------------------


def is_awaitable(result: Any) -> bool:
    """Whether a callback's result must be awaited (cheap for the common ``None``)."""
    return result is not None and result is not True and result is not False and inspect.isawaitable(result)


class EventDispatcher:
    """Calls the endpoint's callback for each protocol event of one session.

    Each method returns what the callback returned (an awaitable for an ``async`` callback,
    which the runner awaits before the next event). Callback exceptions propagate to the
    runner, which logs them and closes the session with 1011.

    Streamed binary frames: ``on_binary_frame`` is called per frame; the frames for which it
    returned True (or an awaitable of True) are kept and passed joined to ``on_binary`` at the
    message's last frame -- per frame, as the original framework does.
    """

    __slots__ = ("_session", "_endpoint", "_frames", "_buffering")

    def __init__(self, session: SessionBase, endpoint: Endpoint) -> None:
        self._session = session
        self._endpoint = endpoint
        self._frames: list[bytes] = []
        self._buffering = False

    def open(self) -> Any:
        """``on_open``."""
        return self._endpoint.on_open(self._session)

    def close(self, reason: WebsocketCloseReason) -> Any:
        """``on_close``."""
        return self._endpoint.on_close(self._session, reason)

    def dispatch(self, event: Event) -> Any:
        """The callback for a message or control event (not :class:`Closed`)."""
        if type(event) is TextMessage:
            return self._endpoint.on_text(self._session, event.data)
        if type(event) is BinaryMessage:
            return self._endpoint.on_binary(self._session, event.data)
        if type(event) is BinaryFrame:
            return self._frame(event)
        if type(event) is Ping:
            return self._endpoint.on_ping(self._session, event.data)
        if type(event) is Pong:
            return self._endpoint.on_pong(self._session, event.data)
        raise TypeError(f"no callback for {event!r}")

    def _frame(self, event: BinaryFrame) -> Any:
        result = self._endpoint.on_binary_frame(self._session, event.fin, event.data)
        if is_awaitable(result):
            return self._frame_async(result, event)
        return self._after_frame(result, event)

    async def _frame_async(self, pending: Awaitable[Any], event: BinaryFrame) -> None:
        result = self._after_frame(await pending, event)
        if is_awaitable(result):
            await result

    def _after_frame(self, keep: Any, event: BinaryFrame) -> Any:
        if keep is True:
            self._frames.append(event.data)
            self._buffering = True
        if not event.fin or not self._buffering:
            return None
        frames = self._frames
        self._frames = []
        self._buffering = False
        return self._endpoint.on_binary(self._session, frames[0] if len(frames) == 1 else b"".join(frames))


def closed_reason(session: SessionBase, event: Closed) -> WebsocketCloseReason:
    """Why the session ended, given the protocol's :class:`Closed` event.

    Our own close (``session.close``, a failed callback, shutdown) reports our code; otherwise a
    close frame from the peer reports the peer's code, and a protocol failure the failure code.
    """
    ours = session.close_sent
    if ours is not None:
        return WebsocketCloseReason(MESSAGE_BY_SERVER, ours[0], ours[1])
    if event.by_peer:
        return WebsocketCloseReason(MESSAGE_BY_CLIENT, event.code, event.reason)
    return WebsocketCloseReason(f"Protocol error: {event.reason}", event.code, event.reason)


def lost_reason(session: SessionBase, message: str = MESSAGE_LOST) -> WebsocketCloseReason:
    """Why the session ended when the TCP connection went away without a closing handshake:
    our close code if we had started closing (the peer never answered), else 1006."""
    ours = session.close_sent
    if ours is not None and message == MESSAGE_LOST:
        return WebsocketCloseReason(MESSAGE_BY_SERVER, ours[0], ours[1])
    return WebsocketCloseReason(message, 1006, "")


# -- the application's open sessions --------------------------------------------------------


class OpenSessions:
    """The open sessions of one application (a thread-safe :class:`SessionRegistry`).

    Iterating or ``len()`` looks at a snapshot. :meth:`close_all` is what the application's
    ``stop()`` calls before it shuts the server down.
    """

    def __init__(self) -> None:
        self._sessions: dict[SessionBase, None] = {}  # insertion-ordered set
        self._changed = threading.Condition()
        # The sessions each running close_all() still waits for.
        self._waiters: list[set[SessionBase]] = []

    def add(self, session: SessionBase) -> None:
        """A session opened."""
        with self._changed:
            self._sessions[session] = None

    def discard(self, session: SessionBase) -> None:
        """A session ended; wakes :meth:`close_all` when it was the last one it waited for."""
        with self._changed:
            self._sessions.pop(session, None)
            for waiting in self._waiters:
                waiting.discard(session)
            self._changed.notify_all()

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self) -> Iterator[SessionBase]:
        with self._changed:
            snapshot = list(self._sessions)
        return iter(snapshot)

    def __contains__(self, session: object) -> bool:
        return session in self._sessions

    def close_all(self, code: int = 1001, reason: str = "server shutdown", timeout: float = 1.5) -> None:
        """Send a close frame to every open session and wait until they have all ended
        (``on_close`` called), at most ``timeout`` seconds. Callable from any thread.

        Inside a running event loop (an ``async`` callback, the asyncio server's own thread) it
        only sends the closes: waiting there would stop the very loop that runs the sessions.
        Likewise, called from a session's own callback on the threading driver, it does not
        wait for that session.
        """
        me = threading.get_ident()
        with self._changed:
            waiting = set(self._sessions)
            self._waiters.append(waiting)
        try:
            for session in list(waiting):
                try:
                    session.close(reason, code)
                except Exception:  # one broken session must not keep the others open
                    logger.exception("closing websocket %s failed", session.id)
            if _in_event_loop():
                return
            deadline = time.monotonic() + timeout
            with self._changed:
                waiting.difference_update([s for s in waiting if s.runner_thread == me])
                while waiting:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._changed.wait(remaining)
        finally:
            with self._changed:
                self._waiters.remove(waiting)


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
