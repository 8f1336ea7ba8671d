"""Where a resolver takes its argument from, told to whoever documents the route (OpenAPI).

A built-in resolver that reads the request carries one :class:`ArgumentSource` as its
``source`` attribute (:func:`describe`); wrappers around resolvers copy it. A plugin's own
resolver may carry one too, and is then documented like the built-in ones.

A ``Depends`` resolver reads nothing itself: its providers' parameters do. It carries
their sources, each once, as ``sources`` (:func:`sources_of` gives either kind).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, TypeVar

from typing_extensions import Literal

from .params import EMPTY

Location = Literal["path", "query", "header", "cookie", "body"]
R = TypeVar("R")


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


def describe(resolver: R, source: ArgumentSource) -> R:
    """Attach ``source`` to ``resolver`` (a function) and return the resolver."""
    setattr(resolver, "source", source)
    return resolver


def source_of(resolver: Any) -> Optional[ArgumentSource]:
    """The ``ArgumentSource`` a resolver carries, or None (it reads nothing documentable)."""
    source = getattr(resolver, "source", None)
    return source if isinstance(source, ArgumentSource) else None


def sources_of(resolver: Any) -> tuple[ArgumentSource, ...]:
    """Every ``ArgumentSource`` behind a resolver: its own, or those of the providers of a
    ``Depends`` (the parameters of every provider in its graph, each source once)."""
    own = source_of(resolver)
    if own is not None:
        return (own,)
    found = getattr(resolver, "sources", ())
    return tuple(s for s in found if isinstance(s, ArgumentSource)) if isinstance(found, tuple) else ()


def copy_sources(wrapper: R, resolver: Any) -> R:
    """Give ``wrapper`` (a function around ``resolver``) what ``resolver`` tells of its
    sources; return ``wrapper``."""
    for attribute in ("source", "sources"):
        value = getattr(resolver, attribute, None)
        if value is not None:
            setattr(wrapper, attribute, value)
    return wrapper
