"""Where a resolver takes its argument from, told to whoever documents the route (OpenAPI).

A built-in resolver that reads the request carries one :class:`ArgumentSource` as its
``source`` attribute (:func:`describe`); wrappers around resolvers copy it. A plugin's own
resolver may carry one too, and is then documented like the built-in ones.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from typing_extensions import Literal

from .params import EMPTY

Location = Literal["path", "query", "header", "cookie", "body"]


@dataclass(frozen=True)
class ArgumentSource:
    """One argument's origin in the request.

    ``location``: ``path`` (a ``{name}`` of the route), ``query`` (the query string, and
    for a form body its fields, as naja-atra 1.x reads them), ``header``, ``cookie``, or
    ``body``. ``name``: the name there (the query parameter, the header...); for ``body``,
    the form or multipart field, or "" for the whole body. ``annotation``: the Python type
    the value is converted to. ``default``: ``EMPTY`` when there is none. ``media_type``:
    for ``body``, the content type read (``application/json``,
    ``application/x-www-form-urlencoded``, ``multipart/form-data``,
    ``application/octet-stream``, ``text/plain``).
    """

    location: Location
    name: str
    annotation: Any
    required: bool
    default: Any = EMPTY
    media_type: str = ""


def describe(resolver: Any, source: ArgumentSource) -> Any:
    """Attach ``source`` to ``resolver`` (a function) and return the resolver."""
    resolver.source = source
    return resolver


def source_of(resolver: Any) -> Optional[ArgumentSource]:
    """The ``ArgumentSource`` a resolver carries, or None (it reads nothing documentable)."""
    source = getattr(resolver, "source", None)
    return source if isinstance(source, ArgumentSource) else None
