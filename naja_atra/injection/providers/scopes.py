"""Scopes: where a provider's value lives, and the resolver that keeps it there.

**Scopes** (the ``scope`` of the ``Depends``, not of the provider: ``Depends(f)`` and
``Depends(f, scope="app")`` are two different values):

- ``"request"`` (default): made once per request, shared by every consumer in that request
  (the controller and other providers), kept in ``ctx.state``;
- ``"app"``: made once, lazily, on first use (one creation even under concurrent first
  requests, on threads or event loops), torn down when the application stops (the built-in
  ``naja_atra.providers`` plugin's ``naja_atra_lifespan``), last made first; kept in the
  application's :class:`~.app_scope.AppScope`. Its parameters can only be other ``Depends``
  on app-scoped or transient providers, or have defaults (which are then used as they
  are): nothing of a request (checked in :mod:`.graph`);
- ``"transient"``: made again for every consumer.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from typing_extensions import Literal

from ...http.errors import InjectionError
from ..params import Resolver
from .app_scope import MISSING, AppScope, app_scope_of
from .cleanups import keep_for_request
from .kinds import make_create

if TYPE_CHECKING:
    from ...app.application import Application
    from ...app.context import RequestContext

#: Where a provider's value lives: one per request, one per application, one per consumer.
Scope = Literal["request", "app", "transient"]
SCOPES: frozenset[str] = frozenset(("request", "app", "transient"))


class _Failed:
    """A request-scoped provider that raised ``InjectionError`` in this request: its errors
    are already on their way to the 400; a second consumer must not list them again."""


_FAILED = _Failed()


def scoped_resolver(app: Application, func: Callable[..., Any], name: str, kind: str,
                    args: list[tuple[str, Resolver]], is_async: bool, scope: str,
                    app_owned: bool) -> Resolver:
    """The resolver of ``func``'s value in ``scope``, from its arguments' resolvers.

    ``app_owned``: the value helps make an app-scoped one (or is one), so it is made from
    no request and its generator's cleanup waits for the application to stop rather than
    for the end of the request.
    """
    if app_owned:
        store = app_scope_of(app)
        assert store is not None
        create = make_create(func, name, kind, args, is_async, lambda ctx, e: store.keep(e), app_owned=True)
        if scope == "app":
            return _app_cached(store, create, func, is_async)
        return create
    create = make_create(func, name, kind, args, is_async, keep_for_request)
    if scope == "request":
        return _request_cached(create, f"naja_atra.providers.{id(func):x}", is_async)
    return create


def _cached(ctx: RequestContext, key: str) -> tuple[dict[str, Any], Any]:
    """The request's state dict and the value kept under ``key`` (``MISSING`` if none yet);
    a creation that already failed in this request fails again (its errors are reported once)."""
    state = ctx.state
    if state is None:
        state = ctx.state = {}
        return state, MISSING
    value = state.get(key, MISSING)
    if value is _FAILED:
        raise InjectionError([])
    return state, value


def _request_cached(create: Callable[[RequestContext], Any], key: str, is_async: bool) -> Resolver:
    """``create`` at most once per request: the value kept in ``ctx.state[key]``."""
    if not is_async:
        def resolve(ctx: RequestContext) -> Any:
            state, value = _cached(ctx, key)
            if value is not MISSING:
                return value
            try:
                value = create(ctx)
            except InjectionError:
                state[key] = _FAILED
                raise
            state[key] = value
            return value
        return resolve

    async def resolve_async(ctx: RequestContext) -> Any:
        state, value = _cached(ctx, key)
        if value is not MISSING:
            return value
        try:
            value = await create(ctx)
        except InjectionError:
            state[key] = _FAILED
            raise
        state[key] = value
        return value
    return resolve_async


def _app_cached(store: AppScope, create: Callable[[RequestContext], Any], key: Any, is_async: bool) -> Resolver:
    """``create`` once for the application; the fast path is one dictionary lookup."""
    values = store.values
    if not is_async:
        def resolve(ctx: RequestContext) -> Any:
            value = values.get(key, MISSING)
            if value is MISSING:
                value = store.get(key, create, ctx)
            return value
        return resolve

    async def resolve_async(ctx: RequestContext) -> Any:
        value = values.get(key, MISSING)
        if value is MISSING:
            value = await store.get_async(key, create, ctx)
        return value
    return resolve_async
