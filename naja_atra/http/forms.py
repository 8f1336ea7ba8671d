"""Form data: ``multipart/form-data`` and uploaded files; query strings and
``application/x-www-form-urlencoded`` bodies are parsed by :mod:`.urlencoded` (re-exported here)."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterator, Optional, Union
from urllib.parse import unquote_to_bytes

from .errors import HttpError
from .urlencoded import DEFAULT_MAX_FIELDS, parse_query, parse_urlencoded

if TYPE_CHECKING:
    import mmap

    from .spool import Spool

#: A multipart body: bytes, or the read-only map of a spooled body's file.
Body = Union[bytes, "mmap.mmap"]
#: Pieces in which a file part kept in a spool file is copied out.
_COPY_SIZE = 1 << 20

__all__ = [
    "MultipartFile",
    "parse_query",
    "parse_urlencoded",
    "parse_multipart",
    "parse_content_type",
    "MAX_PART_HEADER_SIZE",
]

# Optional transport padding (RFC 2046 5.1.1) and the CRLF ending a boundary line.
_PADDING_CRLF = re.compile(rb"[ \t]*\r\n")

#: Largest header block of one multipart part, in bytes (400 past it).
MAX_PART_HEADER_SIZE = 16 * 1024


class MultipartFile:
    """An uploaded file of a ``multipart/form-data`` request.

    It is also the marker of a controller argument: ``def upload(img=MultipartFile("img"))``
    asks for the file field ``img`` (``required=True`` makes its absence a 400).

    A file larger than the request's ``spool_threshold`` stays where the spooled body put it,
    in a temporary file: ``content`` reads it into memory when asked, ``save_to_file`` and
    ``chunks`` copy it piece by piece. That file is removed when the request ends, so read
    or save an upload inside its request.
    """

    __slots__ = ("_name", "_required", "_filename", "_content_type", "_content", "_source")

    def __init__(
        self,
        name: str = "",
        required: bool = False,
        filename: str = "",
        content_type: str = "",
        content: Optional[bytes] = None,
        source: Optional[tuple[Spool, int, int]] = None,
    ) -> None:
        self._name = name
        self._required = required
        self._filename = filename
        self._content_type = content_type
        self._content = content
        #: (spool, offset, length) of a file part left in a spooled body's file.
        self._source = source

    @property
    def name(self) -> str:
        """The form field name."""
        return self._name

    @property
    def required(self) -> bool:
        """As a marker: whether a request without this field is refused."""
        return self._required

    @property
    def filename(self) -> str:
        """The file name the client sent (as sent: it may contain path separators)."""
        return self._filename

    @property
    def content_type(self) -> str:
        """The part's ``Content-Type`` ("" when the client sent none)."""
        return self._content_type

    @property
    def size(self) -> int:
        """The file's length in bytes (0 for a marker that holds no upload)."""
        if self._source is not None:
            return self._source[2]
        return len(self._content or b"")

    @property
    def content(self) -> Optional[bytes]:
        """The file's bytes (read into memory on first use when the file is on disk);
        None for a marker that holds no upload."""
        if self._content is None and self._source is not None:
            spool, offset, length = self._source
            self._content = spool.read_range(offset, length)
        return self._content

    @property
    def on_disk(self) -> bool:
        """True when the upload is in the request's temporary file, not in memory."""
        return self._source is not None and self._content is None

    @property
    def is_empty(self) -> bool:
        """True when there is no content (no upload, or an empty file)."""
        return self.size == 0

    def chunks(self, size: int = _COPY_SIZE) -> Iterator[bytes]:
        """The file's bytes in pieces of at most ``size`` (without loading it whole)."""
        if self._source is None or self._content is not None:
            if self._content:
                yield self._content
            return
        spool, offset, length = self._source
        end = offset + length
        while offset < end:
            piece = spool.read_range(offset, min(size, end - offset))
            if not piece:
                return
            offset += len(piece)
            yield piece

    def save_to_file(self, file_path: str) -> None:
        """Write the content to ``file_path`` (an empty file when there is no content)."""
        with open(file_path, "wb") as f:
            for piece in self.chunks():
                f.write(piece)

    def __repr__(self) -> str:
        size = "none" if self._content is None and self._source is None else f"{self.size} bytes"
        return f"<MultipartFile {self._name!r} filename={self._filename!r} {size}>"


def parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    """Split a ``Content-Type``-like header into its lower-cased type and its parameters.

    Parameter names are lower-cased; quoted values are unquoted (``\\"`` and ``\\\\``
    escapes). Also used for ``Content-Disposition``.
    """
    items = _split_params(value)
    params: dict[str, str] = {}
    for item in items[1:]:
        name, eq, raw = item.partition("=")
        name = name.strip(" \t").lower()
        if not eq or not name:
            continue
        params[name] = _unquote_param(raw.strip(" \t"))
    return items[0].strip(" \t").lower(), params


def _split_params(value: str) -> list[str]:
    """Split on ``;`` except inside quoted strings."""
    if '"' not in value:
        return value.split(";")
    items: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    for ch in value:
        if escaped:
            escaped = False
        elif quoted and ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            items.append("".join(current))
            current = []
            continue
        current.append(ch)
    items.append("".join(current))
    return items


def _unquote_param(raw: str) -> str:
    """Unquote a parameter value.

    Only ``\\"`` and ``\\\\`` are treated as escapes: browsers do not escape backslashes
    in file names (old Internet Explorer sends ``C:\\dir\\file.txt``), so a lone backslash
    is kept literally.
    """
    if len(raw) < 2 or raw[0] != '"' or raw[-1] != '"':
        return raw
    inner = raw[1:-1]
    if "\\" not in inner:
        return inner
    out: list[str] = []
    i = 0
    while i < len(inner):
        ch = inner[i]
        if ch == "\\" and i + 1 < len(inner) and inner[i + 1] in '"\\':
            ch = inner[i + 1]
            i += 1
        out.append(ch)
        i += 1
    return "".join(out)


def _ext_value(value: str) -> Optional[str]:
    """Decode an RFC 5987/8187 ``charset'language'pct-encoded`` value; None if malformed."""
    parts = value.split("'", 2)
    if len(parts) != 3:
        return None
    charset = parts[0].strip() or "utf-8"
    data = unquote_to_bytes(parts[2])
    try:
        return data.decode(charset, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def parse_multipart(
    body: Body, content_type: str, max_parts: int = DEFAULT_MAX_FIELDS, spool: Optional[Spool] = None
) -> tuple[dict[str, list[str]], dict[str, list[MultipartFile]]]:
    """Parse a ``multipart/form-data`` body (RFC 7578, RFC 2046 framing).

    Returns (text fields, file fields). A part with a ``filename`` (or ``filename*``)
    parameter is a file; other parts are text decoded with their charset (UTF-8 by default).
    Raises ``HttpError(400)`` for a missing boundary, a missing closing boundary, a part
    without a ``Content-Disposition`` name, more than ``max_parts`` parts (``Limits.max_form_fields``
    for a request; found before any part is parsed, and the search for parts stops at the first
    one past it) or a part whose headers exceed :data:`MAX_PART_HEADER_SIZE`.

    ``body`` may be the map of a spooled body's file (``spool``): file parts larger than the
    spool's threshold then stay in that file, referenced, not copied.
    """
    boundary = parse_content_type(content_type)[1].get("boundary", "")
    if not boundary:
        raise HttpError(400, "Bad Request", "multipart body without a boundary")
    fields: dict[str, list[str]] = {}
    files: dict[str, list[MultipartFile]] = {}
    for start, end in _part_spans(body, boundary.encode("latin-1"), max_parts):
        _add_part(body, start, end, fields, files, spool)
    return fields, files


def _part_spans(body: Body, boundary: bytes, max_parts: int) -> list[tuple[int, int]]:
    """Offsets (start, end) of each part's headers+content; preamble and epilogue left out.

    A delimiter is CRLF ``--boundary`` (or ``--boundary`` at the very start of the body);
    the CRLF belongs to the delimiter, not to the content before it.
    """
    dash = b"--" + boundary
    after = _after_delimiter(body, len(dash)) if body[:len(dash)] == dash else None
    if after is None:
        found = _find_delimiter(body, dash, 0)
        if found is None:
            raise HttpError(400, "Bad Request", "multipart body without its boundary")
        after = found[1]
    spans: list[tuple[int, int]] = []
    while after >= 0:  # -1 once the close delimiter is seen
        if len(spans) >= max_parts:
            raise HttpError(400, "Bad Request", f"more than {max_parts} multipart parts")
        found = _find_delimiter(body, dash, after)
        if found is None:
            raise HttpError(400, "Bad Request", "multipart body without a closing boundary")
        spans.append((after, found[0]))
        after = found[1]
    return spans


def _find_delimiter(body: Body, dash: bytes, pos: int) -> Optional[tuple[int, int]]:
    """The next real delimiter from ``pos``: (its offset, where the next part starts or -1).

    Text that merely starts like a delimiter (CRLF ``--boundary`` followed by something
    other than ``--`` or whitespace and CRLF) is content, so the search goes on past it.
    """
    delimiter = b"\r\n" + dash
    while True:
        found = body.find(delimiter, pos)
        if found < 0:
            return None
        after = _after_delimiter(body, found + len(delimiter))
        if after is not None:
            return found, after
        pos = found + 1


def _after_delimiter(body: Body, pos: int) -> Optional[int]:
    """Where a part starts after a delimiter ending at ``pos``; -1 after the close delimiter.

    None when the delimiter is not followed by ``--`` or by optional SP/HTAB and CRLF.
    """
    if body[pos:pos + 2] == b"--":
        return -1
    match = _PADDING_CRLF.match(body, pos)
    return None if match is None else match.end()


def _add_part(
    body: Body,
    start: int,
    end: int,
    fields: dict[str, list[str]],
    files: dict[str, list[MultipartFile]],
    spool: Optional[Spool] = None,
) -> None:
    """Parse the part at ``body[start:end]`` into ``fields`` or ``files``."""
    headers, content_start = _part_headers(body, start, end)
    disposition = headers.get("content-disposition")
    if disposition is None:
        raise HttpError(400, "Bad Request", "multipart part without Content-Disposition")
    params = parse_content_type(disposition)[1]
    name = params.get("name")
    if name is None:
        raise HttpError(400, "Bad Request", "multipart part without a name")
    content_type = headers.get("content-type", "")
    if "filename" in params or "filename*" in params:
        filename = _ext_value(params["filename*"]) if "filename*" in params else None
        if filename is None:
            filename = params.get("filename", "")
        if spool is not None and end - content_start > spool.threshold:
            upload = MultipartFile(name, filename=filename, content_type=content_type,
                                   source=(spool, content_start, end - content_start))
        else:
            upload = MultipartFile(name, filename=filename, content_type=content_type,
                                   content=bytes(body[content_start:end]))
        files.setdefault(name, []).append(upload)
    else:
        charset = parse_content_type(content_type)[1].get("charset", "utf-8")
        fields.setdefault(name, []).append(_decode_text(bytes(body[content_start:end]), charset))


def _part_headers(body: Body, start: int, end: int) -> tuple[dict[str, str], int]:
    """The headers of the part at ``body[start:end]`` (lower-case names) and where its content starts."""
    if body[start:start + 2] == b"\r\n":
        return {}, start + 2
    # Bounded search: a header block found within it is never over the limit.
    limit = min(end, start + MAX_PART_HEADER_SIZE + 4)
    header_end = body.find(b"\r\n\r\n", start, limit)
    if header_end < 0:
        if end - start > MAX_PART_HEADER_SIZE:
            raise HttpError(400, "Bad Request", "multipart part headers too large")
        raise HttpError(400, "Bad Request", "multipart part without a header end")
    block = bytes(body[start:header_end])
    try:
        # Browsers send non-ASCII file names as raw UTF-8.
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        text = block.decode("latin-1")
    headers: dict[str, str] = {}
    last = ""
    for line in text.split("\r\n"):
        if line[:1] in (" ", "\t") and last:
            headers[last] += " " + line.strip(" \t")  # folded continuation line
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise HttpError(400, "Bad Request", "malformed multipart part header")
        last = name.strip(" \t").lower()
        headers[last] = value.strip(" \t")
    return headers, header_end + 4


def _decode_text(content: bytes, charset: str) -> str:
    """A text field's value in its charset (UTF-8 when unknown); bad bytes replaced."""
    try:
        return content.decode(charset, errors="replace")
    except LookupError:
        return content.decode("utf-8", errors="replace")
