"""The values a route's path captures, as the argument kinds see them at build time.

A parameter reads a path value either through a marker (``PathValue("id")``,
``FromPath[int]``, ``Annotated[int, PathValue("id")]``, an annotation ``id: PathValue``) or
by its name alone (``def user(user_id: int)`` on ``/users/{user_id}``). :class:`RoutePath`
says which values the route has, so that a marker naming a value the path lacks fails the
build instead of answering 500 on every request.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from ..http.errors import ConfigurationError
from ..routing.patterns import WILDCARD, compile_path

if TYPE_CHECKING:
    from ..app.routes import Route

__all__ = ["RoutePath"]


@functools.lru_cache(maxsize=512)  # routes of one application often share a path
def _captures(path: str) -> Optional[tuple[str, ...]]:
    """The capture names of a route path, or None when it is not of the package's dialect
    (a router of a plugin may read its paths its own way)."""
    try:
        return compile_path(path).names()
    except ValueError:
        return None


@dataclass(frozen=True)
class RoutePath:
    """What a route's path captures: ``names`` (the ``{name}`` values, in order),
    ``wildcard`` (a ``*``/``**`` capture, which a ``PathValue`` of any name falls back to),
    the path as written (``path``; ``""`` for a ``regexp=`` route) and ``regexp``."""

    path: str
    names: tuple[str, ...]
    wildcard: bool
    regexp: str = ""

    @classmethod
    def of(cls, route: Route) -> Optional[RoutePath]:
        """The path values ``route`` has, or None when that cannot be known (a path this
        package's router would refuse anyway: the router names it first)."""
        if route.regexp:
            return cls("", (), False, route.regexp)
        captures = _captures(route.path) if route.path else None
        if captures is None:
            return None
        return cls(route.path, tuple(n for n in captures if n != WILDCARD), WILDCARD in captures)

    def has(self, name: str) -> bool:
        """Whether a ``PathValue(name)`` finds a value on every request of the route."""
        return name in self.names or self.wildcard

    def check(self, parameter: str, name: str) -> None:
        """``ConfigurationError`` when the route has no value ``name`` for ``parameter``."""
        if self.has(name):
            return
        if self.regexp:
            raise ConfigurationError(
                f"parameter {parameter!r} reads the path value {name!r}, but its route matches "
                f"regexp={self.regexp!r}, which has no named values (read its groups with RegGroup)")
        values = ", ".join(self.names) or "none"
        raise ConfigurationError(
            f"parameter {parameter!r} reads the path value {name!r}, which the route's path "
            f"{self.path!r} does not have (its values: {values})")
