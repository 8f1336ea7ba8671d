"""Turning a filled ``Response`` into the bytes to send (no I/O)."""
from __future__ import annotations

import json
import os
from typing import Any, Iterable, Optional

from .compression import accepts_gzip, gzip_bytes
from .errors import HttpError
from .outgoing import Outgoing
from .request import Request
from .response import Response, head_lines
from .results import StaticFile
from .static_files import file_headers, iter_file, not_modified
from .wire import response_head

#: Statuses that never carry a body (RFC 9110 6.4.1).
_NO_BODY = frozenset((204, 304))
_GZIP_MIN_SIZE = 256


class GzipPolicy:
    """Which responses are compressed: content types (without parameters) and level."""

    __slots__ = ("types", "level")

    def __init__(self, types: Iterable[str] = (), level: int = 9) -> None:
        self.types = frozenset(t.split(";", 1)[0].strip().lower() for t in types)
        self.level = level

    def wants(self, request: Request, content_type: str) -> bool:
        """True when ``content_type`` is configured and the client accepts gzip."""
        if not self.types:
            return False
        mime = content_type.split(";", 1)[0].strip().lower()
        return mime in self.types and accepts_gzip(request.headers.get("Accept-Encoding"))


def body_bytes(body: Any) -> tuple[bytes, Optional[str]]:
    """A body value as bytes, with the content type it implies (None: keep the set one)."""
    if body is None:
        return b"", None
    if isinstance(body, str):
        return body.encode("utf-8"), "text/html; charset=utf-8"
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body), "application/octet-stream"
    if isinstance(body, (dict, list)):
        return json.dumps(body, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8"
    raise TypeError(f"cannot send a body of type {type(body).__name__}")


def _connection_header(request: Request, response: Response, close: bool) -> None:
    if close:
        response.headers["Connection"] = "close"
    elif request.version == "HTTP/1.0":
        response.headers["Connection"] = "keep-alive"


def _head(request: Request, response: Response) -> bytes:
    return response_head(request.version, response.status_code, head_lines(response.headers, response.cookies))


def _static_file(request: Request, response: Response, static: StaticFile, close: bool) -> Outgoing:
    try:
        stat = os.stat(static.file_path)
    except OSError:
        raise HttpError(404, "Not Found") from None
    headers = file_headers(static.file_path, stat, static.content_type)
    for name, value in headers:
        if name not in response.headers:
            response.headers[name] = value
    etag = response.headers.get("ETag")
    if response.status_code == 200 and isinstance(etag, str) and not_modified(request.headers, etag, stat.st_mtime):
        response.status_code = 304
        response.headers.pop("Content-Length", None)
        response.headers.pop("Content-Type", None)
        _connection_header(request, response, close)
        return Outgoing(_head(request, response), (), close)
    response.headers["Content-Length"] = str(stat.st_size)
    _connection_header(request, response, close)
    if request.method == "HEAD":
        return Outgoing(_head(request, response), (), close)
    return Outgoing(_head(request, response), iter_file(static.file_path, length=stat.st_size), close)


def finalize(request: Request, response: Response, gzip: GzipPolicy, close: bool) -> Outgoing:
    """The head and body to send for ``response`` (``close``: the connection ends after it).

    A streamed response has already sent its head: only an unsent last chunk remains.
    Raises ``HttpError(404)`` for a ``StaticFile`` that does not exist and ``TypeError``
    for a body that cannot be sent.
    """
    if response.streaming:
        if not response.stream_closed:
            response.close()  # sends the last chunk itself, through the channel
        chunked = response.headers.get("Transfer-Encoding") == "chunked"
        return Outgoing(b"", (), close or not chunked)
    body = response.body
    if isinstance(body, StaticFile):
        return _static_file(request, response, body, close)
    data, implied_type = body_bytes(body)
    headers = response.headers
    status = response.status_code
    if status in _NO_BODY or status < 200:
        data = b""
    else:
        if "Content-Type" not in headers and implied_type is not None and (data or body != ""):
            headers["Content-Type"] = implied_type
        content_type = headers.get("Content-Type")
        if (len(data) >= _GZIP_MIN_SIZE and isinstance(content_type, str)
                and "Content-Encoding" not in headers and gzip.wants(request, content_type)):
            data = gzip_bytes(data, gzip.level)
            headers["Content-Encoding"] = "gzip"
            headers.add("Vary", "Accept-Encoding")
        headers["Content-Length"] = str(len(data))
    _connection_header(request, response, close)
    head = _head(request, response)
    if response.upgrade is not None and status == 101:
        return Outgoing(head, (), False, response.upgrade)
    if request.method == "HEAD" or not data:
        return Outgoing(head, (), close)
    return Outgoing(head, (data,), close)

