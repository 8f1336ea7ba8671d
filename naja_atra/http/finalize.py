"""Turning a filled ``Response`` into the ``Outgoing`` message every driver sends (no I/O).

A ``StaticFile`` body must have been opened first (:func:`~naja_atra.http.file_response.open_static`).
"""
from __future__ import annotations

from typing import Any, Iterable, Optional

from .compression import GzipPolicy as GzipPolicy  # re-exported: its import path before compression.py held it
from .compression import gzip_bytes, vary_accept_encoding
from .file_response import FileBody
from .json_codec import DEFAULT_JSON_CODEC, JsonCodec
from .outgoing import Outgoing
from .request import Request
from .response import Response, header_lines

#: Statuses that never carry a body (RFC 9110 6.4.1).
_NO_BODY = frozenset((204, 304))
_JSON_TYPE = "application/json; charset=utf-8"


def body_bytes(body: Any, codec: JsonCodec = DEFAULT_JSON_CODEC) -> tuple[bytes, Optional[str]]:
    """A body value as bytes, with the content type it implies (None: keep the set one).

    A dict or list is rendered by ``codec`` (the built-in one writes dates, UUIDs,
    decimals, enums and dataclasses inside it too: :mod:`naja_atra.http.json_codec`).
    """
    if body is None:
        return b"", None
    if isinstance(body, str):
        return body.encode("utf-8"), "text/html; charset=utf-8"
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body), "application/octet-stream"
    if isinstance(body, (dict, list)):
        text = codec.dumps(body)
        return (text.encode("utf-8") if isinstance(text, str) else bytes(text)), _JSON_TYPE
    raise TypeError(f"cannot send a body of type {type(body).__name__}")


def _file(request: Request, response: Response, body: FileBody, close: bool) -> Outgoing:
    """A file body: with its Content-Length, or (gzipped as it is sent) of unknown length."""
    unsized = body.size is None
    if unsized:
        response.headers.pop("Content-Length", None)
    else:
        response.headers["Content-Length"] = str(body.size)
    pieces: Iterable[bytes] = body.chunks if body.chunks is not None else ()
    return Outgoing(response.status_code, header_lines(response.headers, response.cookies), pieces,
                    close=close, version=request.version, unsized=unsized, head_only=request.method == "HEAD")


def finalize(request: Request, response: Response, gzip: GzipPolicy, close: bool,
             codec: JsonCodec = DEFAULT_JSON_CODEC) -> Outgoing:
    """The message to send for ``response`` (``close``: the connection ends after it).

    The body becomes bytes (str as UTF-8 HTML, dict/list as JSON through ``codec``) with the Content-Type it
    implies unless one is set, is gzipped when the policy and the client agree (whatever its
    size, unless the policy sets a ``min_size``), and gets its Content-Length; a HEAD
    response keeps the headers and drops the body. A file body (opened by
    :func:`~naja_atra.http.file_response.open_static`, which chose its representation) has
    its own Content-Length, or none when it is gzipped as it is sent. A streamed
    response has already sent itself: only its unsent end remains. ``TypeError`` for a body
    that cannot be sent.
    """
    if response.streaming:
        if not response.stream_closed:
            response.close()  # ends the body itself, through the channel
        return Outgoing.already_sent(close)
    body = response.body
    if isinstance(body, FileBody):
        return _file(request, response, body, close)
    data, implied_type = body_bytes(body, codec)
    headers = response.headers
    status = response.status_code
    if status in _NO_BODY or status < 200:
        data = b""
    else:
        if "Content-Type" not in headers and implied_type is not None and (data or body != ""):
            headers["Content-Type"] = implied_type
        content_type = headers.get("Content-Type")
        if (gzip.types and isinstance(content_type, str) and "Content-Encoding" not in headers
                and gzip.wants(request, content_type, len(data))):
            data = gzip_bytes(data, gzip.level)
            headers["Content-Encoding"] = "gzip"
            vary_accept_encoding(headers)
        headers["Content-Length"] = str(len(data))
    lines = header_lines(headers, response.cookies)
    if response.upgrade is not None and status == 101:
        return Outgoing(status, lines, close=False, version=request.version, upgrade=response.upgrade)
    pieces = [data] if data and request.method != "HEAD" else []
    return Outgoing(status, lines, pieces, close, request.version)
