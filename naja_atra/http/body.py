"""Decoding a request body from bytes as they arrive (sans-I/O).

A decoder is fed whatever the transport read, in pieces of any size, and hands back the
body bytes found in them plus the bytes past the end of the body (the next pipelined
request). Body data is passed through without being buffered; only the short framing
lines of a chunked body (sizes, trailers) are accumulated.
"""
from __future__ import annotations

import re
from typing import Optional, Protocol

from .errors import ProtocolError
from .headers import HeaderMap
from .limits import Limits
from .parser import RequestHead, parse_header_field

__all__ = ["BodyDecoder", "LengthDecoder", "ChunkedDecoder", "body_decoder", "MAX_CHUNK_LINE"]

#: Longest chunk-size line (size, extensions and CRLF) accepted, in bytes.
MAX_CHUNK_LINE = 4096

_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
# Control characters other than HTAB have no place in chunk extensions.
_EXT_CTL_RE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")

# ChunkedDecoder states.
_SIZE = 0  # reading a chunk-size line
_DATA = 1  # passing chunk data through
_DATA_END = 2  # expecting the CRLF after the chunk data
_TRAILER = 3  # reading trailer lines up to the blank line
_DONE = 4


class BodyDecoder(Protocol):
    """What the connection code drives: feed bytes in, get body bytes and leftovers out."""

    done: bool
    trailers: HeaderMap

    def feed(self, data: bytes) -> tuple[bytes, bytes]:
        """Consume ``data``; return (body bytes found in it, bytes after the end of the body).

        Raises :class:`ProtocolError` for a malformed or oversized body.
        """
        ...


class LengthDecoder:
    """The body of a request with a ``Content-Length`` (already checked against the limits)."""

    def __init__(self, length: int) -> None:
        self.done: bool = length <= 0
        self.trailers: HeaderMap = HeaderMap()
        self._remaining = length

    def feed(self, data: bytes) -> tuple[bytes, bytes]:
        """Return the part of ``data`` that belongs to the body, and what follows it."""
        remaining = self._remaining
        if len(data) < remaining:
            self._remaining = remaining - len(data)
            return data, b""
        self._remaining = 0
        self.done = True
        if len(data) == remaining:
            return data, b""
        return data[:remaining], data[remaining:]


class ChunkedDecoder:
    """A ``Transfer-Encoding: chunked`` body (RFC 9112 7.1), trailers included.

    Framing lines must end with CRLF: a bare LF is refused because disagreeing with a proxy
    about chunk boundaries is how request smuggling works.
    """

    def __init__(self, limits: Limits) -> None:
        self.done: bool = False
        self.trailers: HeaderMap = HeaderMap()
        self._limits = limits
        self._state = _SIZE
        self._remaining = 0  # bytes left in the current chunk, or of its closing CRLF
        self._total = 0  # decoded body bytes so far
        self._line = bytearray()  # a framing line received in part
        self._trailer_bytes = 0
        self._trailer_count = 0

    def feed(self, data: bytes) -> tuple[bytes, bytes]:
        """Consume ``data``; return (decoded body bytes from it, bytes after the body)."""
        if self.done:
            return b"", data
        out: list[bytes] = []
        pos = 0
        end = len(data)
        while pos < end:
            state = self._state
            if state == _DATA:
                take = min(self._remaining, end - pos)
                out.append(data[pos:pos + take])
                pos += take
                self._remaining -= take
                if not self._remaining:
                    self._state = _DATA_END
                    self._remaining = 2
            elif state == _DATA_END:
                pos = self._data_end(data, pos)
            else:
                line, pos = self._read_line(data, pos)
                if line is None:
                    break
                if state == _SIZE:
                    self._size_line(line)
                else:
                    self._trailer_line(line)
                    if self.done:
                        break
        body = out[0] if len(out) == 1 else b"".join(out)
        return body, (data[pos:] if self.done else b"")

    def _data_end(self, data: bytes, pos: int) -> int:
        """Match (part of) the CRLF that must follow chunk data; return the new position."""
        expected = b"\r\n"[2 - self._remaining:]
        got = data[pos:pos + len(expected)]
        if not expected.startswith(got):
            raise ProtocolError(400, "Bad Request", "Chunk data not followed by CRLF")
        self._remaining -= len(got)
        if not self._remaining:
            self._state = _SIZE
        return pos + len(got)

    def _line_limit(self) -> int:
        """How long the framing line being read may get."""
        if self._state == _SIZE:
            return MAX_CHUNK_LINE
        return self._limits.max_header_size - self._trailer_bytes

    def _line_too_long(self) -> ProtocolError:
        """The error for a framing line past its limit (431 for trailers, as for headers)."""
        if self._state == _SIZE:
            return ProtocolError(400, "Bad Request", "Chunk-size line too long")
        return ProtocolError(431, "Request Header Fields Too Large", "Trailer section too large")

    def _read_line(self, data: bytes, pos: int) -> tuple[Optional[bytes], int]:
        """Take one CRLF-terminated line (without the CRLF) starting at ``pos``.

        Returns (None, end of data) after keeping a partial line for the next call. The
        search is bounded by the line limit so junk without LF is refused promptly.
        """
        limit = self._line_limit()
        room = limit - len(self._line)
        eol = data.find(b"\n", pos, pos + room)
        if eol < 0:
            if len(data) - pos >= room:
                raise self._line_too_long()
            self._line += data[pos:]
            return None, len(data)
        if self._line:
            self._line += data[pos:eol + 1]
            line = bytes(self._line)
            self._line.clear()
        else:
            line = data[pos:eol + 1]
        if not line.endswith(b"\r\n"):
            raise ProtocolError(400, "Bad Request", "Chunked framing line not ended by CRLF")
        return line[:-2], eol + 1

    def _size_line(self, line: bytes) -> None:
        """Handle ``chunk-size [; extensions]``: start a chunk, or the trailers after size 0."""
        size_part, semi, ext = line.partition(b";")
        if semi:
            # RFC 9112 7.1.1 allows whitespace (BWS) before the ';'.
            size_part = size_part.rstrip(b" \t")
            if _EXT_CTL_RE.search(ext) is not None:
                raise ProtocolError(400, "Bad Request", "Control character in chunk extension")
        if not 0 < len(size_part) <= 16 or not _HEX_DIGITS.issuperset(size_part):
            raise ProtocolError(400, "Bad Request", "Invalid chunk size")
        size = int(size_part, 16)
        if size == 0:
            self._state = _TRAILER
            return
        self._total += size
        if self._total > self._limits.max_body_size:
            raise ProtocolError(413, "Content Too Large", "Request body too large")
        self._state = _DATA
        self._remaining = size

    def _trailer_line(self, line: bytes) -> None:
        """Handle one trailer field, or the blank line that ends the body."""
        if not line:
            self._state = _DONE
            self.done = True
            return
        self._trailer_bytes += len(line) + 2
        self._trailer_count += 1
        if self._trailer_count > self._limits.max_headers:
            raise ProtocolError(431, "Request Header Fields Too Large", "Too many trailer fields")
        # Same rules as a header line (a stray CR is a control character in the value).
        name, value = parse_header_field(line.decode("latin-1"))
        self.trailers.add(name, value)


def body_decoder(head: RequestHead, limits: Limits) -> Optional[BodyDecoder]:
    """The decoder for ``head``'s body, or None when the request has no body."""
    if head.chunked:
        return ChunkedDecoder(limits)
    if head.content_length:
        return LengthDecoder(head.content_length)
    return None
