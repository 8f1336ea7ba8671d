"""The server side of one HTTP/1.1 connection's input, as events (sans-I/O).

A driver appends what it reads to :attr:`RequestReader.buf` (or calls
:meth:`~RequestReader.feed`) and asks :meth:`~RequestReader.next_event` what happened, until
the answer is :data:`NEED_DATA`. Pipelined requests stay in the buffer and come out one by
one, in order. The events are types, as in h11:

- :data:`NEED_DATA`: read more bytes, then ask again;
- :class:`RequestReceived`: a request head; when ``head.has_body``, its body follows as
- :class:`BodyData` pieces (as they arrive, never buffered whole here) and then
- :data:`END_OF_BODY`;
- :class:`RequestRejected`: the input must be refused with ``error`` (a
  :class:`~naja_atra.http.errors.ProtocolError`) and the connection closed.

:attr:`RequestReader.state` says what the reader is waiting for (:class:`ReaderState`),
which is how drivers pick the timeout that applies (idle, head, body). The body size is
not limited here: the route's limit is (``RequestBodyReader.limit``). The threading and
asyncio servers and the test client all read requests through this class, so framing,
limits and error answers are identical.
"""
from __future__ import annotations

import dataclasses
import enum
import sys
from typing import Optional, Union

from .body import BodyDecoder, body_decoder
from .errors import ProtocolError
from .limits import Limits
from .parser import RequestHead, parse_head

__all__ = [
    "BODY",
    "END_OF_BODY",
    "HEAD",
    "IDLE",
    "NEED_DATA",
    "BodyData",
    "EndOfBody",
    "Event",
    "NeedData",
    "ReaderState",
    "RequestReader",
    "RequestReceived",
    "RequestRejected",
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


class EndOfBody:
    """Event: the body of the current request is complete (the one instance is
    :data:`END_OF_BODY`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "END_OF_BODY"


NEED_DATA = NeedData()
END_OF_BODY = EndOfBody()


class RequestReceived:
    """Event: a request head; its body (``head.has_body``) follows as :class:`BodyData`."""

    __slots__ = ("head",)

    def __init__(self, head: RequestHead) -> None:
        self.head = head

    def __repr__(self) -> str:
        return f"<RequestReceived {self.head.method} {self.head.target}>"


class BodyData:
    """Event: body bytes of the current request, as they arrived."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"<BodyData {len(self.data)} bytes>"


class RequestRejected:
    """Event: refuse the input with ``error`` and close the connection."""

    __slots__ = ("error",)

    def __init__(self, error: ProtocolError) -> None:
        self.error = error

    def __repr__(self) -> str:
        return f"<RequestRejected {self.error.code} {self.error.message}>"


Event = Union[NeedData, RequestReceived, BodyData, EndOfBody, RequestRejected]


class RequestReader:
    """Turns the bytes of one connection into request heads and body pieces.

    After :class:`RequestRejected` the reader is done: the connection must close.
    """

    __slots__ = ("buf", "_limits", "_decoder")

    def __init__(self, limits: Limits) -> None:
        self.buf = bytearray()
        # The decoders check framing and trailers; the body's size is the route's business.
        self._limits = dataclasses.replace(limits, max_body_size=sys.maxsize)
        self._decoder: Optional[BodyDecoder] = None

    @property
    def state(self) -> ReaderState:
        """What the reader waits for: the next request, the rest of a head, or a body."""
        if self._decoder is not None:
            return BODY
        return HEAD if self.buf else IDLE

    def feed(self, data: bytes) -> None:
        """Append bytes read from the connection."""
        self.buf += data

    def next_event(self) -> Event:
        """What the input holds next (see the module's list of events)."""
        try:
            if self._decoder is None:
                return self._read_head()
            return self._read_body()
        except ProtocolError as exc:
            self._decoder = None
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
        if decoder is not None and not decoder.done:
            self._decoder = decoder
        return RequestReceived(head)

    def _read_body(self) -> Event:
        decoder = self._decoder
        assert decoder is not None
        if decoder.done:
            self._decoder = None
            return END_OF_BODY
        if not self.buf:
            return NEED_DATA
        data, leftover = decoder.feed(bytes(self.buf))
        self.buf = bytearray(leftover)
        if data:
            return BodyData(data)
        if decoder.done:
            self._decoder = None
            return END_OF_BODY
        return NEED_DATA
