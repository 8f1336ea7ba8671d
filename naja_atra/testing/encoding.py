"""What a test-client request becomes on the way out: the URL, the header list, the body
(raw, JSON, urlencoded or ``multipart/form-data``), the request head, and the request
that follows a redirect."""
from __future__ import annotations

import json as _json
import mimetypes
import secrets
from typing import Any, Mapping, Optional, Sequence, Union
from urllib.parse import SplitResult, quote, urlencode, urljoin, urlsplit

from .response import TestResponse

#: ``params``: a mapping (a value may be a list: one pair per item), pairs, or a ready query string.
ParamsType = Union[Mapping[str, Any], Sequence[tuple[str, Any]], str]
#: ``headers``: a mapping (``None`` as a value leaves a default header out) or pairs (repeats are sent).
HeadersType = Union[Mapping[str, Optional[str]], Sequence[tuple[str, Optional[str]]]]
#: One file: its bytes, or ``(filename, content)``, or ``(filename, content, content_type)``;
#: content may be bytes, str (sent as UTF-8) or a binary file object.
FileSpec = Union[bytes, tuple[str, Any], tuple[str, Any, Optional[str]]]
#: ``files``: field -> one ``FileSpec`` or a list of them, or (field, ``FileSpec``) pairs.
#: Typed loosely so a dict literal mixing the forms type-checks; checked when encoded.
FilesType = Union[Mapping[str, Any], Sequence[tuple[str, Any]]]
#: ``data``: form fields (mapping or pairs), or a raw body (str is sent as UTF-8).
DataType = Union[Mapping[str, Any], Sequence[tuple[str, Any]], str, bytes]

#: Characters left as they are when a path or query given to the client is quoted
#: (the reserved and unreserved sets of RFC 3986, and "%" so existing escapes survive).
_PATH_SAFE = "/%!$&'()*+,;=:@-._~"
_QUERY_SAFE = _PATH_SAFE + "?"
_BODY_HEADERS = ("content-type", "content-length", "transfer-encoding", "content-encoding")


class Outbound:
    """A request about to be encoded: it is re-targeted, not rebuilt, by a redirect."""

    __slots__ = ("method", "url", "headers", "body", "cookies")

    def __init__(self, method: str, url: SplitResult, headers: list[tuple[str, Optional[str]]],
                 body: bytes, cookies: dict[str, str]) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.cookies = cookies


def request_url(base: SplitResult, path: str, params: Optional[ParamsType]) -> SplitResult:
    """The URL to request: ``path`` below ``base`` (the client's ``base_url``) or absolute,
    quoted, plus ``params``."""
    given = urlsplit(path)
    if given.scheme or given.netloc:
        scheme, netloc, raw_path = given.scheme or base.scheme, given.netloc or base.netloc, given.path
    else:
        scheme, netloc = base.scheme, base.netloc
        raw_path = base.path.rstrip("/") + ("" if given.path.startswith("/") else "/") + given.path
    query = quote(given.query, safe=_QUERY_SAFE)
    if params:
        extra = params if isinstance(params, str) else urlencode(pairs(params), doseq=True)
        query = f"{query}&{extra}" if query else extra
    return SplitResult(scheme, netloc, quote(raw_path or "/", safe=_PATH_SAFE), query, "")


def merge_headers(base: list[tuple[str, Optional[str]]],
           extra: Optional[HeadersType]) -> list[tuple[str, Optional[str]]]:
    """``base`` with the headers named in ``extra`` replaced by ``extra``'s (case-insensitive)."""
    if not extra:
        return list(base)
    pairs = list(extra.items()) if isinstance(extra, Mapping) else list(extra)
    names = {name.lower() for name, _ in pairs}
    return [pair for pair in base if pair[0].lower() not in names] + pairs


def pairs(values: Union[Mapping[str, Any], Sequence[tuple[str, Any]]]) -> list[tuple[str, Any]]:
    return list(values.items()) if isinstance(values, Mapping) else list(values)


def encode_head(method: str, target: str, headers: list[tuple[str, Optional[str]]]) -> bytes:
    """The request line and header block; refuses text that would add or split lines."""
    if not method or any(ch in method for ch in " \t\r\n"):
        raise ValueError(f"Invalid method {method!r}")
    lines = [f"{method} {target} HTTP/1.1"]
    for name, value in headers:
        if value is None:
            continue
        if not name or any(ch in name for ch in "\r\n") or any(ch in value for ch in "\r\n"):
            raise ValueError(f"Invalid header {name!r}: {value!r} (CR and LF are not allowed)")
        lines.append(f"{name}: {value}")
    text = "\r\n".join(lines) + "\r\n\r\n"
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError("Header names and values must be ISO-8859-1 text") from None


def encode_body(json: Any, data: Optional[DataType], files: Optional[FilesType],
                 content: Optional[Union[bytes, str]]) -> tuple[bytes, Optional[str]]:
    """(body, the Content-Type it implies or None) from the body arguments of ``request``."""
    raw_data = isinstance(data, (str, bytes))
    form = bool(files) or (data is not None and not raw_data)
    given = [content is not None, json is not None, raw_data, form]
    if sum(given) > 1:
        raise TypeError("Give at most one of content, json, data (form fields may go with files)")
    if content is not None:
        return (content.encode("utf-8") if isinstance(content, str) else bytes(content)), None
    if json is not None:
        return _json.dumps(json, ensure_ascii=False).encode("utf-8"), "application/json"
    if files:
        fields = [] if data is None or isinstance(data, (str, bytes)) else pairs(data)
        return multipart(fields, files)
    if isinstance(data, str):
        return data.encode("utf-8"), None
    if isinstance(data, bytes):
        return data, None
    if data is not None:
        return urlencode(pairs(data), doseq=True).encode("ascii"), "application/x-www-form-urlencoded"
    return b"", None


def _disposition_param(name: str, value: str) -> str:
    """``name="value"`` with ``"`` and ``\\`` escaped (as the multipart parser reads them)."""
    if any(ch in value for ch in "\r\n"):
        raise ValueError(f"CR and LF are not allowed in a multipart {name}: {value!r}")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{name}="{escaped}"'


def _filename_params(filename: str) -> str:
    """``filename=...``; a non-ASCII name gets an ASCII fallback plus RFC 5987 ``filename*``."""
    if filename.isascii():
        return _disposition_param("filename", filename)
    fallback = "".join(ch if ch.isascii() else "_" for ch in filename)
    return f"{_disposition_param('filename', fallback)}; filename*=UTF-8''{quote(filename, safe='')}"


def _file_part(spec: Any, field: str) -> tuple[str, bytes, str]:
    """(filename, content, content type) of one ``files`` entry."""
    if isinstance(spec, (bytes, bytearray)):
        filename, raw, content_type = field, bytes(spec), None
    elif isinstance(spec, tuple) and len(spec) in (2, 3):
        filename, raw = str(spec[0]), spec[1]
        content_type = spec[2] if len(spec) == 3 else None
    else:
        raise TypeError(f"files[{field!r}]: give bytes, (filename, content) or (filename, content, content_type)")
    if hasattr(raw, "read"):
        raw = raw.read()
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise TypeError(f"files[{field!r}]: the content must be bytes, str or a binary file object")
    content = bytes(raw)
    if not content_type:
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return filename, content, content_type


def multipart(fields: list[tuple[str, Any]], files: FilesType) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body (RFC 7578) of text ``fields`` then ``files``."""
    parts: list[tuple[str, bytes]] = []  # (header block, content)
    for name, value in fields:
        for item in value if isinstance(value, (list, tuple)) else [value]:
            text = item if isinstance(item, (bytes, bytearray)) else str(item).encode("utf-8")
            parts.append((f"Content-Disposition: form-data; {_disposition_param('name', name)}", bytes(text)))
    entries: list[tuple[str, Any]] = []
    if isinstance(files, Mapping):
        for field, given in files.items():
            entries.extend((field, one) for one in (given if isinstance(given, list) else [given]))
    else:
        entries.extend(files)
    for field, spec in entries:
        filename, content, content_type = _file_part(spec, field)
        disposition = f"form-data; {_disposition_param('name', field)}; {_filename_params(filename)}"
        parts.append((f"Content-Disposition: {disposition}\r\nContent-Type: {content_type}", content))
    boundary = "naja-atra-" + secrets.token_hex(16)
    while any(boundary.encode("ascii") in content for _, content in parts):
        boundary = "naja-atra-" + secrets.token_hex(16)
    dash = f"--{boundary}".encode("ascii")
    body = bytearray()
    for headers, content in parts:
        body += dash + b"\r\n" + headers.encode("utf-8") + b"\r\n\r\n" + content + b"\r\n"
    body += dash + b"--\r\n"
    return bytes(body), f"multipart/form-data; boundary={boundary}"


def redirected(previous: Outbound, response: TestResponse) -> Outbound:
    """The request that follows ``response`` (a redirect): 303, and 301/302 after a POST,
    become a body-less GET; 307 and 308 repeat the method and body."""
    location = response.headers.get("Location") or ""
    url = urlsplit(urljoin(response.url, location))
    url = url._replace(fragment="")
    method, body, headers = previous.method, previous.body, previous.headers
    if (response.status_code == 303 and method != "HEAD") or (response.status_code in (301, 302)
                                                                and method == "POST"):
        method, body = "GET", b""
        headers = [pair for pair in headers if pair[0].lower() not in _BODY_HEADERS]
    return Outbound(method, url, headers, body, previous.cookies)
