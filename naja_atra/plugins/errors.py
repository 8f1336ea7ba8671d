"""Built-in plugin ``naja_atra.errors``: ``@error_message`` pages and the default page.

An exception that is not an ``HttpError`` becomes a ``500 Internal Server Error`` (the
exception chained as its ``__cause__``). An application's page for it receives the
exception's text as ``explain``, as naja-atra 1.2.2 passed it; the default page never shows
it, so that internals (paths, queries, secrets in messages) do not reach clients unless the
application chooses to show them.

An error of a route in a route group may be answered by the group's pages: the most
specific page wins (the exact code, then ``"40x"``, then ``"4xx"``, then the catch-all),
and among equally specific ones the nearest group's, then the application's. An error
with no route (404, 405) gets the application's pages.
"""
from __future__ import annotations

import html
import inspect
import json
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

from ..hooks.specs import hookimpl
from ..http.errors import HttpError
from ..http.response import Response
from ..http.status import reason_phrase

if TYPE_CHECKING:
    from ..app.application import Application
    from ..app.context import RequestContext

Pages = dict[str, Callable[..., Any]]


def page_for(pages: Pages, code: int) -> Optional[Callable[..., Any]]:
    """The registered page for ``code``: exact ("404"), then range ("40x"), then catch-all."""
    return scoped_page_for((pages,), code)


def scoped_page_for(levels: Sequence[Pages], code: int) -> Optional[Callable[..., Any]]:
    """The page for ``code`` among ``levels`` (nearest first): the most specific key wins,
    and among pages of the same key the nearest level's."""
    text = str(code)
    for key in (text, text[:2] + "x", text[:1] + "xx", ""):
        for pages in levels:
            page = pages.get(key)
            if page is not None:
                return page
    return None


def error_page(app: Application, ctx: RequestContext, code: int) -> Optional[Callable[..., Any]]:
    """The error page for ``code`` of this request: its route's groups' pages (innermost
    first), then the application's (see the module notes)."""
    levels: list[Pages] = [app.registry.error_pages]
    route = ctx.route
    if route is not None and route.inclusions:
        levels[:0] = [inclusion.group.registry.error_pages for inclusion in reversed(route.inclusions)]
    return scoped_page_for(levels, code)


def page_explain(error: HttpError) -> str:
    """The ``explain`` an application's error page receives: the error's own, or, for a
    500 made from an exception (its ``__cause__``) without one, the exception's text,
    HTML-escaped as naja-atra 1.x did: it may carry request input, and pages commonly put
    ``explain`` into HTML."""
    if error.explain or error.code != 500:
        return error.explain
    cause = error.__cause__
    if cause is None or isinstance(cause, HttpError):
        return error.explain
    return html.escape(str(cause), quote=False)


def _call_page(page: Callable[..., Any], error: HttpError, ctx: RequestContext) -> Any:
    values = {"code": error.code, "status_code": error.code, "message": error.message,
              "explain": page_explain(error), "error": error, "request": ctx.request}
    params = inspect.signature(page).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return page(**values)
    return page(**{name: values[name] for name in params if name in values})


def default_page(error: HttpError, ctx: RequestContext) -> Response:
    """A small HTML page, or JSON when the client asks for JSON rather than HTML (with the
    error's own ``explain`` only: never the text of an exception behind a 500)."""
    message = error.message or reason_phrase(error.code)
    accept = ctx.request.headers.get("Accept") or ""
    if "json" in accept and "html" not in accept:
        body = json.dumps({"code": error.code, "message": message, "explain": error.explain})
        return Response(error.code, {"Content-Type": "application/json; charset=utf-8"}, body)
    explain = f"<p>{html.escape(error.explain)}</p>" if error.explain else ""
    page = (f"<!DOCTYPE html><html><head><title>{error.code} {html.escape(message)}</title></head>"
            f"<body><h1>{error.code} {html.escape(message)}</h1>{explain}</body></html>")
    return Response(error.code, {"Content-Type": "text/html; charset=utf-8"}, page)


@hookimpl(trylast=True)
def naja_atra_handle_error(app: Application, ctx: RequestContext, error: HttpError) -> Optional[Response]:
    """Render the error page for the code (the route's groups', then the application's),
    else the default page."""
    page = error_page(app, ctx, error.code)
    if page is None:
        return default_page(error, ctx)
    ctx.response.status_code = error.code
    result = _call_page(page, error, ctx)
    app.dispatcher.renderer.apply(result, ctx)
    return ctx.response
