"""Built-in plugin ``naja_atra.providers``: ``Depends(provider, scope=...)`` parameters.

- ``naja_atra_make_resolver`` claims the parameters that carry a ``Depends`` (as default or
  in ``Annotated``) and returns None for every other one. It is *not* ``trylast``: the
  ``Depends`` marker must win over the built-in kinds, which would otherwise read a
  parameter annotated ``Database`` (a dataclass, say) from the JSON body. The provider
  graph is compiled there, once per route (``naja_atra.injection.providers``); the
  provider's own parameters are resolved by asking the application's hooks again, so every
  plugin's argument kinds work inside providers.
- ``naja_atra_lifespan`` tears the app-scoped values down when the application stops
  (their generators finished, last made first). It is ``tryfirst`` so that it is entered
  last and left *first*: app-scoped values may use what other plugins' lifespans opened
  (a connection pool), which must still be open while they are closed.

A synchronous ``Depends`` resolver whose graph may report a bad argument joins the route's
argument plan (``naja_atra.resolvers``), so one 400 lists the bad arguments of the
controller and of its providers together.
"""
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, ContextManager, Iterator, Optional

from ..hooks.specs import hookimpl
from ..injection.params import is_async_resolver
from ..injection.providers import app_scope_of, compile_dependency, dependency_of
from .resolvers import PLAN_KEY, plan_of

if TYPE_CHECKING:
    from ..app.application import Application
    from ..app.routes import Route
    from ..injection.params import Param, Resolver

#: ``route.extras`` entries that belong to one parameter list, not shared with providers.
_OWN_KEYS = frozenset((PLAN_KEY,))


@hookimpl
def naja_atra_make_resolver(app: Application, route: Route, param: Param) -> Optional[Resolver]:
    """The resolver of a ``Depends`` parameter (None for any other parameter)."""
    dep = dependency_of(param)
    if dep is None:
        return None
    resolver = compile_dependency(app, route, param, dep, _OWN_KEYS)
    if is_async_resolver(resolver) or getattr(resolver, "infallible", False):
        # As in naja_atra.resolvers: async resolvers stay out of the (synchronous) plan;
        # one that cannot report a bad argument does not need the wrapper.
        return resolver
    return plan_of(route).add(param.name, resolver)


@contextlib.contextmanager
def _app_scope_lifespan(app: Application) -> Iterator[None]:
    try:
        yield
    finally:
        scope = app_scope_of(app, create=False)
        if scope is not None:
            scope.close()


@hookimpl(tryfirst=True)
def naja_atra_lifespan(app: Application) -> Optional[ContextManager[Any]]:
    """At stop: finish the app-scoped generator providers, last made first."""
    return _app_scope_lifespan(app)
