"""``DefaultRouter``: the built-in ``Router``, built once per application build.

Where a request looks, in order (the first route that accepts it wins):

1. **static** routes (every segment literal): one dict lookup on the path;
2. the **forward trie** of the other ``path`` routes, walked segment by segment; at each
   segment a literal child is tried first, then mixed segments (``{name}.txt``), then the
   one-segment param (``{id}`` or ``*``), then a trailing rest (``/**.html`` before
   ``/**``), backtracking when a branch has no route that accepts the request;
3. the **reverse trie** of patterns that start with ``**`` (``**/edit``, ``**.html``,
   ``**``), walked from the last segment, so a catch-all never hides a route with a
   literal prefix;
4. ``regexp`` routes, in registration order of their expression (as in 1.x, after every
   path route, so a ``**`` catch-all hides them).

Routes with the same shape (``/p/{x}`` and ``/p/*`` are the same shape) share an endpoint.
For a method an endpoint tries the routes that list it, then the routes that list no
method (any), each in registration order; a HEAD request also tries the GET routes after
the HEAD ones. The first of them whose ``params``/``headers`` expressions hold wins; if
none holds the search goes on to the next matching shape.

A route that matched the path and method but not its expressions makes the answer 404
(what naja-atra 1.x answers); a path whose routes only refuse the method gives 405 with
the methods they accept; anything else is 404.

Routes of the same shape, narrowing and methods are tried in registration order here;
the ``naja_atra.routing`` plugin refuses such clashes when an application is built
(:mod:`naja_atra.routing.clashes`).
"""
from __future__ import annotations

import re
from typing import Optional, Sequence

from ..app.routes import Route, RouteMatch, RoutingInput
from ..http.errors import HttpError, MethodNotAllowed
from .narrowing import Narrowing, compile_narrowing
from .patterns import PathPattern, Segment, SegmentKind, compile_path, split_path

__all__ = ["DefaultRouter"]


class _Entry:
    """A route with what the router compiled for it."""

    __slots__ = ("route", "methods", "narrowing", "names")

    def __init__(self, route: Route, narrowing: Optional[Narrowing], names: tuple[str, ...]) -> None:
        self.route = route
        # Upper-cased here rather than on the Route, which belongs to the application.
        self.methods = frozenset(m.upper() for m in route.methods)
        self.narrowing = narrowing
        # Capture names, in the order the trie walk collects the values.
        self.names = names


class _Endpoint:
    """The routes that share one path shape (or one regexp), with per-method candidates."""

    __slots__ = ("entries", "by_method", "any_method", "allowed")

    def __init__(self) -> None:
        self.entries: list[_Entry] = []
        self.by_method: dict[str, tuple[_Entry, ...]] = {}
        self.any_method: tuple[_Entry, ...] = ()
        # None when some route accepts every method (the endpoint can never give a 405).
        self.allowed: Optional[frozenset[str]] = None

    def freeze(self) -> None:
        """Precompute the candidate list of every method named by a route (after adding)."""
        self.any_method = tuple(e for e in self.entries if not e.methods)
        listed = {m for e in self.entries for m in e.methods}
        for method in listed | ({"HEAD"} if "GET" in listed else set()):
            own = [e for e in self.entries if method in e.methods]
            if method == "HEAD":
                # HEAD is GET without a body: GET routes answer it when no HEAD route does.
                own += [e for e in self.entries if "GET" in e.methods and e not in own]
            self.by_method[method] = tuple(own) + self.any_method
        if not self.any_method:
            self.allowed = frozenset(self.by_method)


class _Node:
    """A segment-trie node; children are tried in the order of the fields below."""

    __slots__ = ("literal", "mixed", "param", "rest", "endpoint")

    def __init__(self) -> None:
        self.literal: dict[str, _Node] = {}
        self.mixed: list[tuple[str, re.Pattern[str], _Node]] = []
        self.param: Optional[_Node] = None
        self.rest: list[tuple[str, Optional[re.Pattern[str]], _Endpoint]] = []
        self.endpoint: Optional[_Endpoint] = None

    def child(self, segment: Segment) -> _Node:
        if segment.kind is SegmentKind.LITERAL:
            return self.literal.setdefault(segment.key, _Node())
        if segment.kind is SegmentKind.PARAM:
            if self.param is None:
                self.param = _Node()
            return self.param
        assert segment.regex is not None  # mixed segments always have one
        for key, _, node in self.mixed:
            if key == segment.key:
                return node
        node = _Node()
        self.mixed.append((segment.key, segment.regex, node))
        return node

    def rest_endpoint(self, segment: Segment) -> _Endpoint:
        for key, _, endpoint in self.rest:
            if key == segment.key:
                return endpoint
        endpoint = _Endpoint()
        entry = (segment.key, segment.regex, endpoint)
        if segment.regex is None:
            self.rest.append(entry)
        else:
            # A rest with text (``**.html``) is more specific than a bare ``**``: keep every
            # bare one (there is at most one) after the others.
            bare = [i for i, (_, regex, _) in enumerate(self.rest) if regex is None]
            self.rest.insert(bare[0] if bare else len(self.rest), entry)
        return endpoint

    def endpoints(self) -> list[_Endpoint]:
        """Every endpoint below this node, in the order a search prefers them."""
        found = [self.endpoint] if self.endpoint is not None else []
        children = list(self.literal.values()) + [node for _, _, node in self.mixed]
        if self.param is not None:
            children.append(self.param)
        for node in children:
            found += node.endpoints()
        found += [endpoint for _, _, endpoint in self.rest]
        return found


class _Search:
    """The state of one failed-so-far lookup: what to tell the client if nothing accepts."""

    __slots__ = ("method", "request", "path_found", "refused_by_narrowing", "allowed")

    def __init__(self, method: str, request: RoutingInput) -> None:
        self.method = method
        self.request = request
        self.path_found = False
        self.refused_by_narrowing = False
        self.allowed: set[str] = set()

    def accept(self, endpoint: _Endpoint) -> Optional[_Entry]:
        """The endpoint's first route that accepts the method and the expressions."""
        self.path_found = True
        candidates = endpoint.by_method.get(self.method, endpoint.any_method)
        for entry in candidates:
            if entry.narrowing is None or entry.narrowing.matches(self.request):
                return entry
        if candidates:
            self.refused_by_narrowing = True
        elif endpoint.allowed is not None:
            self.allowed |= endpoint.allowed
        return None

    def failure(self) -> HttpError:
        if self.path_found and not self.refused_by_narrowing and self.allowed:
            return MethodNotAllowed(sorted(self.allowed))
        return HttpError(404, "Not Found")


class DefaultRouter:
    """The built-in router: static dict, segment tries and regexps, compiled in ``__init__``.

    Raises ``ValueError`` naming the route when a path, a regexp or a narrowing expression
    is invalid. ``match`` expects the percent-decoded request path (``/a/b``) and does not
    decode captures again.
    """

    def __init__(self, routes: Sequence[Route]) -> None:
        self._routes = list(routes)
        self._static: dict[str, _Endpoint] = {}
        self._forward = _Node()
        self._reverse = _Node()
        self._regexps: list[tuple[re.Pattern[str], _Endpoint]] = []
        by_regexp: dict[str, _Endpoint] = {}
        # Keyed by id: several routes share an endpoint, which is frozen once.
        endpoints: dict[int, _Endpoint] = {}

        for route in self._routes:
            narrowing = compile_narrowing(route)
            if bool(route.path) == bool(route.regexp):
                raise ValueError(f"route {route.name}: give exactly one of path and regexp")
            if route.regexp:
                endpoint = by_regexp.get(route.regexp)
                if endpoint is None:
                    try:
                        regex = re.compile(route.regexp)
                    except re.error as e:
                        raise ValueError(f"route {route.name}: invalid regexp {route.regexp!r}: {e}") from e
                    endpoint = by_regexp[route.regexp] = _Endpoint()
                    self._regexps.append((regex, endpoint))
                endpoint.entries.append(_Entry(route, narrowing, ()))
            else:
                try:
                    pattern = compile_path(route.path)
                except ValueError as e:
                    raise ValueError(f"route {route.name}: {e}") from e
                endpoint = self._endpoint_for(pattern)
                endpoint.entries.append(_Entry(route, narrowing, pattern.names(reverse=pattern.rest_first)))
            endpoints[id(endpoint)] = endpoint

        for endpoint in endpoints.values():
            endpoint.freeze()
        self._table = self._ordered_routes()

    def _endpoint_for(self, pattern: PathPattern) -> _Endpoint:
        if pattern.static:
            return self._static.setdefault(pattern.key, _Endpoint())
        segments = pattern.segments
        node = self._forward
        if pattern.rest_first:
            node = self._reverse
            segments = tuple(reversed(segments))
        *head, last = segments
        for segment in head:
            node = node.child(segment)
        if last.kind is SegmentKind.REST:
            return node.rest_endpoint(last)
        node = node.child(last)
        if node.endpoint is None:
            node.endpoint = _Endpoint()
        return node.endpoint

    def _ordered_routes(self) -> list[Route]:
        endpoints = list(self._static.values()) + self._forward.endpoints() + self._reverse.endpoints()
        endpoints += [endpoint for _, endpoint in self._regexps]
        return [entry.route for endpoint in endpoints for entry in endpoint.entries]

    def table(self) -> list[Route]:
        """Every route, static first, then the tries in preference order, then regexps."""
        return list(self._table)

    def match(self, method: str, path: str, request: RoutingInput) -> RouteMatch:
        """The route for this request; ``HttpError(404)`` or ``MethodNotAllowed`` otherwise."""
        endpoint = self._static.get(path)
        if endpoint is not None:
            # The common case, inlined: no search state is made unless this fails.
            for entry in endpoint.by_method.get(method, endpoint.any_method):
                if entry.narrowing is None or entry.narrowing.matches(request):
                    return RouteMatch(entry.route, {})
        search = _Search(method, request)
        if endpoint is not None:
            search.accept(endpoint)  # only records why the static routes refused

        segments = split_path(path)
        values: list[str] = []
        found = _walk(self._forward, segments, 0, values, search, False)
        if found is None:
            segments.reverse()
            found = _walk(self._reverse, segments, 0, values, search, True)
        if found is not None:
            entry, captured = found
            return RouteMatch(entry.route, dict(zip(entry.names, captured, strict=False)))

        for regex, endpoint in self._regexps:
            # 1.x matched the expression against the path with and without its leading "/"
            # (so both "^/reg/(.+)$" and "^reg/(.+)$" work), with re.match semantics.
            m = regex.match(path) or (regex.match(path[1:]) if path.startswith("/") else None)
            if m is not None:
                accepted = search.accept(endpoint)
                if accepted is not None:
                    return RouteMatch(accepted.route, {}, tuple(m.groups(default="")))
        raise search.failure()


def _walk(
    node: _Node, segments: list[str], i: int, values: list[str], search: _Search, reverse: bool
) -> Optional[tuple[_Entry, list[str]]]:
    """Depth-first search of the trie from ``node`` at ``segments[i]``, best branch first.

    ``values`` collects captures on the way down and is restored on the way back up, so one
    list serves the whole search; the winner gets a copy.
    """
    if i == len(segments):
        if node.endpoint is not None:
            entry = search.accept(node.endpoint)
            if entry is not None:
                return entry, list(values)
        return None
    segment = segments[i]
    child = node.literal.get(segment)
    if child is not None:
        found = _walk(child, segments, i + 1, values, search, reverse)
        if found is not None:
            return found
    for _, regex, child in node.mixed:
        m = regex.fullmatch(segment)
        if m is not None:
            groups = m.groups()
            values.extend(groups)
            found = _walk(child, segments, i + 1, values, search, reverse)
            del values[len(values) - len(groups):]
            if found is not None:
                return found
    if node.param is not None and segment:
        values.append(segment)
        found = _walk(node.param, segments, i + 1, values, search, reverse)
        values.pop()
        if found is not None:
            return found
    if node.rest:
        remaining = segments[i:]
        if reverse:
            remaining.reverse()
        rest = "/".join(remaining)
        for _, rest_regex, endpoint in node.rest:
            if rest_regex is None:
                captured: Optional[tuple[str, ...]] = (rest,) if rest else None
            else:
                m = rest_regex.fullmatch(rest)
                captured = m.groups() if m is not None else None
            if captured is not None:
                entry = search.accept(endpoint)
                if entry is not None:
                    return entry, values + list(captured)
    return None
