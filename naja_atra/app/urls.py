"""``url_for``: the URL of a named route, built from its path pattern and some values.

A route's name is its ``Route.endpoint`` (``name=`` on ``@route``, else the function's
``__name__`` or ``Class.method``, after the names of its groups: ``users.show``). The
values fill the ``{name}`` segments, converted with ``str`` and percent-encoded; the others
go to the query string (a list or tuple as repeated keys, None left out).

A URL is only built if it leads back to the same route with the same values: a value that
is empty, holds a ``/``, is a whole ``.`` or ``..`` segment (which the server would resolve
away), or splits differently in a segment such as ``{name}.{ext}`` is refused, and so are
routes with a ``*``/``**`` wildcard or a ``regexp=``. WebSocket endpoints have no name.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional
from urllib.parse import quote, urlencode

from ..routing.patterns import WILDCARD, PathPattern, Segment, SegmentKind, compile_path
from .routes import WEBSOCKET_METHOD, Route

# Path characters kept as they are in a pattern's literal text (RFC 3986 pchar less the
# unreserved ones, which quote keeps anyway); everything else is percent-encoded.
_LITERAL_SAFE = "/!$&'()*+,;=:@"


class UrlBuildError(LookupError):
    """``url_for`` cannot build the URL: an unknown or ambiguous name, a missing or
    unusable value, or a route whose path cannot be built (a wildcard or a regexp)."""


class UrlIndex:
    """The named routes of one built application, by name, with their patterns compiled."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._by_name: dict[str, list[tuple[Route, Optional[PathPattern]]]] = {}
        for route in routes:
            if route.endpoint and WEBSOCKET_METHOD not in route.methods:
                self._by_name.setdefault(route.endpoint, []).append((route, _pattern(route)))

    def build(self, name: str, values: Mapping[str, Any]) -> str:
        """The path (and query string) of the route named ``name`` with ``values``."""
        routes = self._by_name.get(name)
        if not routes:
            known = ", ".join(sorted(self._by_name)[:20]) or "none"
            raise UrlBuildError(f"url_for: no route is named {name!r} (named routes: {known})")
        first = routes[0][0]
        others = [r for r, _ in routes if r.handler is not first.handler or r.inclusions != first.inclusions]
        if others:
            raise UrlBuildError(
                f"url_for: {name!r} names several routes ({first.name} and {others[0].name}): "
                "give them different name=")
        return _build_best(name, routes, values)


def _pattern(route: Route) -> Optional[PathPattern]:
    """The route's compiled path, or None when a URL cannot be built from it (a regexp, a
    wildcard, or a path only a custom router understands)."""
    if route.regexp or not route.path:
        return None
    try:
        pattern = compile_path(route.path)
    except ValueError:
        return None
    return None if WILDCARD in pattern.names() else pattern


def _bare(name: str) -> str:
    """``id`` of a ``{id}`` capture, and of a typed ``{id:int}`` one should the dialect have it."""
    return name.split(":", 1)[0]


def _build_best(name: str, routes: list[tuple[Route, Optional[PathPattern]]], values: Mapping[str, Any]) -> str:
    """Of the routes of one handler, the one that uses the most of ``values`` (so
    ``/users/{id}`` is chosen over ``/users`` when ``id`` is given)."""
    best: Optional[tuple[PathPattern, list[str]]] = None
    missing: list[str] = []
    buildable = False
    for _, pattern in routes:
        if pattern is None:
            continue
        buildable = True
        needed = [_bare(n) for n in pattern.names()]
        absent = [n for n in needed if values.get(n) is None]
        if absent:
            missing = missing or absent
            continue
        if best is None or len(needed) > len(best[1]):
            best = (pattern, needed)
    if best is None:
        route = routes[0][0]
        if not buildable:
            raise UrlBuildError(f"url_for: route {name!r} ({route.path or 'regexp ' + route.regexp}) "
                                "has a wildcard or a regexp, which a URL cannot be built from")
        raise UrlBuildError(f"url_for: route {name!r} needs a value for {', '.join(missing)}")
    pattern, needed = best
    path = _fill(name, pattern.segments, values)
    query = [(key, value) for key, value in values.items() if key not in needed]
    pairs = [(key, str(item)) for key, value in query for item in _items(value)]
    return path + ("?" + urlencode(pairs) if pairs else "")


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [item for item in value if item is not None]
    return [value]


def _fill(name: str, segments: Iterable[Segment], values: Mapping[str, Any]) -> str:
    out = []
    for segment in segments:
        parts = segment.parts
        texts = [str(values[_bare(part[1:-1])]) if i % 2 else part for i, part in enumerate(parts)]
        if segment.kind is not SegmentKind.LITERAL:
            _check_segment(name, segment, texts)
        out.append("".join(quote(text, safe="") if i % 2 else quote(text, safe=_LITERAL_SAFE)
                           for i, text in enumerate(texts)))
    return "/" + "/".join(out)


def _check_segment(name: str, segment: Segment, texts: list[str]) -> None:
    """Refuse values the server would not route back to the same values."""
    values = texts[1::2]
    for text in values:
        if not text or "/" in text:
            raise UrlBuildError(f"url_for: route {name!r}: {text!r} cannot be a path value "
                                "(a value is non-empty and has no '/')")
    whole = "".join(texts)
    if whole in (".", ".."):
        raise UrlBuildError(f"url_for: route {name!r}: a path segment cannot be {whole!r}")
    if segment.regex is not None:
        found = segment.regex.fullmatch(whole)
        if found is None or list(found.groups()) != values:
            raise UrlBuildError(f"url_for: route {name!r}: the values {values!r} would be read back "
                                f"differently from the segment {whole!r}")
