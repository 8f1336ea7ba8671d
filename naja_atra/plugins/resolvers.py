"""Built-in plugin ``naja_atra.resolvers``: the argument kinds of naja-atra 1.x, typed
parameters, model bindings, and the JSON answer of a request with bad arguments.

Per controller parameter, at build time, the first that applies:

1. a ``@model_binding(T)`` registered for the parameter's type (``app.model_bindings``);
2. a built-in kind (markers, aliases, the path value named like the parameter, typed
   annotations, plain names: ``naja_atra.injection.builtin``);
3. the ``@default_model_binding``;
4. the parameter's default, as a constant.

The built-in kinds see the route's path values (to read them by name, and to fail the
build for a ``PathValue`` the path does not have) and the ``loads`` of the application's
JSON codec (``naja_atra_json_codec``), both worked out once per route. A
``ConfigurationError`` names the controller.

Resolvers that can report a bad argument (a value to convert, a required one) are
grouped per route in an ``ArgumentPlan``, so that one 400 lists every bad argument of the
request; the others are returned as they are.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Optional

from ..hooks.specs import hookimpl
from ..http.errors import ConfigurationError, InjectionError
from ..http.json_codec import DEFAULT_JSON_CODEC
from ..http.response import Response
from ..injection.builtin import Site, builtin_resolver, constant_resolver, is_infallible
from ..injection.model_binding import find_bindings
from ..injection.params import is_async_resolver
from ..injection.path_values import RoutePath
from ..injection.plan import ArgumentPlan
from .errors import error_page

if TYPE_CHECKING:
    from ..app.application import Application
    from ..app.context import RequestContext
    from ..app.routes import Route
    from ..http.errors import HttpError
    from ..injection.params import Param, Resolver

#: Where a route's ``ArgumentPlan`` is kept (``route.extras``; a new Route each build).
PLAN_KEY = "naja_atra.resolvers.plan"
#: Where a route's ``Site`` is kept (shared with the copies its providers' parameters get).
SITE_KEY = "naja_atra.resolvers.site"


def plan_of(route: Route) -> ArgumentPlan:
    plan = route.extras.get(PLAN_KEY)
    if not isinstance(plan, ArgumentPlan):
        plan = route.extras[PLAN_KEY] = ArgumentPlan()
    return plan


def site_of(app: Application, route: Route) -> Site:
    """What the built-in kinds need to know about ``route`` (made once per route and build)."""
    site = route.extras.get(SITE_KEY)
    if not isinstance(site, Site):
        codec = app.hooks.json_codec(app) or DEFAULT_JSON_CODEC
        loads = None if codec.loads is DEFAULT_JSON_CODEC.loads else codec.loads
        site = route.extras[SITE_KEY] = Site(RoutePath.of(route), loads)
    return site


def choose_resolver(app: Application, param: Param, route: Optional[Route] = None) -> Optional[Resolver]:
    """The resolver of ``param`` by the order above, without the plan (None: no kind).
    Without ``route`` nothing is read by its name from a path, and bodies use ``json.loads``."""
    bindings = find_bindings(app)
    resolver = bindings.resolver_for(param) if bindings is not None else None
    if resolver is None:
        resolver = builtin_resolver(param, False, site_of(app, route) if route is not None else None)
    if resolver is None and bindings is not None:
        resolver = bindings.default_resolver_for(param)
    if resolver is None and param.has_default:
        resolver = constant_resolver(param.default)
    return resolver


@hookimpl(trylast=True)
def naja_atra_make_resolver(app: Application, route: Route, param: Param) -> Optional[Resolver]:
    """Model bindings, markers, typed parameters and plain names, as naja-atra 1.x defines them."""
    try:
        resolver = choose_resolver(app, param, route)
    except ConfigurationError as exc:
        if str(exc).startswith("Controller "):
            raise
        raise ConfigurationError(f"Controller {route.name}: {exc}") from None
    if resolver is None or is_infallible(resolver) or is_async_resolver(resolver):
        # Async resolvers stay out of the plan (it runs synchronously); their own
        # InjectionError is answered alone.
        return resolver
    return plan_of(route).add(param.name, resolver)


# Not trylast: it runs before the built-in ``naja_atra.errors`` (trylast). An
# application restyles these answers with its own ``naja_atra_handle_error`` (registered
# later, so pluggy calls it first) or with an ``@error_message`` page for the code.
@hookimpl
def naja_atra_handle_error(app: Application, ctx: RequestContext, error: HttpError) -> Optional[Response]:
    """An ``InjectionError`` as JSON: ``{"code", "message", "explain", "errors": [...]}``
    (other errors, or an application with an error page for 400: None)."""
    if not isinstance(error, InjectionError):
        return None
    if error_page(app, ctx, error.code) is not None:
        return None  # the application's own error page renders it (naja_atra.errors)
    body = json.dumps(error.to_dict())
    return Response(error.code, {"Content-Type": "application/json"}, body)
