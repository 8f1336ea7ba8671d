"""Static resources, sans-I/O: which file a path maps to, its headers, conditional GET, streaming.

The ``resources`` mapping of ``server.start(resources=...)`` maps URL patterns to
folders::

    {"/p/*": "/srv/a",    # /p/x.txt -> /srv/a/x.txt            (one segment below /p/)
     "/p/**": "/srv/a",   # /p/x/y.txt -> /srv/a/x/y.txt        (any depth below /p/)
     "*.css": "/srv/b",   # /x.css -> /srv/b/x.css              (one segment ending in .css)
     "**.js": "/srv/c",   # /x/y.js -> /srv/c/x/y.js            (any path ending in .js)
     "/static": "/srv/d"} # a plain prefix means "/static/**"

A file is never served from outside its folder: see :meth:`StaticMapping.resolve`.
"""
from __future__ import annotations

import email.utils
import mimetypes
import os
import re
from datetime import timezone
from typing import IO, Any, Iterator, Mapping, Optional, Union

from ..routing.patterns import SegmentKind
from ..routing.wildcards import WildcardPattern
from .headers import HeaderMap

__all__ = [
    "FileChunks",
    "StaticMapping",
    "StaticRule",
    "file_headers",
    "guess_type",
    "http_date",
    "iter_file",
    "make_etag",
    "not_modified",
]

# Characters no request path segment may hold: NUL ends C strings in the OS, a backslash is a
# separator on Windows; on Windows a colon would name a drive or an alternate data stream.
_FORBIDDEN_CHARS: tuple[str, ...] = ("\x00", "\\", ":") if os.name == "nt" else ("\x00", "\\")


class StaticRule:
    """One compiled entry of the resources mapping.

    The URL pattern is written in the path dialect of routes and request filters
    (docs/paths.md) and matches the same paths they would; a pattern with no ``*``, ``**``
    nor ``{name}`` is a folder mount: ``"/static"`` and ``"/static/"`` mean
    ``"/static/**"``, and ``"/"`` means ``"/**"``. The file for a matching path is
    ``root/<served part>``, the served part being the path from its first segment that is
    not plain text in the pattern: ``/p/**`` maps ``/p/a/b.txt`` to ``root/a/b.txt``,
    ``*.css`` maps ``/x.css`` to ``root/x.css``, ``**.js`` maps ``/a/b.js`` to ``root/a/b.js``.
    """

    __slots__ = ("pattern", "matcher", "root", "real_root", "_inside")

    def __init__(self, pattern: str, root: Union[str, os.PathLike[str]]) -> None:
        self.pattern: str = pattern
        self.matcher: WildcardPattern = _compile_pattern(pattern)
        self.root: str = os.path.abspath(os.fspath(root))
        # Resolved once: every served file's real path must lie under it.
        self.real_root: str = os.path.realpath(self.root)
        self._inside = self.real_root if self.real_root.endswith(os.sep) else self.real_root + os.sep

    def relative(self, path: str) -> Optional[str]:
        """The served part of ``path`` (no leading ``/``) if this rule's pattern matches it, or None."""
        return self.matcher.tail("/" + path)

    def file_for(self, rel: str) -> Optional[str]:
        """The real path of the regular file ``root/rel``, if it exists and lies under the root."""
        real = os.path.realpath(os.path.join(self.root, rel))
        # realpath resolves every symlink: a link that leaves the root fails here, one that
        # stays inside passes. (A link swapped between this check and open() is not covered.)
        if not real.startswith(self._inside):
            return None
        return real if os.path.isfile(real) else None

    def __repr__(self) -> str:
        return f"StaticRule({self.pattern!r}, {self.root!r})"


def _compile_pattern(pattern: str) -> WildcardPattern:
    """Compile a resources key: ``"/p/*"``, ``"**.js"``; a plain ``"/s"`` becomes ``"/s/**"``.

    ``ValueError`` for what a route path refuses too (``**`` between two segments, two
    wildcards, ``{}``...) and for an empty, ``.`` or ``..`` plain segment, which no served
    path can have.
    """
    if not isinstance(pattern, str):
        raise TypeError(f"A static resource pattern must be a str, not {type(pattern).__name__}")
    try:
        compiled = WildcardPattern(pattern or "/")
        if compiled.plain:
            # A folder mount ("/static", "/static/", "/"): everything below it.
            compiled = WildcardPattern(pattern.rstrip("/") + "/**")
    except ValueError as e:
        raise ValueError(f"Static resource {e}") from None
    for segment in compiled.pattern.segments:
        if segment.kind is SegmentKind.LITERAL and segment.key in ("", ".", ".."):
            raise ValueError(f"Static resource pattern {pattern!r}: empty, '.' or '..' path segment")
    return compiled


class StaticMapping:
    """The compiled ``resources`` mapping; :meth:`resolve` finds the file for a request path.

    Rules are tried in the mapping's order; the first that yields an existing file wins (a rule
    that matches but has no such file falls through to the next one).
    """

    __slots__ = ("rules",)

    def __init__(self, resources: Optional[Mapping[str, Union[str, os.PathLike[str]]]] = None) -> None:
        self.rules: tuple[StaticRule, ...] = tuple(
            StaticRule(pattern, root) for pattern, root in (resources or {}).items()
        )

    def __bool__(self) -> bool:
        return bool(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def matches(self, path: str) -> Iterator[tuple[StaticRule, str]]:
        """The rules whose pattern matches the percent-decoded ``path``, in order, each with
        its served part; none for an unsafe path, whatever the patterns.

        Unsafe: any ``.``, ``..`` or empty segment (``/p/../x``, ``/p//x``, a trailing ``/``),
        or a NUL or backslash anywhere (and a colon on Windows). Routes and filters match such
        paths like any other: one of the two documented differences (docs/paths.md).
        """
        if not self.rules or not path:
            return
        rel_path = path[1:] if path[0] == "/" else path
        if not rel_path or any(ch in rel_path for ch in _FORBIDDEN_CHARS):
            return
        # One check for the whole path, so that no rule ever sees a traversal or a directory.
        for segment in rel_path.split("/"):
            if segment in ("", ".", ".."):
                return
        for rule in self.rules:
            rel = rule.relative(rel_path)
            if rel is not None:
                yield rule, rel

    def resolve(self, path: str) -> Optional[str]:
        """The absolute real path of the regular file for the percent-decoded ``path``, or None.

        None for: no matching rule or no such file; a directory; an unsafe path (see
        :meth:`matches`); a file whose real path (symlinks resolved) is outside its rule's
        real root.
        """
        for rule, rel in self.matches(path):
            found = rule.file_for(rel)
            if found is not None:
                return found
        return None

    def __repr__(self) -> str:
        return f"StaticMapping({list(self.rules)!r})"


# Types whose spelling differs between platforms' mime.types (or is missing on old Pythons):
# pinned so that a module script is always served as JavaScript, wasm streams compile, etc.
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
