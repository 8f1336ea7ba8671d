"""Serialising a response head and chunked body frames (no I/O)."""
from __future__ import annotations

import time
from email.utils import formatdate
from typing import Iterable

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


def error_bytes(status: int, message: str = "", version: str = "HTTP/1.1") -> bytes:
    """A complete minimal plain-text error response that closes the connection.

    Used by drivers for errors found before a request reaches the application
    (malformed framing, oversized heads, timeouts).
    """
    body = f"{status} {message or reason_phrase(status)}\n".encode("utf-8", "replace")
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
    ]
    return response_head(version, status, headers) + body
