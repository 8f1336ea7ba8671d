"""Serving a file: its headers (type, validators, caching), conditional GET, and the open
file's chunks; and turning a returned ``StaticFile`` into a response body.

``finalize`` does no I/O, so the dispatcher calls :func:`open_static` first: it stats the
file (404 when it is gone), sets the file's headers, chooses the representation (gzip when
the application's gzip policy and the client agree, as for any other body), answers a
conditional GET with ``304`` and opens the file (except for ``HEAD``), leaving a
:class:`FileBody` that ``finalize`` frames: with its Content-Length, or, gzipped, as a body
of unknown length whose pieces are compressed as they are sent. Which file a path maps to
is :mod:`naja_atra.http.static_files`'s job.

The gzip representation has validators of its own: the identity ETag with ``-gzip`` added
inside the quotes (``W/"1a2b-17f0"`` becomes ``W/"1a2b-17f0-gzip"``), and ``If-None-Match``
is compared with the ETag of the representation chosen for the request.
"""
from __future__ import annotations

import email.utils
import mimetypes
import os
import re
from datetime import timezone
from typing import IO, Any, Iterator, Mapping, Optional

from .compression import GzipPieces, GzipPolicy, vary_accept_encoding
from .errors import HttpError
from .headers import HeaderMap
from .request import Request
from .response import Response
from .results import StaticFile

__all__ = [
    "FileBody",
    "FileChunks",
    "file_headers",
    "guess_type",
    "gzip_etag",
    "http_date",
    "iter_file",
    "make_etag",
    "not_modified",
    "open_static",
]


_PINNED_TYPES = {
    ".js": "text/javascript",  # RFC 9239
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".wasm": "application/wasm",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}
# "x.tar.gz" is guessed as ("application/x-tar", "gzip"): serving gzip bytes as a tar would lie,
# since we send no Content-Encoding. Such files are served as what they are: compressed files.
_ENCODED_TYPES = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "compress": "application/x-compress",
    "br": "application/x-brotli",
}
_UTF8_APPLICATION_TYPES = frozenset({"application/javascript", "application/json", "application/xml"})


def guess_type(path: str) -> str:
    """The Content-Type for a file name: ``text/*``, JavaScript, JSON and XML get ``; charset=utf-8``.

    Unknown types are ``application/octet-stream``.
    """
    ext = os.path.splitext(path)[1].lower()
    content_type: Optional[str] = _PINNED_TYPES.get(ext)
    if content_type is None:
        content_type, encoding = mimetypes.guess_type(path)
        if encoding is not None:
            return _ENCODED_TYPES.get(encoding, "application/octet-stream")
        if content_type is None:
            return "application/octet-stream"
    if (
        content_type.startswith("text/")
        or content_type in _UTF8_APPLICATION_TYPES
        or content_type.endswith(("+json", "+xml"))
    ):
        return content_type + "; charset=utf-8"
    return content_type


def http_date(timestamp: float) -> str:
    """An IMF-fixdate (RFC 9110 5.6.7), e.g. ``Sun, 06 Nov 1994 08:49:37 GMT``."""
    return email.utils.formatdate(timestamp, usegmt=True)


def make_etag(stat: os.stat_result) -> str:
    """A weak validator from the file's size and modification time: ``W/"<hex size>-<hex mtime_ns>"``.

    Weak because equal size and mtime suggest, but do not prove, equal bytes.
    """
    return f'W/"{stat.st_size:x}-{stat.st_mtime_ns:x}"'


def gzip_etag(etag: str) -> str:
    """The ETag of a file's gzip representation: ``-gzip`` added to the opaque tag, inside
    the quotes and keeping a ``W/`` (``W/"a-b"`` -> ``W/"a-b-gzip"``), so that it never
    equals the identity representation's, whichever comparison is used."""
    etag = etag.strip()
    if len(etag) >= 2 and etag.endswith('"') and '"' in etag[:-1]:
        return etag[:-1] + '-gzip"'
    return etag + "-gzip"


def file_headers(file_path: str, stat: os.stat_result, content_type: str) -> list[tuple[str, str]]:
    """The headers of a static file response: Content-Type, Last-Modified, ETag, Cache-Control.

    ``content_type`` empty means :func:`guess_type` of ``file_path``. Content-Length is left to
    the caller, which knows whether a body is sent (``stat.st_size`` for a full GET).

    ``Cache-Control: no-cache`` lets clients store the file but makes them revalidate it each
    time, which costs one request answered ``304`` thanks to ETag / Last-Modified. Without it,
    browsers guess a freshness lifetime from Last-Modified and keep serving an old copy for hours
    after a deploy; files here carry no version in their name, so correctness comes first.
    """
    return [
        ("Content-Type", content_type or guess_type(file_path)),
        ("Last-Modified", http_date(stat.st_mtime)),
        ("ETag", make_etag(stat)),
        ("Cache-Control", "no-cache"),
    ]


def _header(headers: Mapping[str, str], name: str) -> Optional[str]:
    value = headers.get(name)
    if value is None and not isinstance(headers, HeaderMap):
        # A plain dict is case-sensitive; HeaderMap already ignored case.
        lowered = name.lower()
        for key, candidate in headers.items():
            if key.lower() == lowered:
                return candidate
    return value


# An entity-tag: optional weak marker, then a quoted opaque tag (which may contain commas).
_ENTITY_TAG_RE = re.compile(r'(?:W/)?"([^"]*)"')


def _opaque_tag(etag: str) -> str:
    etag = etag.strip()
    if etag.startswith("W/"):
        etag = etag[2:]
    return etag[1:-1] if len(etag) >= 2 and etag[0] == etag[-1] == '"' else etag


def not_modified(request_headers: Mapping[str, str], etag: str, mtime: float) -> bool:
    """True when a GET/HEAD may be answered ``304 Not Modified`` (RFC 9110 13.1.2, 13.1.3, 13.2.2).

    ``If-None-Match`` wins when present: ``*`` or any listed tag equal to ``etag`` under weak
    comparison (``W/`` ignored). Otherwise ``If-Modified-Since``: not modified when the file's
    whole-second mtime is not after the given date; an unparsable date is ignored.
    """
    if_none_match = _header(request_headers, "If-None-Match")
    if if_none_match is not None and if_none_match.strip():
        if if_none_match.strip() == "*":
            return True
        ours = _opaque_tag(etag)
        return any(match.group(1) == ours for match in _ENTITY_TAG_RE.finditer(if_none_match))
    if_modified_since = _header(request_headers, "If-Modified-Since")
    if not if_modified_since:
        return False
    try:
        since = email.utils.parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError, IndexError, OverflowError):  # 3.9 raises TypeError, 3.10+ ValueError
        return False
    if since.tzinfo is None:  # "-0000" parses as naive; HTTP dates are always GMT
        since = since.replace(tzinfo=timezone.utc)
    # Last-Modified is sent in whole seconds, so that is what the client echoes back.
    return int(mtime) <= since.timestamp()


class FileChunks(Iterator[bytes]):
    """Iterates over a file's bytes in chunks; the file is closed once exhausted or on :meth:`close`.

    The file is opened at construction, so a missing or unreadable file fails before a response
    is started. With ``length`` at most that many bytes are produced: a file that grows while
    it is sent cannot overrun the Content-Length already announced.
    """

    def __init__(self, path: str, chunk_size: int = 65536, length: Optional[int] = None) -> None:
        if chunk_size <= 0:
            raise ValueError(f"chunk_size must be > 0, not {chunk_size!r}")
        self._file: Optional[IO[bytes]] = open(path, "rb")  # closed by close() / exhaustion
        self._chunk_size = chunk_size
        self._remaining = length

    def __iter__(self) -> FileChunks:
        return self

    def __next__(self) -> bytes:
        file = self._file
        if file is None:
            raise StopIteration
        size = self._chunk_size
        if self._remaining is not None:
            size = min(size, self._remaining)
        chunk = file.read(size) if size > 0 else b""
        if not chunk:
            self.close()
            raise StopIteration
        if self._remaining is not None:
            self._remaining -= len(chunk)
        return chunk

    def close(self) -> None:
        """Close the file (idempotent); iteration then stops."""
        file, self._file = self._file, None
        if file is not None:
            file.close()

    @property
    def closed(self) -> bool:
        """True once the file is closed."""
        return self._file is None

    def __enter__(self) -> FileChunks:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def iter_file(path: str, chunk_size: int = 65536, length: Optional[int] = None) -> FileChunks:
    """The file's bytes in ``chunk_size`` pieces (at most ``length`` in all); see :class:`FileChunks`."""
    return FileChunks(path, chunk_size, length)


class FileBody:
    """A file to send: its ``size`` (the Content-Length; None when the length is not known
    up front: a file gzipped as it is sent) and its open ``chunks`` (the file's
    :class:`FileChunks`, or its :class:`~naja_atra.http.compression.GzipPieces`; None for
    ``HEAD``, which sends no body). Closing ``chunks`` closes the file."""

    __slots__ = ("size", "chunks")

    def __init__(self, size: Optional[int], chunks: Optional[Iterator[bytes]]) -> None:
        self.size = size
        self.chunks = chunks

    def __repr__(self) -> str:
        if self.size is None:
            return "<FileBody gzip, length unknown>"
        return f"<FileBody {self.size} bytes>"


#: Statuses that never carry a body (RFC 9110 6.4.1): never gzipped.
_NO_BODY = frozenset((204, 304))


def _gzipped(request: Request, response: Response, policy: Optional[GzipPolicy], size: int) -> bool:
    """Whether the file goes out gzip-coded: a body-carrying status, no coding set already,
    and the policy wants its type and size for this client."""
    if policy is None:
        return False
    status = response.status_code
    headers = response.headers
    content_type = headers.get("Content-Type")
    return (status >= 200 and status not in _NO_BODY and isinstance(content_type, str)
            and "Content-Encoding" not in headers and policy.wants(request, content_type, size))


def open_static(request: Request, response: Response, gzip: Optional[GzipPolicy] = None) -> None:
    """Replace the ``StaticFile`` body of ``response`` by the file's headers and body.

    ``gzip``: the application's gzip policy (None: no compression). When it wants the
    file's type and size and the client accepts gzip,
    the response is the gzip representation: ``Content-Encoding: gzip``, ``Vary:
    Accept-Encoding``, its own ETag (:func:`gzip_etag`), no Content-Length, and a body
    compressed piece by piece as it is sent; its ``304`` carries the same ETag and Vary.

    Raises ``HttpError(404)`` when the file does not exist (or cannot be read).
    """
    static = response.body
    assert isinstance(static, StaticFile)
    try:
        stat = os.stat(static.file_path)
    except OSError:
        raise HttpError(404, "Not Found") from None
    headers = response.headers
    for name, value in file_headers(static.file_path, stat, static.content_type):
        if name not in headers:
            headers[name] = value
    coded = _gzipped(request, response, gzip, stat.st_size)
    etag = headers.get("ETag")
    if coded:
        if isinstance(etag, str):
            etag = gzip_etag(etag)
            headers["ETag"] = etag
        vary_accept_encoding(headers)
    if response.status_code == 200 and isinstance(etag, str) and not_modified(request.headers, etag, stat.st_mtime):
        response.status_code = 304
        headers.pop("Content-Length", None)
        headers.pop("Content-Type", None)
        response.body = None
        return
    if coded:
        headers["Content-Encoding"] = "gzip"
        headers.pop("Content-Length", None)
    size = None if coded else stat.st_size
    if request.method == "HEAD":
        response.body = FileBody(size, None)
        return
    try:
        chunks = iter_file(static.file_path, length=stat.st_size)
    except OSError:
        raise HttpError(404, "Not Found") from None
    if coded:
        assert gzip is not None
        response.body = FileBody(None, GzipPieces(chunks, gzip.level))
    else:
        response.body = FileBody(stat.st_size, chunks)
