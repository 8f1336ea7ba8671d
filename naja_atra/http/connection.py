"""The server side of one HTTP/1.1 connection's input, as events (sans-I/O).

A driver appends what it reads to :attr:`RequestReader.buf` (or calls
:meth:`~RequestReader.feed`) and asks :meth:`~RequestReader.next_event` what to do next,
until the answer is :data:`NEED_DATA`. Pipelined requests stay in the buffer and come out
one by one, in order. The events are types, as in h11:

- :data:`NEED_DATA`: read more bytes, then ask again;
- :data:`SEND_CONTINUE`: the client waits for ``100 Continue`` before sending its body;
- :class:`RequestReceived`: a whole request, head and body;
- :class:`RequestRejected`: the input must be refused with ``error`` (a
  :class:`~naja_atra.http.errors.ProtocolError`) and the connection closed.

:attr:`RequestReader.state` says what the reader is waiting for (:class:`ReaderState`),
which is how drivers pick the timeout that applies (idle, head, body). The threading and
asyncio servers and the test client all read requests through this class, so framing,
limits and error answers are identical.
"""
from __future__ import annotations

import enum
from typing import Optional, Union

from .body import BodyDecoder, body_decoder
from .errors import ProtocolError
from .limits import Limits
from .parser import RequestHead, parse_head

__all__ = [
    "BODY",
    "HEAD",
    "IDLE",
    "NEED_DATA",
    "SEND_CONTINUE",
    "Event",
    "NeedData",
    "ReaderState",
    "RequestReader",
    "RequestReceived",
    "RequestRejected",
    "SendContinue",
]


class ReaderState(enum.IntEnum):
    """What a :class:`RequestReader` waits for."""

    IDLE = 0  #: nothing of the next request received yet
    HEAD = 1  #: part of a request head received
    BODY = 2  #: the head is complete, the body is not


#: The members as module constants: looking a member up on an Enum class is ten times slower
#: than a global on Python 3.11, and drivers ask for the state at every read.
IDLE, HEAD, BODY = ReaderState.IDLE, ReaderState.HEAD, ReaderState.BODY


class NeedData:
    """Event: read more bytes (the one instance is :data:`NEED_DATA`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


class SendContinue:
    """Event: send ``100 Continue`` now (the one instance is :data:`SEND_CONTINUE`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "SEND_CONTINUE"


NEED_DATA = NeedData()
SEND_CONTINUE = SendContinue()


class RequestReceived:
    """Event: a complete request, its head and its whole body."""

    __slots__ = ("head", "body")

    def __init__(self, head: RequestHead, body: bytes) -> None:
        self.head = head
        self.body = body

    def __repr__(self) -> str:
        return f"<RequestReceived {self.head.method} {self.head.target} body={len(self.body)}>"


class RequestRejected:
    """Event: refuse the input with ``error`` and close the connection."""

    __slots__ = ("error",)

    def __init__(self, error: ProtocolError) -> None:
        self.error = error

    def __repr__(self) -> str:
        return f"<RequestRejected {self.error.code} {self.error.message}>"


Event = Union[NeedData, SendContinue, RequestReceived, RequestRejected]


class RequestReader:
    """Turns the bytes of one connection into complete requests (head and whole body).

    The body is read whole (bounded by ``limits.max_body_size``) before the request is
    handed over, so a body the application ignores is never parsed as the next request.
    After :class:`RequestRejected` the reader is done: the connection must close.
    """

    __slots__ = ("buf", "_limits", "_head", "_decoder", "_parts", "_size")

    def __init__(self, limits: Limits) -> None:
        self.buf = bytearray()
        self._limits = limits
        self._head: Optional[RequestHead] = None
        self._decoder: Optional[BodyDecoder] = None
        self._parts: list[bytes] = []
        self._size = 0

    @property
    def state(self) -> ReaderState:
        """What the reader waits for: the next request, the rest of a head, or a body."""
        if self._head is not None:
            return BODY
        return HEAD if self.buf else IDLE

    def feed(self, data: bytes) -> None:
        """Append bytes read from the connection."""
        self.buf += data

    def next_event(self) -> Event:
        """What the driver should do next (see the module's list of events)."""
        try:
            if self._head is None:
                return self._read_head()
            return self._read_body()
        except ProtocolError as exc:
            return RequestRejected(exc)

    def _read_head(self) -> Event:
        buf = self.buf
        if not buf:
            return NEED_DATA
        parsed = parse_head(buf, self._limits)
        if parsed is None:
            return NEED_DATA
        head, consumed = parsed
        del buf[:consumed]
        decoder = body_decoder(head, self._limits)
        if decoder is None or decoder.done:
            return RequestReceived(head, b"")
        self._head = head
        self._decoder = decoder
        if head.expect_continue and not buf:
            # The client holds the body back until it hears from us; a client that sent it
            # anyway gets no interim response (it would be noise).
            return SEND_CONTINUE
        return self._read_body()

    def _read_body(self) -> Event:
        decoder = self._decoder
        head = self._head
        assert decoder is not None and head is not None
        if self.buf:
            data, leftover = decoder.feed(bytes(self.buf))
            self.buf = bytearray(leftover)
            if data:
                self._size += len(data)
                if self._size > self._limits.max_body_size:
                    raise ProtocolError(413, "Content Too Large", "Request body too large")
                self._parts.append(data)
        if not decoder.done:
            return NEED_DATA
        parts = self._parts
        body = parts[0] if len(parts) == 1 else b"".join(parts)
        self._head = None
        self._decoder = None
        self._parts = []
        self._size = 0
        return RequestReceived(head, body)
