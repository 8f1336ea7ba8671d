"""Built-in plugin ``naja_atra.options``: ``OPTIONS`` answered for every routed path.

It wraps whichever router is made. An ``OPTIONS`` request for a path whose routes do not
take ``OPTIONS`` (the router answers 405) is matched to a route of its own that answers
``204`` with ``Allow``: the path's methods, plus ``HEAD`` where ``GET`` is, plus ``OPTIONS``.
A route of the application for ``OPTIONS`` at that path (or for every method) is matched
first, so it wins. Filters apply to the answer as to any route. A path with no route stays
a 404, and ``OPTIONS *`` too (it names no resource of the application).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generator, Optional, Sequence

from ..app.routes import WEBSOCKET_METHOD, Route, RouteMatch, Router, RoutingInput
from ..hooks.specs import hookimpl
from ..http.errors import MethodNotAllowed
from ..http.request import Request
from ..http.response import Response

if TYPE_CHECKING:
    from ..app.application import Application

#: Where the matched path's ``Allow`` value reaches the answering route (``request.path_values``).
ALLOW_KEY = "naja_atra.allow"


def answer_options(request: Request) -> Response:
    """``204`` with the path's methods in ``Allow``."""
    return Response(204, {"Allow": request.path_values[ALLOW_KEY]}, None)


def allow_header(allowed: Sequence[str]) -> str:
    """The ``Allow`` value for a path whose routes take ``allowed`` (WebSocket left out)."""
    methods = [method for method in allowed if method != WEBSOCKET_METHOD]
    if "GET" in methods and "HEAD" not in methods:
        methods.append("HEAD")
    if "OPTIONS" not in methods:
        methods.append("OPTIONS")
    return ", ".join(methods)


class OptionsRouter:
    """A router that answers ``OPTIONS`` for the paths the wrapped router knows."""

    def __init__(self, inner: Router) -> None:
        self.inner = inner
        self.route = Route(handler=answer_options, path="/**", methods=("OPTIONS",), include_in_schema=False,
                           extras={"options": True})

    def match(self, method: str, path: str, request: RoutingInput) -> RouteMatch:
        """The wrapped router's answer; for an ``OPTIONS`` it refuses with 405, the ``Allow`` route."""
        try:
            return self.inner.match(method, path, request)
        except MethodNotAllowed as error:
            if method != "OPTIONS" or error.allowed == (WEBSOCKET_METHOD,):
                raise
            return RouteMatch(self.route, {ALLOW_KEY: allow_header(error.allowed)})

    def table(self) -> list[Route]:
        """The wrapped routes, then the ``OPTIONS`` route."""
        return self.inner.table() + [self.route]


@hookimpl(wrapper=True)
def naja_atra_make_router(app: Application, routes: Sequence[Route]) -> Generator[Any, Any, Optional[Router]]:
    """Wrap the router (whichever plugin made it)."""
    router: Optional[Router] = yield
    return OptionsRouter(router) if router is not None else None
