"""Compiling a route's controller into a plain call: instance, resolved arguments, result."""
from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Optional, Sequence

from ..http.errors import ConfigurationError
from ..injection.params import Param, Resolver, controller_params, is_async_resolver
from .routes import Route

if TYPE_CHECKING:
    from .context import RequestContext

SyncCall = Callable[["RequestContext"], Any]
AsyncCall = Callable[["RequestContext"], Awaitable[Any]]


class CompiledCall:
    """A route's controller with its resolvers chosen: ``sync(ctx)`` or ``await async_(ctx)``.

    ``is_async`` is True when the controller or any resolver is asynchronous; then only
    ``async_`` may be used.
    """

    __slots__ = ("route", "is_async", "streams_body", "sync", "async_")

    def __init__(self, route: Route, resolvers: Sequence[tuple[Param, Resolver]]) -> None:
        self.route = route
        func = route.handler
        make_instance = route.owner.instance if route.owner is not None else None
        names = tuple(p.name for p, _ in resolvers)
        funcs = tuple(r for _, r in resolvers)
        async_flags = tuple(is_async_resolver(r) for _, r in resolvers)
        controller_async = inspect.iscoroutinefunction(func)
        self.is_async = controller_async or any(async_flags)
        #: A resolver hands the controller the body as a stream (``RequestBodyReader``): the
        #: body is then not read before the controller runs.
        self.streams_body = any(getattr(r, "streams_body", False) for r in funcs)
        pairs = tuple(zip(names, funcs, strict=False))

        def call_sync(ctx: RequestContext) -> Any:
            kwargs = {name: resolve(ctx) for name, resolve in pairs}
            if make_instance is not None:
                ctx.controller = make_instance()
                return func(ctx.controller, **kwargs)
            return func(**kwargs)

        async def call_async(ctx: RequestContext) -> Any:
            kwargs = {}
            for name, resolve, is_async in zip(names, funcs, async_flags, strict=False):
                value = resolve(ctx)
                kwargs[name] = (await value) if is_async else value
            if make_instance is not None:
                ctx.controller = make_instance()
                result = func(ctx.controller, **kwargs)
            else:
                result = func(**kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result

        if not pairs and make_instance is None and not controller_async:
            self.sync: SyncCall = lambda ctx: func()
        else:
            self.sync = call_sync
        self.async_: AsyncCall = call_async


def compile_call(route: Route, choose: Callable[[Route, Param], Optional[Resolver]]) -> CompiledCall:
    """Inspect the controller once and pick a resolver for each of its parameters."""
    try:
        params = controller_params(route.handler, skip_first=route.owner is not None)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"Cannot inspect controller {route.name}: {exc}") from exc
    resolvers: list[tuple[Param, Resolver]] = []
    for param in params:
        resolver = choose(route, param)
        if resolver is None:
            raise ConfigurationError(
                f"Controller {route.name}: no way to resolve parameter {param.name!r} "
                f"(annotation {param.annotation!r}); give it a default or a supported type")
        resolvers.append((param, resolver))
    return CompiledCall(route, resolvers)
