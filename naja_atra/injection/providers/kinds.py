"""What a provider is (its name, kind and parameters), and the call that makes its value.

A **provider** is a function, an ``async`` function, a generator or an async generator
(anything after ``yield`` is its cleanup, see :mod:`.cleanups`), or a class (its
``__init__`` parameters are resolved). A callable object is inspected through its
``__call__``. How its parameters are resolved is decided in :mod:`.graph`.
"""
from __future__ import annotations

import functools
import inspect
import sys
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from ...http.errors import ConfigurationError
from ..params import Param, Resolver, controller_params, is_async_resolver
from .cleanups import Exit

if TYPE_CHECKING:
    from ...app.context import RequestContext

FUNCTION = "function"
COROUTINE = "async function"
GENERATOR = "generator"
ASYNC_GENERATOR = "async generator"


def provider_name(func: Any) -> str:
    """A provider's name, for messages: its ``__name__``, else ``partial(...)`` or its repr."""
    name = getattr(func, "__name__", None)
    if name is None and isinstance(func, functools.partial):
        return f"partial({provider_name(func.func)})"
    return str(name) if name is not None else repr(func)


def _call_target(provider: Callable[..., Any]) -> Callable[..., Any]:
    """What to inspect: a callable object's ``__call__`` (a function, class or partial as is)."""
    if inspect.isroutine(provider) or inspect.isclass(provider) or isinstance(provider, functools.partial):
        return provider
    return getattr(provider, "__call__", provider)  # noqa: B004 - the bound method, not a callable() test


def provider_kind(provider: Callable[..., Any]) -> str:
    """``"function"``, ``"async function"``, ``"generator"`` or ``"async generator"``."""
    target = _call_target(provider)
    if inspect.isasyncgenfunction(target):
        return ASYNC_GENERATOR
    if inspect.isgeneratorfunction(target):
        return GENERATOR
    if inspect.iscoroutinefunction(target):
        return COROUTINE
    return FUNCTION


def provider_params(provider: Callable[..., Any], where: str) -> list[Param]:
    """The parameters to resolve for ``provider`` (a class's ``__init__`` ones, ``self``
    skipped); ``where`` names the controller in the ``ConfigurationError``."""
    target = _call_target(provider)
    try:
        if inspect.isclass(target):
            init = getattr(target, "__init__", object.__init__)
            return [] if init is object.__init__ else controller_params(init, skip_first=True)
        return controller_params(target)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{where}: cannot inspect provider {provider_name(provider)}: {exc}") from exc


def _first_untracked(agen: Any) -> Awaitable[Any]:
    """``agen.__anext__()`` hidden from the running event loop's ``firstiter`` hook.

    An event loop remembers every async generator first iterated in it and closes those
    left open when it shuts down (``loop.shutdown_asyncgens``): the asyncio server's loop
    does so *before* the application's lifespan is left, which would close an app-scoped
    generator with ``GeneratorExit`` instead of resuming it after its ``yield``. The hook
    runs when ``__anext__`` is called (not when awaited), so it is off for that call only.
    """
    hooks = sys.get_asyncgen_hooks()
    sys.set_asyncgen_hooks(firstiter=None, finalizer=hooks.finalizer)
    try:
        first: Awaitable[Any] = agen.__anext__()
    finally:
        sys.set_asyncgen_hooks(firstiter=hooks.firstiter, finalizer=hooks.finalizer)
    return first


def make_create(func: Callable[..., Any], name: str, kind: str,
                 args: list[tuple[str, Resolver]], is_async: bool,
                 keep: Callable[[RequestContext, Exit], None], app_owned: bool = False,
                 ) -> Callable[[RequestContext], Any]:
    """The function that calls the provider once with its resolved arguments (and keeps a
    generator's cleanup with ``keep``; ``app_owned``: until the application stops)."""
    pairs = tuple(args)

    def no_value() -> RuntimeError:
        return RuntimeError(f"provider {name} did not yield a value")

    def first_of(gen: Any, ctx: RequestContext) -> Any:
        """A (plain) generator's value, its cleanup kept."""
        try:
            value = next(gen)
        except StopIteration:
            raise no_value() from None
        keep(ctx, Exit(gen, name, False))
        return value

    if not is_async:
        if kind not in (GENERATOR, ASYNC_GENERATOR):
            if not pairs:
                return lambda ctx: func()

            def call(ctx: RequestContext) -> Any:
                return func(**{arg: resolve(ctx) for arg, resolve in pairs})
            return call

        def call_generator(ctx: RequestContext) -> Any:
            return first_of(func(**{arg: resolve(ctx) for arg, resolve in pairs}), ctx)
        return call_generator

    flags = tuple(is_async_resolver(resolve) for _, resolve in pairs)

    async def call_async(ctx: RequestContext) -> Any:
        kwargs = {}
        for (arg, resolve), awaited in zip(pairs, flags, strict=False):
            value = resolve(ctx)
            kwargs[arg] = (await value) if awaited else value
        if kind == FUNCTION:
            return func(**kwargs)
        if kind == COROUTINE:
            return await func(**kwargs)
        if kind == GENERATOR:
            return first_of(func(**kwargs), ctx)
        agen = func(**kwargs)
        try:
            value = await (_first_untracked(agen) if app_owned else agen.__anext__())
        except StopAsyncIteration:
            raise no_value() from None
        keep(ctx, Exit(agen, name, True))
        return value
    return call_async
