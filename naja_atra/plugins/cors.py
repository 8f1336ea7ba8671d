"""Cross-origin resource sharing: ``app.register(CORS(allow_origins=[...], ...))``.

A plugin an application switches on with its policy (nothing is allowed cross-origin until
it does). It does two things, as the Fetch standard describes them:

- **Preflights** (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) are
  answered before any method matching, for every path that has a route: ``204`` with
  ``Access-Control-Allow-Origin``, ``-Allow-Methods``, ``-Allow-Headers``, ``-Max-Age`` (and
  ``-Allow-Credentials``) when the origin, the method and every requested header are
  allowed; ``400`` naming what was refused otherwise (as Starlette answers). A path with no
  route stays a 404. Request filters apply to the preflight as to any route.
- **Every other response** to a request with an allowed ``Origin`` (a controller's, an
  error page, a 404, a streamed one before its head goes out) gets
  ``Access-Control-Allow-Origin`` (+ ``-Allow-Credentials``, ``-Expose-Headers``); one
  from a refused origin is served without them, so the browser keeps it from the page.
  ``Vary: Origin`` is added whenever the answer depends on the origin.

Origins are compared exactly (scheme, host and port, as the browser sends them), or by
``allow_origin_regex`` (matched whole). ``"*"`` allows every origin, method or header; with
``allow_credentials=True`` it is refused for origins (``ConfigurationError``): answering
every site's credentialed requests is what CORS exists to prevent, so list the origins.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable, Generator, Iterable, Optional, Sequence

from ..app.routes import Route, RouteMatch, Router, RoutingInput
from ..hooks.specs import hookimpl
from ..http.errors import ConfigurationError, HttpError, MethodNotAllowed
from ..http.request import Request
from ..http.response import Response

if TYPE_CHECKING:
    from ..app.application import Application

__all__ = ["CORS"]

_SAFELISTED_METHODS = ("GET", "HEAD", "POST")


def _names(values: Iterable[str], what: str) -> tuple[str, ...]:
    if isinstance(values, str):
        raise ConfigurationError(f"CORS {what} must be a list of strings, not the string {values!r}")
    items = tuple(values)
    if not all(isinstance(item, str) and item for item in items):
        raise ConfigurationError(f"CORS {what} must be non-empty strings: {items!r}")
    return items


class CORS:
    """The CORS policy of one application, as a plugin (see the module notes).

    ``allow_origins``: origins allowed to read responses (``"https://app.example"``), or
    ``["*"]``. ``allow_origin_regex``: a pattern origins may also match whole.
    ``allow_methods``: methods a preflight may ask for (default GET, HEAD, POST; ``["*"]``
    any). ``allow_headers``: request headers a preflight may ask for (``["*"]`` any; the
    CORS-safelisted ones are always allowed). ``allow_credentials``: let cookies and HTTP
    authentication through (never with ``"*"`` origins). ``expose_headers``: response
    headers the page may read. ``max_age``: seconds a browser may cache a preflight.
    """

    def __init__(self, allow_origins: Sequence[str] = (), *, allow_origin_regex: Optional[str] = None,
                 allow_methods: Sequence[str] = _SAFELISTED_METHODS, allow_headers: Sequence[str] = (),
                 allow_credentials: bool = False, expose_headers: Sequence[str] = (), max_age: int = 600) -> None:
        origins = _names(allow_origins, "allow_origins")
        self.any_origin = "*" in origins
        if self.any_origin and allow_credentials:
            raise ConfigurationError("CORS: allow_origins=['*'] with allow_credentials=True would let every site "
                                     "make credentialed requests; list the origins instead")
        if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0:
            raise ConfigurationError(f"CORS max_age must be whole seconds >= 0, not {max_age!r}")
        self.origins = frozenset(origin for origin in origins if origin != "*")
        self.origin_regex = re.compile(allow_origin_regex) if allow_origin_regex else None
        methods = tuple(method.upper() for method in _names(allow_methods, "allow_methods"))
        self.any_method = "*" in methods
        self.methods = ", ".join(methods)
        headers = _names(allow_headers, "allow_headers")
        self.any_header = "*" in headers
        self.headers = frozenset(header.lower() for header in headers)
        self.credentials = allow_credentials
        self.expose = ", ".join(_names(expose_headers, "expose_headers"))
        self.max_age = str(max_age)
        self.preflight_route = Route(handler=self.answer_preflight, path="/**", methods=("OPTIONS",),
                                     include_in_schema=False, extras={"cors_preflight": True})

    # -- the policy ---------------------------------------------------------------------
    def allows_origin(self, origin: str) -> bool:
        """Whether ``origin`` may read responses."""
        if self.any_origin or origin in self.origins:
            return True
        return self.origin_regex is not None and self.origin_regex.fullmatch(origin) is not None

    def _allow_origin_value(self, origin: str) -> str:
        return "*" if self.any_origin and not self.credentials else origin

    def _varies(self) -> bool:
        """Whether answers differ by ``Origin`` (so caches must key on it)."""
        return not (self.any_origin and not self.credentials)

    def refusal(self, request: Request) -> Optional[str]:
        """Why the preflight ``request`` is refused, or None."""
        origin = request.headers.get("Origin") or ""
        if not self.allows_origin(origin):
            return f"origin {origin!r}"
        method = (request.headers.get("Access-Control-Request-Method") or "").strip()
        if not self.any_method and method.upper() not in self.methods.split(", "):
            return f"method {method!r}"
        if not self.any_header:
            asked = request.headers.get("Access-Control-Request-Headers") or ""
            refused = [name.strip() for name in asked.split(",")
                       if name.strip() and name.strip().lower() not in self.headers
                       and name.strip().lower() not in _SAFELISTED_HEADERS]
            if refused:
                return f"headers {', '.join(refused)}"
        return None

    # -- answers ------------------------------------------------------------------------
    def answer_preflight(self, request: Request) -> Response:
        """The controller of the preflight route."""
        why = self.refusal(request)
        if why is not None:
            headers = {"Vary": "Origin"} if self._varies() else {}
            return Response(400, {**headers, "Content-Type": "text/plain; charset=utf-8"},
                            f"Disallowed CORS {why}")
        origin = request.headers.get("Origin") or ""
        headers = {
            "Access-Control-Allow-Origin": self._allow_origin_value(origin),
            "Access-Control-Allow-Methods": (request.headers.get("Access-Control-Request-Method") or "")
            if self.any_method else self.methods,
            "Access-Control-Max-Age": self.max_age,
        }
        asked = request.headers.get("Access-Control-Request-Headers") or ""
        if asked:
            headers["Access-Control-Allow-Headers"] = asked
        if self.credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        if self._varies():
            headers["Vary"] = "Origin"
        return Response(204, headers, None)

    def add_headers(self, request: Request, response: Response) -> None:
        """The response hook: CORS headers for an allowed origin (not on a preflight's own answer)."""
        origin = request.headers.get("Origin")
        if origin is None or "Access-Control-Allow-Origin" in response.headers:
            return
        if self._varies():
            response.add_header("Vary", "Origin")
        if not self.allows_origin(origin):
            return
        response.headers["Access-Control-Allow-Origin"] = self._allow_origin_value(origin)
        if self.credentials:
            response.headers["Access-Control-Allow-Credentials"] = "true"
        if self.expose:
            response.headers["Access-Control-Expose-Headers"] = self.expose

    # -- hooks --------------------------------------------------------------------------
    @hookimpl(wrapper=True)
    def naja_atra_make_router(self, app: Application,
                              routes: Sequence[Route]) -> Generator[Any, Any, Optional[Router]]:
        """Wrap the router: preflights of routed paths go to the preflight route."""
        router: Optional[Router] = yield
        return _PreflightRouter(router, self.preflight_route) if router is not None else None

    @hookimpl
    def naja_atra_response_hooks(self, app: Application) -> Sequence[Callable[[Request, Response], None]]:
        """CORS headers on every response."""
        return [self.add_headers]


#: Request headers a page may send without a preflight asking for them (Fetch standard).
_SAFELISTED_HEADERS = frozenset(("accept", "accept-language", "content-language", "content-type", "range"))


class _PreflightRouter:
    """Routes a CORS preflight of a routed path to the policy's answer, before method matching."""

    def __init__(self, inner: Router, route: Route) -> None:
        self.inner = inner
        self.route = route

    def match(self, method: str, path: str, request: RoutingInput) -> RouteMatch:
        headers = request.headers
        if method == "OPTIONS" and "Origin" in headers and "Access-Control-Request-Method" in headers:
            asked = headers["Access-Control-Request-Method"].strip().upper() or "GET"
            try:
                self.inner.match(asked, path, request)
            except MethodNotAllowed:
                pass  # the path is routed; the actual request will learn its 405
            except HttpError:
                raise
            return RouteMatch(self.route, {})
        return self.inner.match(method, path, request)

    def table(self) -> list[Route]:
        return self.inner.table() + [self.route]
