"""Matching request filters to routes, once at build where the route's path is fixed."""
from __future__ import annotations

import re
from typing import Any, Callable, Optional, Pattern, Sequence

from .routes import FilterSpec, Route

_PLAIN = re.compile(r"[^{}*]*\Z")


def wildcard_regex(path: str) -> Pattern[str]:
    """A filter path with ``*`` (one segment) and ``**`` (any depth) as a full-match regex."""
    out = []
    i = 0
    while i < len(path):
        if path.startswith("**", i):
            out.append(".*")
            i += 2
        elif path[i] == "*":
            out.append("[^/]*")
            i += 1
        else:
            out.append(re.escape(path[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


class CompiledFilter:
    """A filter function with its path test compiled."""

    __slots__ = ("func", "_test")

    def __init__(self, spec: FilterSpec) -> None:
        self.func: Callable[..., Any] = spec.func
        if spec.regexp:
            self._test = re.compile(spec.regexp).match
        else:
            path = spec.path if spec.path.startswith(("/", "*")) else "/" + spec.path
            self._test = wildcard_regex(path).match

    def matches(self, path: str) -> bool:
        """Whether the filter applies to a request for ``path``."""
        return self._test(path) is not None


class RouteFilters:
    """The filters of one route: fixed at build for a plain path, else tested per request."""

    __slots__ = ("fixed", "candidates")

    def __init__(self, route: Optional[Route], filters: Sequence[CompiledFilter]) -> None:
        plain = route is not None and not route.regexp and _PLAIN.match(route.path) is not None
        if plain:
            assert route is not None
            self.fixed: Optional[tuple[Callable[..., Any], ...]] = tuple(
                f.func for f in filters if f.matches(route.path))
            self.candidates: tuple[CompiledFilter, ...] = ()
        else:
            self.fixed = None
            self.candidates = tuple(filters)

    def for_path(self, path: str) -> tuple[Callable[..., Any], ...]:
        """The filter functions to run, in order, for a request to ``path``."""
        if self.fixed is not None:
            return self.fixed
        return tuple(f.func for f in self.candidates if f.matches(path))
