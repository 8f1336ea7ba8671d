"""Query strings and ``application/x-www-form-urlencoded`` bodies, with their fields capped.

Both are ``name=value`` fields joined by ``&``, ``+`` for a space and ``%XX`` escapes. Two
things keep a hostile form from stalling the server (or the event loop it is parsed on):

- the fields are found one at a time (empty ones skipped, in C) and counting stops at the
  first one past ``max_fields``: a body of a million fields is refused (400) after reading
  ``max_fields + 1`` of them, not split whole first;
- escapes are decoded in C, not by a Python loop per escape as ``urllib.parse.unquote``
  does (about 2.7 s for 15 MB of ``%41``; here about 70 ms): see :func:`percent_decode`.
"""
from __future__ import annotations

import binascii
import codecs
import functools
import re
from urllib.parse import unquote

from .errors import HttpError

__all__ = ["DEFAULT_MAX_FIELDS", "parse_query", "parse_urlencoded", "percent_decode"]

#: The cap on fields when the caller gives none (``Limits.max_form_fields``'s default).
DEFAULT_MAX_FIELDS = 1000

_FIELD_RE = re.compile(rb"[^&]+")
# Query strings up to this long, ASCII and under the cap, take the plain str path: for the
# few fields of a usual query it costs a quarter of the bytes path's setup.
_SHORT_QUERY = 2048
# Each byte as what it is to an escape: "h" a hex digit, "%" itself, "." anything else.
_ESCAPE_CLASSES = bytes(
    ord("h") if chr(b) in "0123456789abcdefABCDEF" else ord("%") if b == 0x25 else ord(".") for b in range(256)
)
# XOR with the "%" of a valid escape turns it into "=" (see percent_decode); 0 elsewhere.
_TO_EQUALS = bytes((0x25 ^ 0x3D) if b == ord("G") else 0 for b in range(256))


def parse_query(query: str, max_fields: int = DEFAULT_MAX_FIELDS) -> dict[str, list[str]]:
    """Parse a query string with form-urlencoded rules.

    ``+`` is a space, ``%XX`` escapes are UTF-8 (invalid bytes replaced, malformed escapes
    kept as they are), blank values are kept (``a=&b`` gives ``a: [""], b: [""]``) and the
    order of names and values is kept. ``HttpError(400)`` past ``max_fields`` fields.
    """
    if len(query) <= _SHORT_QUERY and query.isascii() and query.count("&") < max_fields:
        result: dict[str, list[str]] = {}
        for field in query.split("&"):
            if field:
                name, _, value = field.partition("=")
                result.setdefault(_unquote_short(name), []).append(_unquote_short(value))
        return result
    return _parse_fields(query.encode("utf-8", "surrogatepass"), "utf-8", max_fields)


def _unquote_short(text: str) -> str:
    if "+" in text:
        text = text.replace("+", " ")
    if "%" not in text:
        return text
    return unquote(text, errors="replace")  # per escape in Python: fine for a short query


def parse_urlencoded(body: bytes, charset: str = "utf-8",
                     max_fields: int = DEFAULT_MAX_FIELDS) -> dict[str, list[str]]:
    """Parse an ``application/x-www-form-urlencoded`` body; escapes decode with ``charset``.

    An unknown charset falls back to UTF-8 rather than failing the request; one that is not
    ASCII-compatible (UTF-16, ...) is read as text and its escapes as UTF-8. ``HttpError(400)``
    past ``max_fields`` fields.
    """
    charset = _usable_charset(charset)
    if not _ascii_compatible(charset):
        body, charset = body.decode(charset, "replace").encode("utf-8", "surrogatepass"), "utf-8"
    return _parse_fields(bytes(body), charset, max_fields)


def _parse_fields(data: bytes, charset: str, max_fields: int) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for index, match in enumerate(_FIELD_RE.finditer(data)):
        if index == max_fields:
            raise HttpError(400, "Bad Request", f"more than {max_fields} form fields")
        name, _, value = match.group().partition(b"=")
        result.setdefault(_decode(name, charset), []).append(_decode(value, charset))
    return result


def _decode(raw: bytes, charset: str) -> str:
    if b"+" in raw:
        raw = raw.replace(b"+", b" ")
    return percent_decode(raw).decode(charset, "replace")


def percent_decode(raw: bytes) -> bytes:
    """``raw`` with its ``%XX`` escapes decoded; a malformed escape is kept as it is
    (what ``urllib.parse.unquote_to_bytes`` does).

    Done by ``binascii.a2b_qp``, the C decoder of quoted-printable, whose escapes are
    ``=XX``: literal ``=`` are first escaped as ``=3D``, then the ``%`` of every valid escape
    becomes ``=`` (a ``%`` of a malformed one stays, and quoted-printable leaves it alone).
    The valid ones are told apart without a Python loop: each byte is classed (hex digit,
    ``%``, other) by ``translate``, ``"%hh"`` is replaced by ``"Ghh"`` in that class string,
    and the ``G`` positions flip ``%`` to ``=`` by one XOR of the two as big integers.
    """
    if b"%" not in raw:
        return raw
    if b"=" in raw:
        raw = raw.replace(b"=", b"=3D")
    valid = raw.translate(_ESCAPE_CLASSES).replace(b"%hh", b"Ghh")
    if b"%" not in valid:  # every escape is valid: the usual case
        data = raw.replace(b"%", b"=")
    else:
        flips = valid.translate(_TO_EQUALS)
        data = (int.from_bytes(raw, "big") ^ int.from_bytes(flips, "big")).to_bytes(len(raw), "big")
    return binascii.a2b_qp(data)


def _usable_charset(charset: str) -> str:
    try:
        return codecs.lookup(charset).name
    except LookupError:
        return "utf-8"


@functools.lru_cache(maxsize=32)
def _ascii_compatible(charset: str) -> bool:
    """Whether ``&``, ``=``, ``+``, ``%`` and the letters are single bytes, as in ASCII."""
    sample = "&=+%azAZ09"
    try:
        return sample.encode(charset) == sample.encode("ascii")
    except (UnicodeError, LookupError):
        return False
