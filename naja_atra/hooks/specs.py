"""The plugin contract: every hook a plugin may implement.

Hooks run when an application is built (or started), never per request, except
``naja_atra_handle_error`` which runs only when a request fails. Each returns objects
that the request path then calls directly. Built-in behaviour is implemented by the
plugins in ``naja_atra.plugins``, all ``trylast`` so that any other implementation wins.
"""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Optional, Sequence

import pluggy

if TYPE_CHECKING:
    from ..app.application import Application
    from ..app.context import RequestContext
    from ..app.render import Converter
    from ..app.routes import FilterSpec, Route, Router
    from ..http.errors import HttpError
    from ..http.json_codec import JsonCodec
    from ..http.request import Request
    from ..http.response import Response
    from ..injection.params import Param, Resolver
    from ..servers.common import Server
    from ..servers.config import ServerConfig
    from ..sessions import SessionFactory

__all__ = [
    "PROJECT",
    "hookspec",
    "hookimpl",
    "naja_atra_addhooks",
    "naja_atra_configure",
    "naja_atra_route_added",
    "naja_atra_make_router",
    "naja_atra_make_resolver",
    "naja_atra_request_filters",
    "naja_atra_wrap_handler",
    "naja_atra_response_converters",
    "naja_atra_make_session_factory",
    "naja_atra_handle_error",
    "naja_atra_lifespan",
    "naja_atra_make_server",
    "naja_atra_add_cli_options",
    "naja_atra_json_codec",
    "naja_atra_openapi",
    "naja_atra_response_hooks",
]

PROJECT = "naja_atra"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec(historic=True)
def naja_atra_addhooks(pluginmanager: pluggy.PluginManager) -> None:
    """Called when a plugin registers, so that it may add hookspecs of its own
    (``pluginmanager.add_hookspecs(module)``)."""


@hookspec(historic=True)
def naja_atra_configure(app: Application) -> None:
    """Called once per application, at its first build: register routes, filters,
    error pages or WebSocket handlers through the application's own API."""


@hookspec
def naja_atra_route_added(app: Application, route: Route) -> None:
    """Called for every route at build time: observe, validate or annotate it
    (``route.extras``). Raising here fails the build with the route named."""


@hookspec(firstresult=True)
def naja_atra_make_router(app: Application, routes: Sequence[Route]) -> Optional[Router]:
    """At build: return the object that matches a request to one of ``routes``
    (see ``naja_atra.routes.Router``). The first non-None result is used."""


@hookspec(firstresult=True)
def naja_atra_make_resolver(app: Application, route: Route, param: Param) -> Optional[Resolver]:
    """At build, once per controller parameter: return a ``Resolver`` that produces the
    argument's value (or an awaitable of it, with ``Resolver.is_async`` set), or None to
    let the next plugin decide."""


@hookspec
def naja_atra_request_filters(app: Application) -> Optional[Sequence[FilterSpec]]:
    """At build: filters to add to the application's own. Each is matched against the
    routes once; a filter is called as ``func(ctx)`` and continues with ``ctx.do_chain()``."""


@hookspec
def naja_atra_wrap_handler(app: Application, route: Route) -> Optional[Any]:
    """At build, per route: return a decorator ``wrap(call) -> call`` to put around the
    route's controller call (``call(ctx)`` returns the controller's result), or None."""


@hookspec
def naja_atra_response_converters(app: Application) -> Optional[Sequence[tuple[type, Converter]]]:
    """At build: ``(type, converter)`` pairs; ``converter(value, ctx)`` applies a
    controller's return value of that type (or a subclass) to ``ctx.response``. Later
    plugins' pairs override the built-in ones for the same type."""


@hookspec(firstresult=True)
def naja_atra_make_session_factory(app: Application) -> Optional[SessionFactory]:
    """At build: the ``SessionFactory`` that stores sessions (the first non-None wins).
    The built-in one returns the factory set with ``set_session_factory`` or a local
    in-memory one."""


@hookspec(firstresult=True)
def naja_atra_handle_error(app: Application, ctx: RequestContext, error: HttpError) -> Optional[Response]:
    """Per failed request: return a ``Response`` for ``error`` (an ``HttpError``; other
    exceptions arrive as a 500 ``HttpError`` whose ``__cause__`` is the original), or None
    to let the next plugin answer. The built-in plugin renders ``error_message`` pages."""


@hookspec
def naja_atra_lifespan(app: Application) -> Optional[ContextManager[Any]]:
    """At start: a context manager entered before the server accepts, exited (in reverse
    order) after it stops. Return None for nothing."""


@hookspec(firstresult=True)
def naja_atra_make_server(app: Application, config: ServerConfig) -> Optional[Server]:
    """At start: the server driver for ``config`` (the built-in plugin picks the threading
    or the asyncio driver from ``config.prefer_coroutine``)."""


@hookspec
def naja_atra_add_cli_options(parser: argparse.ArgumentParser) -> None:
    """When ``python -m naja_atra`` starts: add command-line options."""


@hookspec(firstresult=True)
def naja_atra_json_codec(app: Application) -> Optional[JsonCodec]:
    """At build: the ``JsonCodec`` that renders JSON results and reads JSON bodies (the
    first non-None wins; the built-in one is the standard library's ``json`` with
    ``datetime``, ``date``, ``time``, ``UUID``, ``Decimal``, ``Enum`` and dataclasses)."""


@hookspec
def naja_atra_openapi(app: Application, document: dict[str, Any]) -> Optional[dict[str, Any]]:
    """When ``app.openapi()`` builds the OpenAPI document: change ``document`` in place and
    return None, or return a replacement that the next plugin receives."""


@hookspec
def naja_atra_response_hooks(app: Application) -> Optional[Sequence[Callable[[Request, Response], None]]]:
    """At build: callables ``hook(request, response)`` run on every response of the
    application just before it is sent: a controller's, an error page, a 404 or 405, and a
    streamed response before its head goes out. They may add or change headers (CORS does).
    Applications whose plugins return none pay nothing per request."""
