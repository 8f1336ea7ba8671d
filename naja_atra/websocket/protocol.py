"""The sans-I/O WebSocket protocol (RFC 6455) with optional permessage-deflate (RFC 7692).

:class:`WebSocketProtocol` turns received bytes into events (:meth:`~WebSocketProtocol.receive_data`)
and messages into frames (the ``send_*`` methods). It never touches a socket, a thread or an
event loop: a driver feeds it what it reads, writes what it returns, and sends
:meth:`~WebSocketProtocol.data_to_send` (automatic pongs, close replies, failure closes).

Received frames are processed as their bytes arrive, even when a frame is split across many
reads: payload is unmasked, inflated and UTF-8-checked piece by piece, so a large frame is not
buffered twice and invalid text fails the connection at the first bad byte.
A message's pieces go into one ``bytearray`` (no object per fragment): its memory is bounded
by ``max_message_size`` whatever the framing, its frames by ``max_fragments`` (1009 past either).
"""
from __future__ import annotations

import codecs
import enum
import os
import struct
from typing import Any, List, Optional, Tuple, Union

from .deflate import DeflateError, DeflateParams, PerMessageDeflate

__all__ = [
    "Opcode", "State", "Event", "TextMessage", "BinaryMessage", "BinaryFrame", "Ping", "Pong", "Closed",
    "WebSocketProtocol",
]


class Opcode(enum.IntEnum):
    """Frame opcodes (RFC 6455 5.2)."""

    CONTINUATION = 0
    TEXT = 1
    BINARY = 2
    CLOSE = 8
    PING = 9
    PONG = 10


class State(enum.Enum):
    """Connection state as far as the protocol is concerned."""

    OPEN = "open"
    #: We sent a close frame and wait for the peer's.
    CLOSING = "closing"
    #: The closing handshake is complete, or the connection failed: send :meth:`data_to_send`
    #: and close the TCP connection.
    CLOSED = "closed"


# ---------------------------------------------------------------------------------------------
# Events


class Event:
    """Base of the events :meth:`WebSocketProtocol.receive_data` returns.

    Events are small value objects: they compare equal when their type and fields are equal.
    """

    __slots__: Tuple[str, ...] = ()

    def _fields(self) -> Tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash((type(self), self._fields()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"


class TextMessage(Event):
    """A complete text message."""

    __slots__ = ("data",)

    def __init__(self, data: str) -> None:
        self.data = data


class BinaryMessage(Event):
    """A complete binary message."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class BinaryFrame(Event):
    """One fragment of a binary message (``stream_binary`` mode only), decompressed.

    The message is the concatenation of its fragments' ``data``; ``fin`` is true on the last.
    """

    __slots__ = ("data", "fin")

    def __init__(self, data: bytes, fin: bool) -> None:
        self.data = data
        self.fin = fin


class Ping(Event):
    """A ping from the peer (already answered when ``auto_pong`` is on)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class Pong(Event):
    """A pong from the peer."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class Closed(Event):
    """The connection is closing: send :meth:`WebSocketProtocol.data_to_send`, then close TCP.

    ``by_peer`` is true when the peer's close frame ended the connection (``code`` is the peer's
    code, 1005 when its close frame had none) and false when we failed the connection on a
    protocol error (``code`` is the code we sent).
    """

    __slots__ = ("code", "reason", "by_peer")

    def __init__(self, code: int, reason: str, by_peer: bool) -> None:
        self.code = code
        self.reason = reason
        self.by_peer = by_peer


# ---------------------------------------------------------------------------------------------
# Helpers

_TEXT = 1
_BINARY = 2
_CLOSE = 8
_PING = 9
_PONG = 10

_PACK_16 = struct.Struct("!BBH").pack
_PACK_64 = struct.Struct("!BBQ").pack
_PACK_CODE = struct.Struct("!H").pack

_Utf8Decoder = codecs.getincrementaldecoder("utf-8")

# XOR tables for :func:`_unmask`: _XOR_TABLES[k] maps every byte b to b ^ k.
_XOR_TABLES = [bytes(b ^ k for b in range(256)) for k in range(256)]
# Below this size one big-integer XOR is faster; above it four strided translates are (measured:
# 1 MiB unmasks in ~1.7 ms with translate, ~3 ms with the integer XOR).
_TRANSLATE_FROM = 2048


def _unmask(data: Union[bytes, bytearray], mask: bytes) -> bytes:
    """``data`` XOR the 4-byte ``mask`` repeated (RFC 6455 5.3); masking and unmasking are the same."""
    n = len(data)
    if n < _TRANSLATE_FROM:
        if not n:
            return b""
        repeated = mask * ((n + 3) >> 2)
        if n & 3:
            repeated = repeated[:n]
        return (int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big")
    out = bytearray(data)
    tables = _XOR_TABLES
    # Every 4th byte starting at i is XORed with mask[i]: a table lookup via bytes.translate,
    # written back through an extended slice. All four loops run in C.
    out[0::4] = data[0::4].translate(tables[mask[0]])
    out[1::4] = data[1::4].translate(tables[mask[1]])
    out[2::4] = data[2::4].translate(tables[mask[2]])
    out[3::4] = data[3::4].translate(tables[mask[3]])
    return bytes(out)


def valid_wire_code(code: int) -> bool:
    """Whether a close code may appear in a close frame (RFC 6455 7.4.1, 7.4.2; IANA registry).

    1004 is reserved, 1005/1006/1015 are never sent, 1016-2999 are reserved for future RFCs;
    1012-1014 (service restart, try again later, bad gateway) are registered with IANA.
    3000-4999 belong to libraries, frameworks and applications.
    """
    if code < 1000 or code >= 5000:
        return False
    if code < 3000:
        return code <= 1014 and code not in (1004, 1005, 1006)
    return True


def truncate_utf8(text: str, limit: int) -> bytes:
    """``text`` encoded as UTF-8, cut to at most ``limit`` bytes at a character boundary."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return raw
    return raw[:limit].decode("utf-8", "ignore").encode("utf-8")


class _Failure(Exception):
    """Internal: fail the connection with ``code`` (raised while parsing, caught in receive_data)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


# ---------------------------------------------------------------------------------------------
# The protocol


class WebSocketProtocol:
    """One WebSocket connection's protocol state, without I/O.

    :param max_message_size: the largest message accepted (after decompression), in bytes;
        a larger one fails the connection with 1009 as soon as its running size exceeds the limit.
        In ``stream_binary`` mode the limit still applies to the whole binary message.
    :param max_fragments: the most frames one message may come in (the first frame and its
        continuations); one more fails the connection with 1009. Tiny fragments cost a parse
        and, in ``stream_binary`` mode, a callback each: this bounds that work per message.
    :param deflate: the negotiated permessage-deflate parameters (see
        :func:`naja_atra.websocket.deflate.negotiate`), or ``None``.
    :param auto_pong: answer pings with a pong (queued in :meth:`data_to_send`); the
        :class:`Ping` event is emitted either way.
    :param stream_binary: deliver binary messages as :class:`BinaryFrame` events, one per
        received frame, instead of one :class:`BinaryMessage`.
    :param client_side: act as the client: mask outgoing frames (with ``os.urandom``) and
        require incoming frames unmasked. Servers leave it false.

    The ``send_*`` methods return the bytes to write; they touch no state except the
    compression context (and the closing state for :meth:`send_close`), so callers serialise
    them and the writes under one lock. Once our close frame has been handed out (returned by
    :meth:`send_close`, or by :meth:`data_to_send` after a failure or the peer's close) they
    return ``b""``: nothing may follow a close frame on the wire (RFC 6455 5.5.1). Until then
    a driver may still answer the messages that arrived before the failure or the peer's
    close, as long as it writes those answers before :meth:`data_to_send`.
    """

    __slots__ = (
        "state", "close_code", "close_reason",
        "_max_size", "_max_frames", "_deflate", "_auto_pong", "_stream_binary", "_client_side", "_mask_bit",
        "_buf", "_out", "_close_sent", "_close_out",
        # The data frame whose payload is arriving: bytes left, mask (rotated to the next byte), FIN.
        "_f_left", "_f_mask", "_f_fin",
        # The message in progress: opcode (0 when none), compressed, decompressed size and frames
        # so far, collected payload, UTF-8 decoder, and whether it is discarded (we are closing).
        "_m_opcode", "_m_compressed", "_m_size", "_m_frames", "_m_buf", "_m_decoder", "_m_discard",
    )

    def __init__(
        self,
        *,
        max_message_size: int = 16 * 1024 * 1024,
        max_fragments: int = 128 * 1024,
        deflate: Optional[DeflateParams] = None,
        auto_pong: bool = True,
        stream_binary: bool = False,
        client_side: bool = False,
    ) -> None:
        self.state = State.OPEN
        self.close_code: Optional[int] = None
        self.close_reason = ""
        self._max_size = max_message_size
        self._max_frames = max_fragments
        self._deflate = PerMessageDeflate(deflate, client_side=client_side) if deflate is not None else None
        self._auto_pong = auto_pong
        self._stream_binary = stream_binary
        self._client_side = client_side
        # Clients must mask every frame and servers must not (RFC 6455 5.1).
        self._mask_bit = 0 if client_side else 0x80
        self._buf = bytearray()
        self._out = bytearray()
        # Our close frame exists (queued in _out or returned by send_close) / has been handed
        # to the caller (returned by send_close or data_to_send): nothing may follow it.
        self._close_sent = False
        self._close_out = False
        self._f_left = 0
        self._f_mask: Optional[bytes] = None
        self._f_fin = False
        self._m_opcode = 0
        self._m_compressed = False
        self._m_size = 0
        self._m_frames = 0
        self._m_buf = bytearray()
        self._m_decoder: Optional[codecs.IncrementalDecoder] = None
        self._m_discard = False

    # -- receiving --------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> List[Event]:
        """Parse ``data`` (any amount, split anywhere) and return the resulting events.

        Incomplete frame headers and control frames are kept for the next call; data frame
        payload is consumed as it arrives. After a :class:`Closed` event (or once
        :attr:`state` is ``CLOSED``) further input is ignored.

        Ordering: handle the events in order, then send :meth:`data_to_send`. A failure close
        or a close reply is always the last thing queued (a :class:`Closed` event ends the
        list), so it goes out after the replies to earlier messages. With ``auto_pong`` the
        pongs of the whole batch are queued as the pings are parsed; a driver that must keep
        pongs and message replies in wire order (Autobahn checks it) uses ``auto_pong=False``
        and answers each :class:`Ping` event with :meth:`send_pong`.
        """
        state = self.state  # a local, so that type checkers do not narrow self.state below
        if state is State.CLOSED:
            return []
        events: List[Event] = []
        if self._buf:
            self._buf += data
            buf: Union[bytes, bytearray] = self._buf
        else:
            buf = data if type(data) is bytes else bytes(data)
        pos = 0
        end = len(buf)
        try:
            pos = self._parse(buf, pos, end, events)
        except _Failure as failure:
            self._fail(failure.code, failure.reason, events)
        if self.state is State.CLOSED:
            self._buf = bytearray()
        elif buf is self._buf:
            del self._buf[:pos]
        elif pos < end:
            self._buf = bytearray(buf[pos:])
        return events

    def _parse(self, buf: Union[bytes, bytearray], pos: int, end: int, events: List[Event]) -> int:
        """Process the frames in ``buf[pos:end]``; return the position of the first unused byte."""
        while True:
            left = self._f_left
            if left:
                # The payload of a data frame whose header came earlier.
                avail = end - pos
                if not avail:
                    return pos
                take = left if avail >= left else avail
                raw = buf[pos:pos + take]
                pos += take
                mask = self._f_mask
                if mask is not None:
                    chunk = _unmask(raw, mask)
                    # The next byte of the payload lines up with a later byte of the mask.
                    shift = take & 3
                    if shift:
                        self._f_mask = mask[shift:] + mask[:shift]
                else:
                    chunk = bytes(raw)  # no copy when raw is already bytes
                left -= take
                self._f_left = left
                self._data(chunk, not left, events)
                continue

            if end - pos < 2:
                return pos
            b0 = buf[pos]
            b1 = buf[pos + 1]
            opcode = b0 & 0x0F
            length = b1 & 0x7F
            # Check what the first two bytes tell before waiting for the rest (fail fast).
            if b0 & 0x70:
                self._check_rsv(b0, opcode)
            if opcode > 2:
                if opcode < 8 or opcode > 10:
                    raise _Failure(1002, f"reserved opcode {opcode}")
                if not b0 & 0x80:
                    raise _Failure(1002, "fragmented control frame")
                if length > 125:
                    raise _Failure(1002, "control frame payload longer than 125 bytes")
            if b1 & 0x80 != self._mask_bit:
                raise _Failure(1002, "unmasked frame from a client" if self._mask_bit else "masked frame from a server")

            header = 2
            if length == 126:
                if end - pos < 4:
                    return pos
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                header = 4
            elif length == 127:
                if end - pos < 10:
                    return pos
                length = int.from_bytes(buf[pos + 2:pos + 10], "big")
                if length >> 63:
                    raise _Failure(1002, "payload length with the most significant bit set")
                header = 10
            # Non-minimal length encodings (e.g. 5 written with 16 bits) are accepted: RFC 6455
            # 5.2 asks senders for the minimal encoding but does not tell receivers to fail.
            mask = None
            if self._mask_bit:
                if end - pos < header + 4:
                    return pos
                mask = bytes(buf[pos + header:pos + header + 4])
                header += 4

            if opcode > 2:
                # A control frame is handled whole (its payload is at most 125 bytes).
                stop = pos + header + length
                if stop > end:
                    return pos
                raw = buf[pos + header:stop]
                pos = stop
                self._control(opcode, _unmask(raw, mask) if mask is not None else bytes(raw), events)
                if self.state is State.CLOSED:
                    return pos
                continue

            fin = b0 & 0x80
            self._start_data_frame(b0, opcode, length)
            pos += header
            if fin and opcode and not self._m_compressed and not self._m_discard and end - pos >= length:
                # Fast path: an unfragmented, uncompressed message that is all here.
                raw = buf[pos:pos + length]
                pos += length
                payload = _unmask(raw, mask) if mask is not None else bytes(raw)
                self._m_opcode = 0
                if opcode == _TEXT:
                    try:
                        events.append(TextMessage(payload.decode("utf-8")))
                    except UnicodeDecodeError:
                        raise _Failure(1007, "invalid UTF-8 in a text message") from None
                elif self._stream_binary:
                    events.append(BinaryFrame(payload, True))
                else:
                    events.append(BinaryMessage(payload))
                continue
            self._f_fin = bool(fin)
            if end - pos >= length:
                # The whole payload is here (a fragment, a compressed message): no partial-frame
                # state, no mask rotation -- tiny fragments cost little.
                raw = buf[pos:pos + length]
                pos += length
                self._data(_unmask(raw, mask) if mask is not None else bytes(raw), True, events)
            else:
                self._f_mask = mask
                self._f_left = length

    def _check_rsv(self, b0: int, opcode: int) -> None:
        """Fail unless the reserved bits are RSV1 on the first frame of a message with deflate."""
        if b0 & 0x30:
            raise _Failure(1002, "reserved bits RSV2/RSV3 set")
        if self._deflate is None:
            raise _Failure(1002, "reserved bit RSV1 set without a negotiated extension")
        if opcode == 0:
            raise _Failure(1002, "RSV1 set on a continuation frame")
        if opcode > 2:
            raise _Failure(1002, "RSV1 set on a control frame")

    def _start_data_frame(self, b0: int, opcode: int, length: int) -> None:
        """Check a data frame's place in the message sequence and the message size limit."""
        if opcode:
            if self._m_opcode:
                raise _Failure(1002, "new data frame while a fragmented message is in progress")
            self._m_opcode = opcode
            self._m_compressed = bool(b0 & 0x40)
            self._m_size = 0
            self._m_frames = 1
            self._m_discard = self.state is not State.OPEN
            if opcode == _TEXT:
                decoder = self._m_decoder
                if decoder is None:
                    decoder = self._m_decoder = _Utf8Decoder()
                else:
                    decoder.reset()
        elif not self._m_opcode:
            raise _Failure(1002, "continuation frame without a message in progress")
        elif self.state is not State.OPEN and not self._m_discard:
            # We sent a close frame mid-message: the rest of this message is dropped.
            self._m_discard = True
            self._m_buf = bytearray()
        else:
            self._m_frames += 1
            if self._m_frames > self._max_frames and not self._m_discard:
                raise _Failure(1009, "message too big: too many fragments")
        if not self._m_compressed and not self._m_discard and self._m_size + length > self._max_size:
            # The declared length already says the message is too big: fail before the payload.
            raise _Failure(1009, "message too big")

    def _data(self, chunk: bytes, frame_done: bool, events: List[Event]) -> None:
        """Process the next (unmasked) piece of a data frame's payload."""
        last = frame_done and self._f_fin
        if self._m_discard:
            if last:
                self._m_opcode = 0
                self._m_discard = False
            return
        if self._m_compressed:
            assert self._deflate is not None
            try:
                chunk = self._deflate.decompress(chunk, last, self._max_size - self._m_size)
            except DeflateError as exc:
                raise _Failure(exc.code, exc.reason) from None
        self._m_size += len(chunk)
        is_text = self._m_opcode == _TEXT
        text = ""
        if is_text:
            decoder = self._m_decoder
            assert decoder is not None
            try:
                text = decoder.decode(chunk, last)
            except UnicodeDecodeError:
                raise _Failure(1007, "invalid UTF-8 in a text message") from None
            if not last:
                # CPython's decoder rejects every other invalid prefix at its first bad byte but
                # waits for the third byte of a UTF-16 surrogate (ED A0-BF ..); fail that fast too.
                pending = decoder.getstate()[0]
                if len(pending) == 2 and pending[0] == 0xED and pending[1] >= 0xA0:
                    raise _Failure(1007, "invalid UTF-8 in a text message")
        if not last and (is_text or not frame_done or not self._stream_binary):
            # Kept as bytes in one buffer, however many fragments (text is validated as it comes).
            self._m_buf += chunk
            return
        buf = self._m_buf
        if buf:  # earlier pieces: the message (or streamed frame) is the buffer
            buf += chunk
            self._m_buf = bytearray()
            if is_text:
                text = buf.decode("utf-8")
            else:
                chunk = bytes(buf)
        if last:
            self._m_opcode = 0
        if is_text:
            events.append(TextMessage(text))
        elif self._stream_binary:
            events.append(BinaryFrame(chunk, last))
        else:
            events.append(BinaryMessage(chunk))

    def _control(self, opcode: int, payload: bytes, events: List[Event]) -> None:
        if opcode == _PING:
            events.append(Ping(payload))
            if self._auto_pong and not self._close_sent:
                self._out += self._frame(_PONG, payload, True)
        elif opcode == _PONG:
            events.append(Pong(payload))
        else:
            self._receive_close(payload, events)

    def _receive_close(self, payload: bytes, events: List[Event]) -> None:
        n = len(payload)
        if n == 0:
            code, reason = 1005, ""
        elif n == 1:
            raise _Failure(1002, "close frame with a 1-byte payload")
        else:
            code = (payload[0] << 8) | payload[1]
            if not valid_wire_code(code):
                raise _Failure(1002, f"invalid close code {code}")
            try:
                reason = payload[2:].decode("utf-8")
            except UnicodeDecodeError:
                raise _Failure(1007, "close reason is not valid UTF-8") from None
        if not self._close_sent:
            # The peer started the closing handshake: answer with the code it sent (RFC 6455
            # 5.5.1 "typically echos the status code it received"). With no code received the
            # reply has no code either: 1005 must not appear on the wire and an empty close
            # echoes "nothing" faithfully.
            self._out += self._frame(_CLOSE, b"" if code == 1005 else _PACK_CODE(code), True)
            self._close_sent = True
        self._closed(code, reason, events, by_peer=True)

    def _fail(self, code: int, reason: str, events: List[Event]) -> None:
        """Fail the connection (RFC 6455 7.1.7): queue our close frame unless one was sent already."""
        if not self._close_sent:
            self._out += self._frame(_CLOSE, _PACK_CODE(code) + truncate_utf8(reason, 123), True)
            self._close_sent = True
        self._closed(code, reason, events, by_peer=False)

    def _closed(self, code: int, reason: str, events: List[Event], by_peer: bool) -> None:
        self.state = State.CLOSED
        self.close_code = code
        self.close_reason = reason
        self._f_left = 0
        self._m_opcode = 0
        self._m_buf = bytearray()
        events.append(Closed(code, reason, by_peer))

    def data_to_send(self) -> bytes:
        """The bytes the protocol itself wants sent (pongs, close replies, failure closes); empties
        the queue."""
        if not self._out:
            return b""
        out = bytes(self._out)
        self._out.clear()
        if self._close_sent:
            self._close_out = True
        return out

    # -- sending ----------------------------------------------------------------------------

    def _frame(self, opcode: int, payload: bytes, fin: bool, rsv1: bool = False) -> bytes:
        """One frame around ``payload`` (masked when client side)."""
        n = len(payload)
        b0 = opcode | (0x80 if fin else 0) | (0x40 if rsv1 else 0)
        if not self._client_side:
            if n < 126:
                return bytes((b0, n)) + payload
            if n < 65536:
                return _PACK_16(b0, 126, n) + payload
            return _PACK_64(b0, 127, n) + payload
        mask = os.urandom(4)
        if n < 126:
            header = bytes((b0, 0x80 | n))
        elif n < 65536:
            header = _PACK_16(b0, 0xFE, n)
        else:
            header = _PACK_64(b0, 0xFF, n)
        return header + mask + _unmask(payload, mask)

    def _message(self, opcode: int, payload: bytes, fragment_size: int) -> bytes:
        rsv1 = False
        if self._deflate is not None:
            payload = self._deflate.compress(payload)
            rsv1 = True
        n = len(payload)
        if fragment_size <= 0 or n <= fragment_size:
            return self._frame(opcode, payload, True, rsv1)
        frames = []
        for start in range(0, n, fragment_size):
            stop = start + fragment_size
            if start:
                frames.append(self._frame(0, payload[start:stop], stop >= n))
            else:
                # Only the first frame carries RSV1 (RFC 7692 6.1).
                frames.append(self._frame(opcode, payload[start:stop], False, rsv1))
        return b"".join(frames)

    def send_text(self, text: str, fragment_size: int = 0) -> bytes:
        """The frame(s) of a text message; ``fragment_size > 0`` splits the (compressed) payload
        into frames of at most that many bytes."""
        if self._close_out:
            return b""
        return self._message(_TEXT, text.encode("utf-8"), fragment_size)

    def send_binary(self, data: bytes, fragment_size: int = 0) -> bytes:
        """The frame(s) of a binary message; see :meth:`send_text`."""
        if self._close_out:
            return b""
        return self._message(_BINARY, data, fragment_size)

    def send_frame(self, opcode: Opcode, data: bytes, fin: bool) -> bytes:
        """One raw frame, for streaming a message: ``TEXT``/``BINARY`` with ``fin=False``, then
        ``CONTINUATION`` frames, the last with ``fin=True``. Never compressed (a message may be
        sent uncompressed even with deflate agreed). For closing use :meth:`send_close`."""
        opcode = Opcode(opcode)
        if opcode == Opcode.CLOSE:
            raise ValueError("use send_close() to send a close frame")
        if opcode >= 8 and (not fin or len(data) > 125):
            raise ValueError("control frames must be final and carry at most 125 bytes")
        if self._close_out:
            return b""
        return self._frame(int(opcode), data, fin)

    def encode_frame(self, opcode: Opcode, data: bytes, fin: bool) -> bytes:
        """A frame of a message admitted earlier, whatever the state now (a driver producing a
        streamed message's frames as the connection drains). Never compressed."""
        return self._frame(int(opcode), data, fin)

    def send_ping(self, data: bytes = b"") -> bytes:
        """A ping frame (payload at most 125 bytes)."""
        if len(data) > 125:
            raise ValueError("ping payload longer than 125 bytes")
        if self._close_out:
            return b""
        return self._frame(_PING, data, True)

    def send_pong(self, data: bytes = b"") -> bytes:
        """An unsolicited (or manual) pong frame (payload at most 125 bytes)."""
        if len(data) > 125:
            raise ValueError("pong payload longer than 125 bytes")
        if self._close_out:
            return b""
        return self._frame(_PONG, data, True)

    def send_close(self, code: int = 1000, reason: str = "") -> bytes:
        """Our close frame; the state moves to ``CLOSING`` until the peer's close arrives.

        ``b""`` when a close frame was already sent or queued (including the automatic reply to
        the peer's close, after which the state is already ``CLOSED``). ``code`` must be one an
        endpoint may send (1000-1003, 1007-1014, 3000-4999); ``reason`` is cut to the 123 bytes
        of UTF-8 a control frame has room for.
        """
        if not valid_wire_code(code):
            raise ValueError(f"close code {code} cannot be sent")
        if self._close_sent:
            return b""
        self._close_sent = self._close_out = True
        if self.state is State.OPEN:
            self.state = State.CLOSING
        return self._frame(_CLOSE, _PACK_CODE(code) + truncate_utf8(reason, 123), True)
