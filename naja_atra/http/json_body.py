"""Decoding JSON from a request, with its nesting bounded.

``json.loads`` recurses once per nested array or object, so a body of a few kilobytes of
``[[[[...`` exhausts the recursion limit (``RecursionError``: a 500). :func:`check_json_depth`
refuses such input before it is decoded, with work done in C over bytes (``count``,
``translate``, ``replace``, ``split``), never a Python loop per character:

- a body with no more ``[``/``{`` than the limit cannot be too deep: two counts, and the end
  of it for nearly every body;
- otherwise the strings are cut out (a bracket in a string is not nesting): escaped
  backslashes and quotes are dropped, so every quote left opens or closes a string, and the
  text between every other pair of quotes goes;
- every byte but the brackets is dropped and ``{}`` read as ``[]``;
- each ``replace(b"[]", b"")`` pass then removes the innermost level: a body nested ``n``
  deep is empty after exactly ``n`` passes. A pass that removes nothing means unbalanced
  brackets (not JSON either). Passes go on while each removes at least an eighth of what is
  left; after that few innermost pairs remain per byte, so the depth of the rest is summed
  over its runs of ``[`` and ``]`` (one C-level step per run) rather than by more passes.

Measured on CPython 3.11: about a third of ``json.loads``'s time on ordinary documents with
many brackets, and at most about 0.3 s for the worst 16 MiB shapes found (short nested
lists), where ``json.loads`` spends 1 to 3.5 s on valid bodies of that size and shape.

:func:`loads_json` is ``json.loads`` (or an application codec's ``loads``) behind that
check; what it refuses is a ``ValueError``, as ``json.loads``'s own errors are, so callers
answer both alike (400).
"""
from __future__ import annotations

import json
import operator
import re
from itertools import accumulate
from typing import Any, Callable, Union

__all__ = ["JsonTooDeep", "check_json_depth", "loads_json"]

# ``{`` and ``}`` read as ``[`` and ``]``; every other byte deleted (but quotes, at first).
_AS_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_NOT_BRACKETS_OR_QUOTES = bytes(b for b in range(256) if b not in b'[]{}"')
_RUNS_RE = re.compile(rb"\[+|\]+")
_UTF8 = ("utf-8", "utf-8-sig")
# Passes go on while each removes at least 1/_PASS_SHARE of the brackets left (module notes).
_PASS_SHARE = 8


class JsonTooDeep(ValueError):
    """JSON nested deeper than allowed, or with unbalanced brackets."""


def check_json_depth(data: Union[bytes, bytearray, str], max_depth: int) -> None:
    """Raise :class:`JsonTooDeep` when ``data`` nests arrays and objects more than
    ``max_depth`` deep (``[]`` is depth 1, a scalar depth 0), or has unbalanced brackets
    outside its strings. Whether the rest is JSON is left to ``json.loads``."""
    raw = _utf8(data)
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return
    brackets = _brackets_outside_strings(raw)
    passes = 0
    while brackets and passes < max_depth:
        inner = brackets.replace(b"[]", b"")
        removed = len(brackets) - len(inner)
        if not removed:
            raise JsonTooDeep("unbalanced brackets")
        brackets = inner
        passes += 1
        if removed * _PASS_SHARE < len(brackets) + removed:
            break
    if not brackets:
        return
    if passes >= max_depth:
        raise JsonTooDeep(f"nested deeper than {max_depth} levels")
    if passes + _run_depth(brackets) > max_depth:
        raise JsonTooDeep(f"nested deeper than {max_depth} levels")


def loads_json(data: Union[bytes, bytearray, str], max_depth: int,
               loads: Callable[[Any], Any] = json.loads) -> Any:
    """``loads(data)`` (``json.loads`` unless an application's codec gives another) once
    :func:`check_json_depth` has let it through.

    Raises ``ValueError`` (``json.JSONDecodeError``, :class:`JsonTooDeep`) for input that is
    not acceptable JSON and ``UnicodeDecodeError`` for bytes that are not text. A
    ``RecursionError`` (a ``max_depth`` set above what the stack allows) becomes a
    :class:`JsonTooDeep` too. A ``loads`` of another library should raise ``ValueError``
    (or a subclass) for bad input, as the common ones do.
    """
    check_json_depth(data, max_depth)
    try:
        return loads(data)
    except RecursionError:
        raise JsonTooDeep("nested too deeply to decode") from None


def _brackets_outside_strings(raw: bytes) -> bytes:
    """The brackets of ``raw`` that are not inside a string, ``{}`` as ``[]``."""
    if b'"' not in raw:
        return raw.translate(_AS_SQUARE, _NOT_BRACKETS)
    if b"\\" in raw:
        # Left to right, as a JSON string is read: an escaped backslash, then an escaped quote.
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Strings without a bracket become '""' and vanish (two strings with no bracket between
    # them merge: nothing between them mattered either).
    kept = raw.translate(_AS_SQUARE, _NOT_BRACKETS_OR_QUOTES).replace(b'""', b"")
    if b'"' not in kept:
        return kept
    # Quotes alternate: the even pieces are outside strings (an unterminated string's text
    # is the last, odd piece).
    return b"".join(kept.split(b'"')[0::2])


def _run_depth(brackets: bytes) -> int:
    """The deepest nesting of a bracket string, from its runs of ``[`` and of ``]``;
    :class:`JsonTooDeep` when it is unbalanced."""
    if brackets[:1] != b"[":
        raise JsonTooDeep("unbalanced brackets")
    lengths = list(map(len, _RUNS_RE.findall(brackets)))
    lengths[1::2] = map(operator.neg, lengths[1::2])  # runs alternate: "[" runs, then "]" runs
    levels = list(accumulate(lengths))
    if levels[-1] != 0 or min(levels[1::2]) < 0:
        raise JsonTooDeep("unbalanced brackets")
    return max(levels[0::2])


def _utf8(data: Union[bytes, bytearray, str]) -> bytes:
    """``data`` as UTF-8 bytes, where no byte of a multi-byte character is an ASCII one
    (a UTF-16 or UTF-32 body, which ``json.loads`` also accepts, is transcoded)."""
    if isinstance(data, str):
        return data.encode("utf-8", "surrogatepass")
    raw = bytes(data)
    encoding = json.detect_encoding(raw)
    if encoding in _UTF8:
        return raw
    return raw.decode(encoding, "replace").encode("utf-8", "surrogatepass")
