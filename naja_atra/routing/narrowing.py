"""Route narrowing: the ``params=``/``headers=`` expressions of ``@route``.

Each expression is parsed once, when the router is built, into a predicate over a
mapping of names to values:

========  =====================================================
``a``     ``a`` is present (even with an empty value)
``!a``    ``a`` is absent
``a=b``   ``a`` is present and one of its values equals ``b``
``a!=b``  ``a`` is present and none of its values equals ``b``
``a^=b``  ``a`` is present and one of its values starts with ``b``
========  =====================================================

The operator is decided by the first ``=``: the value is everything after the operator
(it may itself hold ``=`` and may be empty), the name everything before it, stripped.
Query parameters map a name to a sequence of values; headers map a name to one string
(the mapping compares names case-insensitively, as ``Request.headers`` does).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence, Union

from ..app.routes import Route, RoutingInput

__all__ = ["Narrowing", "Predicate", "compile_expression", "compile_narrowing"]

Values = Union[str, Sequence[str]]
Predicate = Callable[[Mapping[str, Values]], bool]
"""A compiled expression: true when the mapping satisfies it."""


def _values(value: Values) -> Sequence[str]:
    # A header is one string; a str is also a Sequence[str], so never iterate it as one.
    return (value,) if isinstance(value, str) else value


def compile_expression(expression: str) -> Predicate:
    """Parse one narrowing expression into a predicate; ``ValueError`` if it is malformed."""
    if not isinstance(expression, str):
        raise ValueError(f"narrowing expression {expression!r} is not a string")
    eq = expression.find("=")
    if eq < 0:
        negate = expression.startswith("!")
        name = (expression[1:] if negate else expression).strip()
        _check_name(expression, name)
        if negate:
            return lambda mapping: name not in mapping
        return lambda mapping: name in mapping

    op = expression[eq - 1] if eq > 0 and expression[eq - 1] in "!^" else ""
    name = expression[: eq - len(op)].strip()
    wanted = expression[eq + 1:]
    _check_name(expression, name)

    # Each closure does one mapping lookup; ``None`` stands for "absent" since no value
    # of a request mapping is ever None.
    if op == "!":

        def not_equal(mapping: Mapping[str, Values]) -> bool:
            found = mapping.get(name)
            return found is not None and wanted not in _values(found)

        return not_equal
    if op == "^":

        def starts_with(mapping: Mapping[str, Values]) -> bool:
            found = mapping.get(name)
            return found is not None and any(v.startswith(wanted) for v in _values(found))

        return starts_with

    def equal(mapping: Mapping[str, Values]) -> bool:
        found = mapping.get(name)
        return found is not None and wanted in _values(found)

    return equal


def _check_name(expression: str, name: str) -> None:
    if not name:
        raise ValueError(f"narrowing expression {expression!r} has no name")
    if name.startswith("!") or any(c in name for c in "=^"):
        raise ValueError(f"narrowing expression {expression!r}: {name!r} is not a valid name")


def _compile_all(expressions: Union[str, Sequence[str]]) -> tuple[Predicate, ...]:
    if isinstance(expressions, str):
        # A bare string is one expression, not a sequence of one-letter ones.
        expressions = (expressions,)
    return tuple(compile_expression(e) for e in expressions)


@dataclass(frozen=True)
class Narrowing:
    """The compiled ``params``/``headers`` conditions of one route.

    ``match_all_*`` true: every expression must hold; false: at least one must. A side
    without expressions always holds and its mapping is never read (``request.parameters``
    may parse a body lazily).
    """

    params: tuple[Predicate, ...]
    headers: tuple[Predicate, ...]
    match_all_params: bool = True
    match_all_headers: bool = True

    def matches(self, request: RoutingInput) -> bool:
        """Whether the request satisfies this route's expressions."""
        if self.headers and not _combine(self.headers, request.headers, self.match_all_headers):
            return False
        if self.params and not _combine(self.params, request.parameters, self.match_all_params):
            return False
        return True


def _combine(predicates: tuple[Predicate, ...], mapping: Mapping[str, Values], match_all: bool) -> bool:
    if match_all:
        return all(p(mapping) for p in predicates)
    return any(p(mapping) for p in predicates)


def compile_narrowing(route: Route) -> Optional[Narrowing]:
    """The route's compiled narrowing, or ``None`` when it has no expressions (the fast path).

    Raises ``ValueError`` naming the route when an expression is malformed.
    """
    try:
        params = _compile_all(route.params)
        headers = _compile_all(route.headers)
    except ValueError as e:
        raise ValueError(f"route {route.name}: {e}") from e
    if not params and not headers:
        return None
    return Narrowing(params, headers, route.match_all_params, route.match_all_headers)
