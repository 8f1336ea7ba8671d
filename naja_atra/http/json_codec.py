"""How an application writes and reads JSON: one object, chosen by the ``naja_atra_json_codec`` hook.

The built-in codec is the standard library's ``json``, writing a few more types than it
knows (:func:`json_default`): ``datetime``, ``date`` and ``time`` as ISO 8601 strings
(an aware ``datetime`` with its offset), ``UUID`` as its hyphenated string, ``Decimal`` as a
string (``"12.50"``: every digit kept, where a JSON number would become a binary float in
most clients; what pydantic v2 and FastAPI send too), an ``Enum`` member as its value,
a dataclass instance as an object of its fields, a ``set``/``frozenset`` as an array
(tuples are arrays already). The standard encoder calls :func:`json_default` only for
values it does not know, so plain dicts and lists cost what ``json.dumps`` costs.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import json
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Union

__all__ = ["JsonCodec", "DEFAULT_JSON_CODEC", "json_default"]


@dataclass(frozen=True)
class JsonCodec:
    """``dumps(value) -> str | bytes`` renders controller results (and JSON WebSocket
    messages); ``loads(data) -> value`` reads JSON request bodies. A plugin returns one
    from ``naja_atra_json_codec`` to use a faster library or to render its own types."""

    dumps: Callable[[Any], Union[str, bytes]]
    loads: Callable[[Union[str, bytes]], Any]


def json_default(value: Any) -> Any:
    """What the built-in codec writes for a value ``json`` does not know (module notes);
    ``TypeError`` for anything else, as ``json.dumps`` raises. A codec of your own built on
    ``json`` can pass it on: ``default=lambda v: mine(v) if isinstance(v, Mine) else json_default(v)``."""
    if isinstance(value, (dt.date, dt.time)):  # datetime is a date
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # One level at a time (not ``asdict``, which deep-copies every value): the encoder
        # comes back here for the dataclasses and other types inside.
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# One encoder for every call, as ``json.dumps`` keeps one for its default settings.
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=json_default)


def _dumps(value: Any) -> str:
    return _ENCODER.encode(value)


#: The built-in codec (the standard library's ``json``, with :func:`json_default`).
DEFAULT_JSON_CODEC = JsonCodec(dumps=_dumps, loads=json.loads)

