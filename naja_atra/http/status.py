"""Reason phrases for status codes."""
from __future__ import annotations

from http import HTTPStatus

REASONS: dict[int, str] = {s.value: s.phrase for s in HTTPStatus}


def reason_phrase(code: int) -> str:
    """The standard reason phrase for ``code``, or an empty string for an unknown code."""
    return REASONS.get(code, "")
