"""Built-in plugin ``naja_atra.openapi``: the OpenAPI document at ``app.openapi_url`` and the
docs page at ``app.docs_url``.

Like ``naja_atra.static`` it wraps whichever router is made: a GET or HEAD for one of its
few exact paths (the document, the page, the page's stylesheet and script) is matched to a
route of its own, so request filters apply to them as to any route (an authentication
filter on ``/**`` protects the docs too); every other request goes to the wrapped router.
Its routes have ``include_in_schema=False``. Nothing is served while ``openapi_url`` is None
(the default), and blocking the plugin (``app.plugin_manager.set_blocked("naja_atra.openapi")``)
switches serving off.

The document is ``app.openapi()`` rendered by the application's JSON codec, made on the
first request for it after each build of the application and kept until the next build
(a registration after a build rebuilds, see ``Application._changed``). Every body is sent
with a weak ``ETag`` and answers ``If-None-Match`` with a 304.

``ConfigurationError`` at build: ``docs_url`` without ``openapi_url``, a URL that is not a
plain path (see :func:`naja_atra.openapi.docs_page.check_url`), two of them the same, or a
GET route of the application at one of them.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Generator, Optional, Sequence

from ..app.routes import WEBSOCKET_METHOD, Route, RouteMatch, Router, RoutingInput
from ..hooks.specs import hookimpl
from ..http.errors import ConfigurationError, HttpError, MethodNotAllowed
from ..http.json_codec import DEFAULT_JSON_CODEC
from ..http.request import Request
from ..http.response import Response

if TYPE_CHECKING:
    from ..app.application import Application
    from ..openapi.docs_page import Served

_METHODS = ("GET", "HEAD")


def _respond(request: Request, served: Served) -> Response:
    """``served`` as a response, or a 304 when the client holds it already."""
    from ..openapi.docs_page import etag_matches

    headers = {"ETag": served.etag, "Cache-Control": served.cache_control, "X-Content-Type-Options": "nosniff"}
    headers.update(served.headers)
    if etag_matches(request.headers.get("If-None-Match"), served.etag):
        return Response(304, headers, None)
    headers["Content-Type"] = served.content_type
    return Response(200, headers, served.body)


class FileEndpoint:
    """The controller of one of the docs page's paths: a body fixed at build."""

    def __init__(self, served: Served) -> None:
        self.served = served

    def serve(self, request: Request) -> Response:
        """The page (or its file), or a 304."""
        return _respond(request, self.served)


class DocumentEndpoint:
    """The controller of ``openapi_url``: ``app.openapi()``, rendered once per build."""

    def __init__(self, app: Application) -> None:
        self._app = app
        self._served: Optional[Served] = None
        # Concurrent first requests wait for one document instead of each building it.
        self._lock = threading.Lock()

    def served(self) -> Served:
        """The rendered document, made on first use (a failure is retried by the next request)."""
        served = self._served
        if served is not None:
            return served
        from ..openapi.docs_page import Served, weak_etag

        with self._lock:
            served = self._served
            if served is None:
                app = self._app
                codec = app.hooks.json_codec(app) or DEFAULT_JSON_CODEC
                text = codec.dumps(app.openapi())
                body = text.encode("utf-8") if isinstance(text, str) else bytes(text)
                served = self._served = Served(body, "application/json", weak_etag(body), "no-cache")
            return served

    def serve(self, request: Request) -> Response:
        """The document, or a 304."""
        return _respond(request, self.served())


class OpenApiRouter:
    """A router that takes the document's and the docs page's paths (GET and HEAD) and
    passes every other request to ``inner``."""

    def __init__(self, inner: Router, app: Application, openapi_url: str, docs_url: Optional[str]) -> None:
        from ..openapi.docs_page import check_url

        self.inner = inner
        self.routes: dict[str, Route] = {}
        check_url("openapi_url", openapi_url)
        self._add(openapi_url, DocumentEndpoint(app).serve, "naja_atra.openapi")
        if docs_url is not None:
            from ..openapi.docs_page import DocsPage

            if docs_url == openapi_url:
                raise ConfigurationError(f"docs_url and openapi_url are the same path ({docs_url!r})")
            page = DocsPage(docs_url, openapi_url, app.title)
            for path, served in page.files.items():
                self._add(path, FileEndpoint(served).serve,
                          "naja_atra.docs" if path == docs_url else "naja_atra.docs_file")
        self._check_clashes(inner.table())

    def _add(self, path: str, handler: Any, endpoint: str) -> None:
        self.routes[path] = Route(handler=handler, path=path, methods=_METHODS, endpoint=endpoint,
                                  include_in_schema=False, extras={"openapi": endpoint})

    def _check_clashes(self, table: Sequence[Route]) -> None:
        """A GET route of the application at one of our paths would never be reached: say so."""
        for route in table:
            if route.regexp or route.path not in self.routes:
                continue
            if not route.methods or any(method in _METHODS for method in route.methods):
                raise ConfigurationError(
                    f"{route.path!r} is served by naja_atra.openapi (openapi_url/docs_url) and is also the "
                    f"path of the route {route.describe().strip()}")

    def match(self, method: str, path: str, request: RoutingInput) -> RouteMatch:
        """Our route for a GET/HEAD of one of our paths; else the inner router's answer
        (a 405 naming GET and HEAD when the inner router has nothing at our path)."""
        route = self.routes.get(path)
        if route is None or method == WEBSOCKET_METHOD:
            return self.inner.match(method, path, request)
        if method in _METHODS:
            return RouteMatch(route, {})
        try:
            return self.inner.match(method, path, request)
        except MethodNotAllowed as error:
            raise MethodNotAllowed(sorted(set(error.allowed) | set(_METHODS))) from None
        except HttpError as error:
            if error.code != 404:
                raise
            raise MethodNotAllowed(_METHODS) from None

    def table(self) -> list[Route]:
        """Our routes (tried first), then the inner router's."""
        return list(self.routes.values()) + self.inner.table()


@hookimpl(wrapper=True)
def naja_atra_make_router(app: Application, routes: Sequence[Route]) -> Generator[Any, Any, Optional[Router]]:
    """Wrap the router when the application has an ``openapi_url``."""
    router: Optional[Router] = yield
    openapi_url: Optional[str] = getattr(app, "openapi_url", None)
    docs_url: Optional[str] = getattr(app, "docs_url", None)
    if router is None:
        return router
    if openapi_url is None:
        if docs_url is not None:
            raise ConfigurationError(
                f"docs_url={docs_url!r} needs openapi_url: the page loads the document from there "
                f"(Application(openapi_url='/openapi.json', docs_url={docs_url!r}))")
        return router
    return OpenApiRouter(router, app, openapi_url, docs_url)
