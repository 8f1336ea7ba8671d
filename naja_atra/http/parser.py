"""Request heads: parsed from HTTP/1.1 bytes, or built from what a server already parsed
(sans-I/O: no sockets, no event loop).

:func:`build_head` is the one place where a request head is decided, whatever it came
from: header names and values are validated, the limits on their number and size are
applied, and Host, the body framing (Content-Length / Transfer-Encoding), keep-alive,
the upgrade and ``Expect: 100-continue`` are worked out. :func:`parse_head` (the built-in
servers and the test client) splits bytes into a request line and fields and calls it; the
ASGI and WSGI adapters call it with the fields their server hands over, after
:func:`parse_target` has decoded the target by the same rules.

:func:`parse_head` runs once per request, so the common case (a small head with CRLF line
endings, an origin-form target and well-known header names) is kept on a fast path built
from ``bytes.find``/``str.split`` and set look-ups; regular expressions are only used to
explain a rejection or for rare inputs.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Iterable, Optional, Union

from .errors import ProtocolError
from .headers import HeaderMap
from .limits import Limits

__all__ = ["RequestHead", "build_head", "parse_head", "parse_target", "parse_header_field", "is_token",
           "normalize_path", "check_host_value"]

# RFC 9110 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
#                         "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
# Every control character except HTAB (RFC 9110 5.5: field values must not carry them).
_VALUE_CTL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# A target must not hold whitespace or controls (the request line is split on SP).
_TARGET_BAD_RE = re.compile(r"[\x00-\x20\x7f]")

# Names seen on nearly every request; validating them again would be wasted work.
_KNOWN_TOKENS: set[str] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE",
    "Host", "host", "User-Agent", "user-agent", "Accept", "accept", "Accept-Encoding",
    "accept-encoding", "Accept-Language", "accept-language", "Connection", "connection",
    "Content-Type", "content-type", "Content-Length", "content-length", "Cookie", "cookie",
    "Referer", "referer", "Origin", "origin", "Cache-Control", "cache-control",
    "Upgrade-Insecure-Requests", "If-None-Match", "If-Modified-Since", "Authorization",
    "authorization", "Transfer-Encoding", "transfer-encoding", "Expect", "Upgrade",
    "X-Forwarded-For", "x-forwarded-for", "X-Requested-With",
}
# The headers whose values parse_head() needs itself (framing and connection handling).
_FRAMING_HEADERS = frozenset(
    ("host", "content-length", "transfer-encoding", "connection", "upgrade", "expect")
)
# Other valid names are remembered too, but only up to this many (a client must not be able
# to grow the cache without bound by sending random names).
_TOKEN_CACHE_MAX = 2048

# RFC 9112 3.2 / RFC 3986 3.2.2-3.2.3: Host is uri-host [":" port]. uri-host is an IP-literal
# in brackets (IPv6, checked further by ipaddress, or IPvFuture) or a reg-name of unreserved,
# sub-delims and %XX characters (which covers IPv4 addresses); port is digits.
_HOST_RE = re.compile(
    r"(?:\[(?:([0-9A-Fa-f:.]+)|[vV][0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+)\]"
    r"|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+)"
    r"(?::([0-9]*))?"
)
# Host values already found valid: a server sees the same few on nearly every request, so
# a set look-up spares the regular expression. Bounded in entries and in the length of each
# (a DNS name has at most 253 characters); when full it starts again, so that clients
# sending many names cannot keep the server's own out of it.
_KNOWN_HOSTS: set[str] = set()
_HOST_CACHE_MAX = 256
_HOST_CACHE_LENGTH = 261  # a 253-character name, ":" and a 5-digit port, with room

# The limits of a head made without any (a blank request, a test's head).
_DEFAULT_LIMITS = Limits()

# "%XX" decoding table: every two-character hex pair (either case) -> byte value.
_HEX_PAIRS: dict[bytes, int] = {}
for _hi in "0123456789abcdefABCDEF":
    for _lo in "0123456789abcdefABCDEF":
        _HEX_PAIRS[(_hi + _lo).encode("ascii")] = int(_hi + _lo, 16)
del _hi, _lo


class RequestHead:
    """A parsed request line plus headers, with the framing facts the server needs.

    ``path`` is percent-decoded (UTF-8); ``raw_path`` and ``query_string`` are as sent.
    ``keep_alive``, ``content_length``, ``chunked``, ``expect_continue`` and ``upgrade`` are
    derived from the headers by :func:`parse_head`. ``limits`` are the limits the head was
    parsed under; the request keeps them for what it parses later (form fields, JSON depth).
    """

    __slots__ = (
        "method", "target", "path", "raw_path", "query_string", "version", "headers",
        "keep_alive", "content_length", "chunked", "expect_continue", "upgrade", "has_body", "limits",
    )

    def __init__(
        self,
        method: str,
        target: str,
        path: str,
        raw_path: str,
        query_string: str,
        version: str,
        headers: HeaderMap,
        keep_alive: bool = True,
        content_length: Optional[int] = None,
        chunked: bool = False,
        expect_continue: bool = False,
        upgrade: Optional[str] = None,
        limits: Optional[Limits] = None,
    ) -> None:
        self.method: str = method
        self.target: str = target
        self.path: str = path
        self.raw_path: str = raw_path
        self.query_string: str = query_string
        self.version: str = version
        self.headers: HeaderMap = headers
        self.keep_alive: bool = keep_alive
        self.content_length: Optional[int] = content_length
        self.chunked: bool = chunked
        self.expect_continue: bool = expect_continue
        self.upgrade: Optional[str] = upgrade
        #: A body follows the head (chunked, or a Content-Length above zero).
        self.has_body: bool = chunked or bool(content_length)
        self.limits: Limits = _DEFAULT_LIMITS if limits is None else limits

    def __repr__(self) -> str:
        return f"<RequestHead {self.method} {self.target} {self.version}>"


def is_token(text: str) -> bool:
    """Whether ``text`` is a non-empty RFC 9110 token (a method or header name)."""
    if text in _KNOWN_TOKENS:
        return True
    if _TOKEN_RE.match(text) is None:
        return False
    if len(_KNOWN_TOKENS) < _TOKEN_CACHE_MAX:
        _KNOWN_TOKENS.add(text)
    return True


def parse_header_field(line: str) -> tuple[str, str]:
    """Split one ``name: value`` line (latin-1 text, no line ending) into its name and value.

    Raises ``ProtocolError(400)`` for obs-fold, a name that is not a token (which includes
    whitespace before the colon) and control characters other than HTAB in the value.
    Shared by the head parser and the chunked-trailer parser so both validate alike.
    """
    if line[:1] in (" ", "\t"):
        # RFC 9112 5.2: a server must reject obs-fold (or unfold it); rejecting is safer.
        raise ProtocolError(400, "Bad Request", "Obsolete line folding in header field")
    colon = line.find(":")
    if colon <= 0:
        raise ProtocolError(400, "Bad Request", "Malformed header line")
    name = line[:colon]
    if not is_token(name):
        raise ProtocolError(400, "Bad Request", f"Invalid header name {name!r}")
    value = line[colon + 1:].strip(" \t")
    # isprintable() is a quick C-level pass for the usual ASCII value; anything it does not
    # vouch for (HTAB, latin-1 bytes) gets the exact check.
    if not value.isprintable() and _VALUE_CTL_RE.search(value) is not None:
        raise ProtocolError(400, "Bad Request", f"Control character in header {name!r}")
    return name, value


def parse_head(buf: Union[bytes, bytearray], limits: Limits) -> Optional[tuple[RequestHead, int]]:
    """Parse the request head at the start of ``buf``.

    Returns None while the head is incomplete, else ``(head, consumed)`` where ``consumed``
    counts every byte up to and including the blank line (plus any empty lines skipped
    before the request line), so ``buf[consumed:]`` is the body or the next request.
    Raises :class:`ProtocolError` (400, 431, 501 or 505) for a head that must be refused.
    """
    start = _skip_empty_lines(buf, limits) if buf and buf[0] in (10, 13) else 0
    # The blank line follows an LF: it is "\n\r\n" (covering the usual "\r\n\r\n") or
    # "\n\n" for clients using bare LF endings; whichever comes first ends the head.
    end = buf.find(b"\n\r\n", start)
    bare = buf.find(b"\n\n", start, len(buf) if end < 0 else end + 1)
    if bare >= 0:
        end, consumed = bare, bare + 2
    elif end >= 0:
        consumed = end + 3
    else:
        _check_incomplete(buf, start, limits)
        return None
    _check_size(0, consumed, limits)  # before decoding what may be a flood
    lines = _split_lines(buf[start:end].decode("latin-1"))
    _check_size(len(lines) - 1, 0, limits)
    method, target, version, raw_path, query, path, authority = _parse_request_line(lines[0])
    headers = HeaderMap()
    framing: dict[str, list[str]] = {}
    add = headers.add
    known = _KNOWN_TOKENS
    special = _FRAMING_HEADERS
    ctl = _VALUE_CTL_RE
    # build_head's field loop, over "name: value" lines and inlined: it runs for every
    # request a built-in server reads, and a generator of pairs would cost a third more.
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or (name not in known and not is_token(name)):
            parse_header_field(line)  # raises with the precise reason (obs-fold, bad name)
            raise ProtocolError(400, "Bad Request", "Malformed header line")  # pragma: no cover
        value = value.strip(" \t")
        if not value.isprintable() and ctl.search(value) is not None:
            raise ProtocolError(400, "Bad Request", f"Control character in header {name!r}")
        key = name.lower()
        if key in special:
            framing.setdefault(key, []).append(value)
        add(name, value)
    return _decide(method, target, version, raw_path, query, path, headers, framing, limits, authority), consumed


def build_head(
    method: str,
    target: str,
    version: str,
    raw_path: str,
    query: str,
    path: str,
    fields: Iterable[tuple[str, str]],
    limits: Limits,
    authority: Optional[str] = None,
) -> RequestHead:
    """Decide a request head from its parts; raise :class:`ProtocolError` to refuse it.

    ``path`` is the decoded, normalised routing path (see :func:`parse_target`); ``fields``
    the header (name, value) pairs in order, as received. Names must be tokens and values
    free of control characters; ``limits.max_headers`` and ``limits.max_header_size`` apply
    (431). HTTP/1.1 needs exactly one Host, HTTP/1.0 at most one, and it must be a valid
    ``host[:port]`` (:func:`check_host_value`); ``authority`` (an absolute-form target's, checked
    alike) replaces it. Content-Length and Transfer-Encoding are checked together (a request carrying both
    is refused), and keep-alive, the upgrade token and ``Expect: 100-continue`` are derived
    from the headers. Whether the body's length is acceptable is decided later, by the
    route's body limit, before any of it is read.

    :func:`parse_head` does the same with the field loop inlined over its lines.
    """
    if method not in _KNOWN_TOKENS and not is_token(method):
        raise ProtocolError(400, "Bad Request", "Invalid method")
    headers = HeaderMap()
    framing: dict[str, list[str]] = {}
    count = 0
    size = len(method) + len(target) + len(version) + 4
    for name, value in fields:
        if name not in _KNOWN_TOKENS and not is_token(name):
            raise ProtocolError(400, "Bad Request", f"Invalid header name {name!r}")
        value = value.strip(" \t")
        if not value.isprintable() and _VALUE_CTL_RE.search(value) is not None:
            raise ProtocolError(400, "Bad Request", f"Control character in header {name!r}")
        count += 1
        size += len(name) + len(value) + 4
        key = name.lower()
        if key in _FRAMING_HEADERS:
            framing.setdefault(key, []).append(value)
        headers.add(name, value)
    _check_size(count, size, limits)
    return _decide(method, target, version, raw_path, query, path, headers, framing, limits, authority)


def _check_size(count: int, size: int, limits: Limits) -> None:
    """431 for a head with more than ``max_headers`` fields or over ``max_header_size`` bytes."""
    if size > limits.max_header_size:
        raise ProtocolError(431, "Request Header Fields Too Large", "Request head too large")
    if count > limits.max_headers:
        raise ProtocolError(431, "Request Header Fields Too Large", "Too many header fields")


def _decide(method: str, target: str, version: str, raw_path: str, query: str, path: str, headers: HeaderMap,
            framing: dict[str, list[str]], limits: Limits, authority: Optional[str]) -> RequestHead:
    """The decisions of a head whose fields are read and valid: Host, framing, keep-alive,
    the upgrade and ``Expect`` (``framing`` holds the values of the headers they depend on)."""
    http11 = version == "HTTP/1.1"
    _check_host(framing, http11)
    if authority is not None:
        # RFC 9112 3.2.2: with an absolute-form target the server uses the target's
        # authority instead of the Host header; it must be a valid host[:port] as well.
        check_host_value(authority)
        headers["Host"] = authority
    content_length, chunked = _body_framing(framing, http11)
    keep_alive, upgrade = _connection(framing, http11)
    expect = framing.get("expect")
    # RFC 9110 10.1.1: a 100-continue expectation in an HTTP/1.0 request must be ignored.
    expect_continue = http11 and expect is not None and expect[-1].strip(" \t").lower() == "100-continue"
    return RequestHead(
        method, target, path, raw_path, query, version, headers,
        keep_alive, content_length, chunked, expect_continue, upgrade, limits,
    )


def _skip_empty_lines(buf: Union[bytes, bytearray], limits: Limits) -> int:
    """Offset of the first byte after the empty lines a client may send before a request.

    RFC 9112 2.2 asks servers to ignore at least one such CRLF (some clients add one after
    a POST body). Done with C-level lstrip/count so that a flood of CRLFs costs little; a
    CR whose LF has not arrived yet is left in place.
    """
    window = buf[: limits.max_header_size + 1]
    rest = window.lstrip(b"\r\n")
    start = len(window) - len(rest)
    prefix = window[:start]
    crs = prefix.count(b"\r")
    crlfs = prefix.count(b"\r\n")
    if crs != crlfs:
        if crs == crlfs + 1 and not rest and prefix.endswith(b"\r"):
            return start - 1
        raise ProtocolError(400, "Bad Request", "Bare CR in request head")
    return start


def _check_incomplete(buf: Union[bytes, bytearray], start: int, limits: Limits) -> None:
    """Refuse an unfinished head early: too long already, or a request line already invalid."""
    if len(buf) > limits.max_header_size:
        raise ProtocolError(431, "Request Header Fields Too Large", "Request head too large")
    eol = buf.find(b"\n", start)
    if eol >= 0:
        # The request line is complete: an HTTP/0.9 line or a bad version can be refused now
        # instead of waiting (possibly forever) for a blank line.
        line = buf[start:eol].decode("latin-1")
        if line.endswith("\r"):
            line = line[:-1]
        if "\r" in line:
            raise ProtocolError(400, "Bad Request", "Bare CR in request head")
        _parse_request_line(line)


def _split_lines(text: str) -> list[str]:
    """Split the head text (without its final line ending) into lines; refuse a bare CR."""
    if text.endswith("\r"):
        text = text[:-1]
    if "\r" not in text:
        return text.split("\n")
    crlf = text.count("\r\n")
    if text.count("\r") != crlf:
        raise ProtocolError(400, "Bad Request", "Bare CR in request head")
    if text.count("\n") == crlf:
        return text.split("\r\n")
    # Mixed CRLF and bare LF endings.
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


_RequestLine = tuple[str, str, str, str, str, str, Optional[str]]


def _parse_request_line(line: str) -> _RequestLine:
    """Parse ``METHOD SP target SP HTTP/x.y``.

    Returns (method, target, version, raw_path, query_string, path, authority), where
    ``authority`` is only set for an absolute-form target.
    """
    parts = line.split(" ")
    if len(parts) != 3:
        if len(parts) == 2 and parts[0] and parts[1]:
            raise ProtocolError(400, "Bad Request", "HTTP/0.9 requests are not supported")
        raise ProtocolError(400, "Bad Request", "Malformed request line")
    method, target, version = parts
    if method not in _KNOWN_TOKENS and not is_token(method):
        raise ProtocolError(400, "Bad Request", "Invalid method")
    if version != "HTTP/1.1" and version != "HTTP/1.0":
        version = _parse_version(version)
    target, raw_path, query, path, authority = parse_target(method, target)
    return method, target, version, raw_path, query, path, authority


def parse_target(method: str, target: str) -> tuple[str, str, str, str, Optional[str]]:
    """Split a request-target into (target, raw_path, query_string, path, authority).

    ``path`` is percent-decoded (UTF-8) and normalised (:func:`normalize_path`); ``target``
    is returned because a raw UTF-8 target is turned into text; ``authority`` is only set for
    an absolute-form target. ``ProtocolError(400)`` for a target that must be refused.
    """
    if target[:1] == "/" and target.isascii() and target.isprintable() and "#" not in target:
        # Fast path: the origin-form target of nearly every request.
        raw_path, _, query = target.partition("?")
        path = _decode_path(raw_path) if "%" in raw_path else raw_path
        if "//" in path or "/." in path:
            path = normalize_path(path)
        if method == "CONNECT":
            raise ProtocolError(400, "Bad Request", "CONNECT needs an authority-form target")
        return target, raw_path, query, path, None
    return _parse_target(method, target)


def _parse_version(proto: str) -> str:
    """Map ``HTTP/x.y`` to the version this server speaks; 400 if malformed, 505 if not 1.x."""
    if (
        len(proto) != 8
        or not proto.startswith("HTTP/")
        or proto[6] != "."
        or proto[5] not in "0123456789"
        or proto[7] not in "0123456789"
    ):
        raise ProtocolError(400, "Bad Request", "Malformed HTTP version")
    if proto[5] != "1":
        # Also how an HTTP/2 connection preface ("PRI * HTTP/2.0") is answered.
        raise ProtocolError(505, "HTTP Version Not Supported", f"{proto} is not supported")
    # RFC 9110 6.2: a 1.x request with x > 1 is handled as the highest 1.x we speak.
    return "HTTP/1.1"


def _parse_target(method: str, target: str) -> tuple[str, str, str, str, Optional[str]]:
    """Split a request-target into (target, raw_path, query_string, decoded path, authority).

    ``target`` is returned because a raw UTF-8 target is turned into text. ``authority`` is
    only set for an absolute-form target. 400 for an invalid target.
    """
    if not (target.isascii() and target.isprintable()):
        target = _non_ascii_target(target)
    authority: Optional[str] = None
    if target[:1] == "/":
        raw_path, _, query = target.partition("?")
    elif target == "*":
        if method != "OPTIONS":
            raise ProtocolError(400, "Bad Request", "Asterisk-form is only allowed with OPTIONS")
        return target, "*", "", "*", None
    elif method == "CONNECT":
        _check_authority(target)
        return target, target, "", target, None
    else:
        authority, raw_path, query = _split_absolute_form(target)
    if method == "CONNECT":
        raise ProtocolError(400, "Bad Request", "CONNECT needs an authority-form target")
    if "#" in target:
        raise ProtocolError(400, "Bad Request", "Fragment in request target")
    return target, raw_path, query, normalize_path(_decode_path(raw_path)), authority


def normalize_path(path: str) -> str:
    """Remove ``.`` and ``..`` segments and collapse repeated slashes (RFC 3986 5.2.4).

    Routing, filters and static files all see this one path, so ``/a//b``, ``/a/./b`` and
    ``/x/../a/b`` cannot slip past a filter guarding ``/a/**``. ``..`` never climbs above
    the root. A trailing slash is kept.
    """
    if "//" not in path and "/." not in path:
        return path
    segments = path.split("/")
    kept: list[str] = []
    for segment in segments[1:]:
        if segment == "..":
            if kept:
                kept.pop()
        elif segment and segment != ".":
            kept.append(segment)
    result = "/" + "/".join(kept)
    if kept and segments[-1] in ("", ".", ".."):
        result += "/"
    return result


def _non_ascii_target(target: str) -> str:
    """Validate a target that is not plain printable ASCII.

    Controls and whitespace are refused. Raw bytes >= 0x80 are tolerated (some clients do
    not percent-encode UTF-8), but must be valid UTF-8; the target is then returned as text
    so that ``raw_path``/``query_string`` hold real characters rather than mojibake.
    """
    if _TARGET_BAD_RE.search(target) is not None:
        raise ProtocolError(400, "Bad Request", "Invalid character in request target")
    try:
        return target.encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(400, "Bad Request", "Request target is not valid UTF-8") from None


def _split_absolute_form(target: str) -> tuple[str, str, str]:
    """(authority, raw_path, query) of ``http://host/path?query``; an empty path becomes "/"."""
    lowered = target[:8].lower()
    if lowered.startswith("http://"):
        rest = target[7:]
    elif lowered == "https://":
        rest = target[8:]
    else:
        raise ProtocolError(400, "Bad Request", "Invalid request target")
    cut = len(rest)
    for sep in ("/", "?"):
        pos = rest.find(sep)
        if 0 <= pos < cut:
            cut = pos
    if cut == 0:
        raise ProtocolError(400, "Bad Request", "Absolute-form target without authority")
    if "@" in rest[:cut]:
        # RFC 9110 4.2.4: userinfo in an http(s) URI is deprecated and must be treated as an error.
        raise ProtocolError(400, "Bad Request", "Userinfo in request target")
    raw_path, _, query = rest[cut:].partition("?")
    return rest[:cut], raw_path or "/", query


def _check_authority(target: str) -> None:
    """A CONNECT target must be ``host:port`` (RFC 9112 3.2.3)."""
    host, sep, port = target.rpartition(":")
    if not sep or not host or not port.isdigit() or "/" in target or "@" in target:
        raise ProtocolError(400, "Bad Request", "CONNECT needs a host:port target")


def _decode_path(raw_path: str) -> str:
    """Percent-decode a path to UTF-8 text; '+' stays '+'. 400 for bad escapes or bytes."""
    if "%" not in raw_path:
        return raw_path
    pieces = raw_path.encode("utf-8").split(b"%")
    out = bytearray(pieces[0])
    for piece in pieces[1:]:
        value = _HEX_PAIRS.get(piece[:2])
        if value is None:
            raise ProtocolError(400, "Bad Request", "Malformed percent-escape in path")
        out.append(value)
        out += piece[2:]
    if 0 in out:
        # A NUL has no business in a path and breaks file-system look-ups.
        raise ProtocolError(400, "Bad Request", "NUL in request path")
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(400, "Bad Request", "Request path is not valid UTF-8") from None


def _comma_tokens(values: list[str]) -> list[str]:
    """The non-empty, stripped, lower-cased elements of comma-separated header values."""
    tokens = []
    for value in values:
        for item in value.split(","):
            item = item.strip(" \t").lower()
            if item:
                tokens.append(item)
    return tokens


def _check_host(framing: dict[str, list[str]], http11: bool) -> None:
    """RFC 9112 3.2: exactly one Host in HTTP/1.1, at most one in HTTP/1.0, and a valid one."""
    hosts = framing.get("host")
    if hosts is None:
        if http11:
            raise ProtocolError(400, "Bad Request", "Missing Host header")
    elif len(hosts) > 1:
        raise ProtocolError(400, "Bad Request", "Several Host headers")
    elif hosts[0] not in _KNOWN_HOSTS:
        check_host_value(hosts[0])


def check_host_value(value: str) -> None:
    """``ProtocolError(400)`` unless ``value`` is ``host[:port]`` (RFC 3986 3.2.2-3.2.3).

    host is a reg-name (letters, digits, ``-._~!$&'()*+,;=`` and ``%XX``), an IPv4 address or
    a bracketed IPv6 (or IPvFuture) literal; port is at most 65535 (``host:`` with an empty
    port is allowed, as RFC 3986 allows it). An empty value is refused: an origin server has a
    name, and an empty Host only makes sense for URIs without an authority.
    """
    match = _HOST_RE.fullmatch(value)
    if match is None:
        raise ProtocolError(400, "Bad Request", "Invalid Host header")
    ipv6, port = match.group(1), match.group(2)
    if port and (len(port) > 5 or int(port) > 65535):
        raise ProtocolError(400, "Bad Request", "Invalid port in Host header")
    if ipv6 is not None:
        try:
            ipaddress.IPv6Address(ipv6)
        except ValueError:
            raise ProtocolError(400, "Bad Request", "Invalid IPv6 address in Host header") from None
    if len(value) <= _HOST_CACHE_LENGTH:
        if len(_KNOWN_HOSTS) >= _HOST_CACHE_MAX:
            _KNOWN_HOSTS.clear()
        _KNOWN_HOSTS.add(value)


def _body_framing(framing: dict[str, list[str]], http11: bool) -> tuple[Optional[int], bool]:
    """(content_length, chunked) from Content-Length/Transfer-Encoding, refusing conflicts."""
    te = framing.get("transfer-encoding")
    cl = framing.get("content-length")
    if te is not None:
        if cl is not None:
            # RFC 9112 6.3: both present is a request-smuggling signature.
            raise ProtocolError(400, "Bad Request", "Both Transfer-Encoding and Content-Length")
        if not http11:
            raise ProtocolError(400, "Bad Request", "Transfer-Encoding in an HTTP/1.0 request")
        _check_transfer_encoding(te)
        return None, True
    if cl is None:
        return None, False
    # Whether the length is acceptable is the route's decision (its body limit), made
    # before a byte of the body is read.
    return _content_length(cl), False


def _connection(framing: dict[str, list[str]], http11: bool) -> tuple[bool, Optional[str]]:
    """(keep_alive, upgrade) from the Connection and Upgrade headers."""
    connection = framing.get("connection")
    if connection is None:
        return http11, None
    tokens = _comma_tokens(connection)
    if http11:
        keep_alive = "close" not in tokens
    else:
        keep_alive = "keep-alive" in tokens and "close" not in tokens
    upgrade = framing.get("upgrade")
    if upgrade is None or "upgrade" not in tokens:
        return keep_alive, None
    return keep_alive, ", ".join(upgrade).lower()


def _check_transfer_encoding(values: list[str]) -> None:
    """Only a single, final ``chunked`` coding is acceptable.

    ``chunked`` present but not last (or twice) is a framing error (400, RFC 9112 6.3); any
    other coding is one this server does not implement (501, RFC 9112 6.1).
    """
    codings = [token.split(";", 1)[0].strip(" \t") for token in _comma_tokens(values)]
    if not codings:
        raise ProtocolError(400, "Bad Request", "Empty Transfer-Encoding")
    if "chunked" in codings and (codings[-1] != "chunked" or codings.count("chunked") > 1):
        raise ProtocolError(400, "Bad Request", "chunked must be the final transfer coding")
    for coding in codings:
        if coding != "chunked":
            raise ProtocolError(501, "Not Implemented", f"Unsupported transfer coding {coding!r}")


def _content_length(values: list[str]) -> int:
    """The one Content-Length value; 400 unless every listed value is the same digit string."""
    lengths = set()
    for value in values:
        for item in value.split(","):
            item = item.strip(" \t")
            if not (0 < len(item) <= 18 and item.isascii() and item.isdigit()):
                raise ProtocolError(400, "Bad Request", "Invalid Content-Length")
            lengths.add(int(item))
    if len(lengths) != 1:
        raise ProtocolError(400, "Bad Request", "Conflicting Content-Length values")
    return lengths.pop()
