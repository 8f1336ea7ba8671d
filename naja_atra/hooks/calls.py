"""A typed face over ``plugin_manager.hook``, which pluggy leaves untyped."""
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


class Hooks:
    """Calls each hook of ``hookspecs`` with its declared types."""

    __slots__ = ("_hook",)

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self._hook: Any = pm.hook

    def configure(self, app: Application) -> None:
        """Historic: runs for present plugins now and for plugins registered later."""
        self._hook.naja_atra_configure.call_historic(kwargs={"app": app})

    def route_added(self, app: Application, route: Route) -> None:
        self._hook.naja_atra_route_added(app=app, route=route)

    def make_router(self, app: Application, routes: Sequence[Route]) -> Optional[Router]:
        result: Optional[Router] = self._hook.naja_atra_make_router(app=app, routes=routes)
        return result

    def make_resolver(self, app: Application, route: Route, param: Param) -> Optional[Resolver]:
        result: Optional[Resolver] = self._hook.naja_atra_make_resolver(app=app, route=route, param=param)
        return result

    def request_filters(self, app: Application) -> list[FilterSpec]:
        """All plugins' filters; built-in (trylast) ones come last in pluggy's order, so the
        result is reversed to keep registration order: the app's own filters first."""
        results: list[Sequence[FilterSpec]] = self._hook.naja_atra_request_filters(app=app)
        return [spec for group in reversed(results) if group for spec in group]

    def wrap_handler(self, app: Application, route: Route) -> list[Any]:
        results: list[Any] = self._hook.naja_atra_wrap_handler(app=app, route=route)
        return [w for w in results if w is not None]

    def response_converters(self, app: Application) -> list[tuple[type, Converter]]:
        """Built-in pairs first, so that plugins' pairs for the same type override them."""
        results: list[Sequence[tuple[type, Converter]]] = self._hook.naja_atra_response_converters(app=app)
        return [pair for group in reversed(results) if group for pair in group]

    def make_session_factory(self, app: Application) -> Optional[SessionFactory]:
        result: Optional[SessionFactory] = self._hook.naja_atra_make_session_factory(app=app)
        return result

    def handle_error(self, ctx: RequestContext, error: HttpError) -> Optional[Response]:
        result: Optional[Response] = self._hook.naja_atra_handle_error(app=ctx.app, ctx=ctx, error=error)
        return result

    def lifespan(self, app: Application) -> list[ContextManager[Any]]:
        results: list[Optional[ContextManager[Any]]] = self._hook.naja_atra_lifespan(app=app)
        return [cm for cm in reversed(results) if cm is not None]

    def make_server(self, app: Application, config: ServerConfig) -> Optional[Server]:
        result: Optional[Server] = self._hook.naja_atra_make_server(app=app, config=config)
        return result

    def add_cli_options(self, parser: argparse.ArgumentParser) -> None:
        self._hook.naja_atra_add_cli_options(parser=parser)

    def json_codec(self, app: Application) -> Optional[JsonCodec]:
        result: Optional[JsonCodec] = self._hook.naja_atra_json_codec(app=app)
        return result

    def openapi(self, app: Application, document: dict[str, Any]) -> dict[str, Any]:
        """Each plugin in turn may change the document or replace it."""
        for impl in reversed(self._hook.naja_atra_openapi.get_hookimpls()):  # pluggy's call order
            args = {"app": app, "document": document}
            replaced = impl.function(*[args[name] for name in impl.argnames])
            if replaced is not None:
                document = replaced
        return document

    def response_hooks(self, app: Application) -> list[Callable[[Request, Response], None]]:
        """Every plugin's response hooks, in registration order."""
        results: list[Optional[Sequence[Callable[[Request, Response], None]]]] = (
            self._hook.naja_atra_response_hooks(app=app))
        return [hook for group in reversed(results) if group for hook in group]
