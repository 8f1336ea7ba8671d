"""Built-in plugin ``naja_atra.static``: files of the ``resources`` mappings.

It wraps whichever router is made: a GET or HEAD that no route takes is looked up in the
mappings, and a found file is served through a route of its own (so filters apply).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generator, Optional, Sequence

from ..app.routes import Route, RouteMatch, Router, RoutingInput
from ..hooks.specs import hookimpl
from ..http.errors import HttpError, MethodNotAllowed
from ..http.file_response import guess_type
from ..http.request import Request
from ..http.results import StaticFile
from ..http.static_files import StaticMapping

if TYPE_CHECKING:
    from ..app.application import Application

_FILE_KEY = "file"


def serve_static(request: Request) -> StaticFile:
    """The controller of the static route: the file the router found."""
    path = request.path_values[_FILE_KEY]
    return StaticFile(path, guess_type(path))


class StaticRouter:
    """A router that falls back to the static mappings for unrouted GET and HEAD requests."""

    def __init__(self, inner: Router, mapping: StaticMapping) -> None:
        self.inner = inner
        self.mapping = mapping
        self.route = Route(handler=serve_static, path="/**", methods=("GET", "HEAD"),
                           extras={"static": True})

    def match(self, method: str, path: str, request: RoutingInput) -> RouteMatch:
        """The inner router's answer, else a static file for GET/HEAD."""
        try:
            return self.inner.match(method, path, request)
        except MethodNotAllowed:
            raise
        except HttpError as error:
            if error.code != 404 or method not in ("GET", "HEAD"):
                raise
            found = self.mapping.resolve(path)
            if found is None:
                raise
            return RouteMatch(self.route, {_FILE_KEY: found})

    def table(self) -> list[Route]:
        """The inner routes, then the static route."""
        return self.inner.table() + [self.route]


@hookimpl(wrapper=True)
def naja_atra_make_router(app: Application, routes: Sequence[Route]) -> Generator[Any, Any, Optional[Router]]:
    """Wrap the router when the application has ``resources``."""
    router: Optional[Router] = yield
    if router is None or not app.resources:
        return router
    return StaticRouter(router, StaticMapping(app.resources))
