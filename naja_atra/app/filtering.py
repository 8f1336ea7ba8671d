"""Matching request filters to routes, once at build where the route's path is fixed.

A filter's ``path`` is written in the path dialect of routes and static mappings
(docs/paths.md) and matched by :class:`naja_atra.routing.wildcards.WildcardPattern`, so
``@request_filter("/a/*")`` runs for exactly the requests ``@route("/a/*")`` can take. A
filter's ``regexp`` is tried like a route's: against the path, then without its leading
``/``. A filter with neither applies to every route it may run for.

A filter registered on a route group has ``inclusions`` (``FilterSpec.inclusions``): it runs only
for the routes of that group and of the groups inside it, decided at build.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Optional, Sequence

from ..routing.patterns import compile_path
from ..routing.wildcards import WildcardPattern, match_regexp
from .routes import FilterSpec, Route


def _describe(func: Callable[..., Any]) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"


class CompiledFilter:
    """A filter function with its path test compiled; ``ValueError`` names a bad pattern."""

    __slots__ = ("func", "spec", "_test")  # _test(path) is None when the filter does not apply

    def __init__(self, spec: FilterSpec) -> None:
        self.func: Callable[..., Any] = spec.func
        self.spec = spec
        self._test: Callable[[str], object]
        if not spec.regexp and not spec.path:
            self._test = _always
        elif spec.regexp:
            try:
                regex = re.compile(spec.regexp)
            except re.error as e:
                raise ValueError(
                    f"request filter {_describe(spec.func)}: invalid regexp {spec.regexp!r}: {e}") from e
            self._test = lambda path: match_regexp(regex, path)
        else:
            try:
                # The bound C method: one Python frame per filter and request, as before.
                self._test = WildcardPattern(spec.path).regex.fullmatch
            except ValueError as e:
                raise ValueError(f"request filter {_describe(spec.func)}: {e}") from e

    def matches(self, path: str) -> bool:
        """Whether the filter applies to a request for ``path`` (percent-decoded)."""
        return self._test(path) is not None


def _always(path: str) -> bool:
    return True


def _plain_path(route: Route) -> Optional[str]:
    """The one request path a route takes (``/a/b`` for ``a/b``), or None when its path has
    a ``{name}``, ``*`` or ``**`` or it is a regexp route."""
    if route.regexp or not route.path:
        return None
    try:
        pattern = compile_path(route.path)
    except ValueError:
        return None  # a path only a custom router understands: test filters per request
    return pattern.key if pattern.static else None


class RouteFilters:
    """The filters of one route: fixed at build for a plain path, else tested per request."""

    __slots__ = ("fixed", "candidates")

    def __init__(self, route: Optional[Route], filters: Sequence[CompiledFilter]) -> None:
        filters = [f for f in filters if f.spec.applies_to(route)]
        path = _plain_path(route) if route is not None else None
        if path is not None:
            self.fixed: Optional[tuple[Callable[..., Any], ...]] = tuple(
                f.func for f in filters if f.matches(path))
            self.candidates: tuple[CompiledFilter, ...] = ()
        else:
            self.fixed = None
            self.candidates = tuple(filters)

    def for_path(self, path: str) -> tuple[Callable[..., Any], ...]:
        """The filter functions to run, in order, for a request to ``path``."""
        if self.fixed is not None:
            return self.fixed
        return tuple(f.func for f in self.candidates if f.matches(path))
