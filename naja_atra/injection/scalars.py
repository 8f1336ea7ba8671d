"""The standard library's value types that travel as text: ``date``, ``datetime``,
``time``, ``UUID`` and ``Decimal``.

:mod:`naja_atra.injection.convert` builds its converters for these types from the
:class:`TextType` that :func:`text_type` gives: how to read the type from a string, its
name in an error answer, and why a value was refused. Everything here raises
``ValueError`` for a bad value; the converters turn it into the 400's entry.

- ``date``, ``datetime``, ``time``: ISO 8601, as ``fromisoformat`` of Python 3.11 reads it
  (``2024-05-01``, ``2024-05-01T10:30:00+02:00``, ``10:30``). Python 3.9 and 3.10 read
  only what ``isoformat()`` writes, plus a trailing ``Z`` (UTC), which is translated here.
  A value with an offset keeps it (an aware ``datetime``); one without is naive.
- ``UUID``: 32 hexadecimal digits, hyphenated as ``8-4-4-4-12`` or not at all, optionally
  in braces or after ``urn:uuid:``; any case.
- ``Decimal``: a decimal number (``12.50``, ``-3``, ``1e3``), with no blanks and no
  ``_``; ``NaN`` and ``Infinity`` are refused, as ``float`` refuses them (JSON has no such
  numbers either). In a JSON body a number is accepted too, read from its shortest text
  (``0.1`` is ``Decimal("0.1")``).
"""
from __future__ import annotations

import datetime as dt
import decimal
import re
import sys
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Optional

__all__ = ["TextType", "text_type", "TEXT_TYPES"]

# Python 3.11's fromisoformat reads ISO 8601 broadly; before it, a trailing "Z" is refused.
_NEEDS_Z = sys.version_info < (3, 11)
_HEX = "[0-9a-fA-F]"
_UUID = re.compile(rf"(?:urn:uuid:)?(\{{)?{_HEX}{{8}}(-?){_HEX}{{4}}\2{_HEX}{{4}}\2{_HEX}{{4}}\2{_HEX}{{12}}(?(1)\}})",
                   re.IGNORECASE)


@dataclass(frozen=True)
class TextType:
    """How one type is read: ``parse(text)`` gives the value or raises ``ValueError``;
    ``label`` names the type in a 400 (``"date"``, ``"uuid"``); ``reason`` says what was
    expected; ``from_number``: a JSON number is accepted too (``Decimal``)."""

    label: str
    parse: Callable[[str], Any]
    reason: str
    from_number: bool = False


def _with_z(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """``parse``, also reading a trailing ``Z`` as UTC where ``fromisoformat`` does not."""
    if not _NEEDS_Z:
        return parse

    def parse_z(text: str) -> Any:
        if text[-1:] in ("Z", "z"):
            text = text[:-1] + "+00:00"
        return parse(text)
    return parse_z


def _uuid(text: str) -> uuid.UUID:
    # ``uuid.UUID`` alone also takes hyphens anywhere and "_" between digits (it ends with
    # ``int(text, 16)``): only the spellings of the module notes get that far.
    if not _UUID.fullmatch(text):
        raise ValueError(text)
    return uuid.UUID(text)


def _decimal(text: str) -> decimal.Decimal:
    # ``Decimal()`` strips blanks and takes "1_000", "NaN" and "Infinity": a request value
    # should be a plain, finite number.
    if text.strip() != text or "_" in text:
        raise ValueError(text)
    try:
        value = decimal.Decimal(text)
    except decimal.InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite():
        raise ValueError(text)
    return value


#: Every type read from text, by the type itself (exact classes: a subclass of ``date`` of
#: yours is not one of them).
TEXT_TYPES: dict[type, TextType] = {
    dt.date: TextType("date", dt.date.fromisoformat, "not a date (ISO 8601: YYYY-MM-DD)"),
    dt.datetime: TextType("datetime", _with_z(dt.datetime.fromisoformat),
                          "not a datetime (ISO 8601: YYYY-MM-DDTHH:MM:SS, an offset or Z optional)"),
    dt.time: TextType("time", _with_z(dt.time.fromisoformat), "not a time (ISO 8601: HH:MM[:SS])"),
    uuid.UUID: TextType("uuid", _uuid, "not a UUID"),
    decimal.Decimal: TextType("decimal", _decimal, "not a decimal number", from_number=True),
}


def text_type(tp: Any) -> Optional[TextType]:
    """The :class:`TextType` of ``tp``, or None when it is not one of these types."""
    try:
        return TEXT_TYPES.get(tp)
    except TypeError:  # an unhashable annotation
        return None
