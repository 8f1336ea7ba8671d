"""HTTP/1.x on the wire: response heads and body framing as bytes (no I/O).

Only the socket drivers (``naja_atra.servers``) serialise: everything before them works on
the structured :class:`~naja_atra.http.outgoing.Outgoing`. What a socket adds to a
response is decided here, once: ``Date``, the ``Connection`` header that says whether the
connection stays open, and the framing of a streamed body (chunked on HTTP/1.1, until the
connection closes on HTTP/1.0). The test client shows its responses with the same
additions (:func:`wire_headers`), so what it reports is what a socket client receives.
"""
from __future__ import annotations

import time
from email.utils import formatdate
from typing import Iterable, Optional, Sequence

from .status import reason_phrase

LAST_CHUNK = b"0\r\n\r\n"
CONTINUE_100 = b"HTTP/1.1 100 Continue\r\n\r\n"


class _DateCache:
    """The Date header, formatted once per second rather than per response."""

    second = -1
    value = ""


def http_date_now() -> str:
    """The current time as an IMF-fixdate, for the Date header (RFC 9110 6.6.1)."""
    second = int(time.time())
    if second != _DateCache.second:
        _DateCache.value = formatdate(second, usegmt=True)
        _DateCache.second = second
    return _DateCache.value


def response_head(version: str, status: int, headers: Iterable[tuple[str, str]]) -> bytes:
    """The status line and header block, ending with the blank line.

    Header names and values were validated when they were set (see ``Response``), so this
    only joins them.
    """
    lines = [f"{version} {status} {reason_phrase(status)}"]
    lines.extend(f"{name}: {value}" for name, value in headers)
    lines.append("\r\n")
    return "\r\n".join(lines).encode("latin-1")


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body; empty data gives nothing (an empty chunk would end the body)."""
    if not data:
        return b""
    return b"%x\r\n%s\r\n" % (len(data), data)


def _connection(version: str, close: bool) -> Optional[str]:
    """The ``Connection`` header a socket adds: ``close`` when the connection ends after the
    response, ``keep-alive`` for an HTTP/1.0 connection that stays open, else none (HTTP/1.1's
    default)."""
    if close:
        return "close"
    return "keep-alive" if version == "HTTP/1.0" else None


def wire_headers(version: str, headers: Sequence[tuple[str, str]], close: bool) -> list[tuple[str, str]]:
    """``headers`` as a socket sends them: plus the ``Connection`` header (replacing one the
    response set when it closes) and ``Date``."""
    lines = [pair for pair in headers if pair[0].lower() != "connection"] if close else list(headers)
    connection = _connection(version, close)
    if connection is not None:
        lines.append(("Connection", connection))
    lines.append(("Date", http_date_now()))
    return lines


def encode_head(version: str, status: int, headers: Sequence[tuple[str, str]], close: bool) -> bytes:
    """The head bytes of a response: ``response_head(version, status, wire_headers(...))``,
    in one pass (this runs for every response a socket sends)."""
    if close:
        lines = [f"{version} {status} {reason_phrase(status)}"]
        lines += [f"{name}: {value}" for name, value in headers if name.lower() != "connection"]
    else:
        lines = [f"{version} {status} {reason_phrase(status)}"]
        lines += [f"{name}: {value}" for name, value in headers]
    connection = _connection(version, close)
    if connection is not None:
        lines.append("Connection: " + connection)
    lines.append("Date: " + http_date_now())
    lines.append("\r\n")
    return "\r\n".join(lines).encode("latin-1")


class StreamFramer:
    """The framing of one streamed response body (``response.write_bytes``) on a socket.

    HTTP/1.1 gets ``Transfer-Encoding: chunked``; HTTP/1.0 has no chunks, so the body ends
    when the connection closes (``close_delimited``: the driver must close after it). A
    ``HEAD`` request gets the head and nothing else.
    """

    __slots__ = ("version", "head_only", "keep_alive", "chunked")

    def __init__(self, version: str, head_only: bool = False, keep_alive: bool = True) -> None:
        self.version = version
        self.head_only = head_only
        self.keep_alive = keep_alive
        self.chunked = version == "HTTP/1.1"

    @property
    def close_delimited(self) -> bool:
        """True when the connection must close for the body to end (HTTP/1.0)."""
        return not self.chunked

    @property
    def close(self) -> bool:
        """True when the connection ends after this response."""
        return self.close_delimited or not self.keep_alive

    def headers(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """``headers`` with the framing headers of a streamed body (before :func:`wire_headers`)."""
        lines = [pair for pair in headers if pair[0].lower() not in ("content-length", "transfer-encoding")]
        if self.chunked:
            lines.append(("Transfer-Encoding", "chunked"))
        return lines

    def head(self, status: int, headers: Iterable[tuple[str, str]]) -> bytes:
        """The head bytes, with the framing headers of a streamed body."""
        return encode_head(self.version, status, self.headers(headers), self.close)

    def piece(self, data: bytes) -> bytes:
        """One body piece as it goes on the wire (nothing for HEAD or empty data)."""
        if self.head_only or not data:
            return b""
        return chunk(data) if self.chunked else data

    def end(self) -> bytes:
        """What ends the body: the last chunk on HTTP/1.1, nothing otherwise."""
        return LAST_CHUNK if self.chunked and not self.head_only else b""


def error_parts(status: int, message: str = "") -> tuple[list[tuple[str, str]], bytes]:
    """The headers and plain-text body of the minimal error response the servers send for
    input refused before it reaches the application (malformed framing, oversized heads,
    timeouts); it always closes the connection."""
    body = f"{status} {message or reason_phrase(status)}\n".encode("utf-8", "replace")
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
    ]
    return headers, body


def error_bytes(status: int, message: str = "", version: str = "HTTP/1.1") -> bytes:
    """A complete minimal plain-text error response (see :func:`error_parts`), as bytes."""
    headers, body = error_parts(status, message)
    return encode_head(version, status, headers, True) + body
