"""Routes that can never be told apart: a registration mistake caught when the router is built.

Two routes **clash** when every request one of them accepts for some method is accepted by
the other as well, so that registration order alone decides and one of them never runs for
that method:

- the same **pattern**, up to the names of its values: ``/y/{a}`` and ``/y/{b}`` (and
  ``/y/*``, which matches the same paths), or the same path twice; for ``regexp=`` routes,
  the same expression (as written);
- the same **narrowing**: the same ``params=`` and ``headers=`` expressions (in any
  order), and, for a side with several expressions, the same ``match_all_*`` flag. A
  route *without* narrowing registered first also hides a later, narrowed one: the router
  tries the routes of one pattern in registration order, and the first accepts everything;
- a **method in common**. A route without methods takes every method, but the router tries
  the routes that name a method first, so a route without methods only clashes with
  another route without methods. A WebSocket endpoint's pseudo-method ``WEBSOCKET`` is
  one like the others: endpoints only clash with endpoints.

:func:`check_clashes` raises ``ConfigurationError`` naming both routes.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from ..app.routes import Route
from ..http.errors import ConfigurationError
from .patterns import PathPattern, compile_path

__all__ = ["check_clashes"]


def _narrowing_key(expressions: tuple[str, ...], match_all: bool) -> tuple[Any, ...]:
    # One expression holds or not whatever the flag says; several combine by it.
    return (frozenset(expressions), match_all if len(set(expressions)) > 1 else None)


_UNNARROWED = (_narrowing_key((), True), _narrowing_key((), True))


def _shape(route: Route, pattern: Optional[PathPattern]) -> tuple[Any, ...]:
    if pattern is None:
        return ("regexp", route.regexp)
    # The kind is kept with each key: an empty literal segment ("/a/") and a whole-segment
    # capture ("/a/{x}") both have the key "".
    return ("path", pattern.rest_first, tuple((s.kind, s.key) for s in pattern.segments))


def _describe(route: Route) -> str:
    methods = ",".join(route.methods) or "every method"
    where = route.path or f"regexp={route.regexp!r}"
    return f"{route.name} ({methods} {where})"


def _common(methods: frozenset[str], other: frozenset[str]) -> Optional[str]:
    """The methods two routes of one pattern both take first, as text (None: none)."""
    if methods and other:
        return ", ".join(sorted(methods & other)) or None
    return "any method" if not methods and not other else None


def check_clashes(routes: Sequence[Route]) -> None:
    """``ConfigurationError`` for the first route that an earlier one hides (module notes).
    The paths must be valid (``DefaultRouter`` checks them first)."""
    seen: dict[tuple[Any, ...], list[tuple[Route, frozenset[str], tuple[Any, ...]]]] = {}
    for route in routes:
        pattern: Optional[PathPattern] = None if route.regexp else compile_path(route.path)
        narrowing = (_narrowing_key(route.params, route.match_all_params),
                     _narrowing_key(route.headers, route.match_all_headers))
        methods = frozenset(m.upper() for m in route.methods)
        earlier = seen.setdefault(_shape(route, pattern), [])
        for other, other_methods, other_narrowing in earlier:
            shared = _common(methods, other_methods)
            if shared is None:
                continue
            if other_narrowing == narrowing:
                why = "the same pattern, the same narrowing, and both take " + shared
            elif other_narrowing == _UNNARROWED:
                why = (f"the same pattern, and both take {shared}, but {other.name} has no narrowing and "
                       "is tried first")
            else:
                continue
            raise ConfigurationError(
                f"Routes {_describe(other)} and {_describe(route)} can never be told apart: {why}, so "
                f"{route.name} would never run for {shared}. Change the path, the methods or the narrowing "
                "of one of them, or remove it")
        earlier.append((route, methods, narrowing))
