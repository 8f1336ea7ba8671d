"""Built-in plugin ``naja_atra.resolvers``: the argument kinds of naja-atra 1.x, typed
parameters, model bindings, and the JSON answer of a request with bad arguments.

Per controller parameter, at build time, the first that applies:

1. a ``@model_binding(T)`` registered for the parameter's type (``app.model_bindings``);
2. a built-in kind (markers, aliases, typed annotations, plain names:
   ``naja_atra.injection.builtin``);
3. the ``@default_model_binding``;
4. the parameter's default, as a constant.

Resolvers that can report a bad argument (a value to convert, a required one) are
grouped per route in an ``ArgumentPlan``, so that one 400 lists every bad argument of the
request; the others are returned as they are.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Optional

from ..hooks.specs import hookimpl
from ..http.errors import InjectionError
from ..http.response import Response
from ..injection.builtin import builtin_resolver, constant_resolver, is_infallible
from ..injection.model_binding import find_bindings
from ..injection.params import is_async_resolver
from ..injection.plan import ArgumentPlan
from .errors import page_for

if TYPE_CHECKING:
    from ..app.application import Application
    from ..app.context import RequestContext
    from ..app.routes import Route
    from ..http.errors import HttpError
    from ..injection.params import Param, Resolver

#: Where a route's ``ArgumentPlan`` is kept (``route.extras``; a new Route each build).
PLAN_KEY = "naja_atra.resolvers.plan"


def plan_of(route: Route) -> ArgumentPlan:
    plan = route.extras.get(PLAN_KEY)
    if not isinstance(plan, ArgumentPlan):
        plan = route.extras[PLAN_KEY] = ArgumentPlan()
    return plan


def choose_resolver(app: Application, param: Param) -> Optional[Resolver]:
    """The resolver of ``param`` by the order above, without the plan (None: no kind)."""
    bindings = find_bindings(app)
    resolver = bindings.resolver_for(param) if bindings is not None else None
    if resolver is None:
        resolver = builtin_resolver(param, fallback=False)
    if resolver is None and bindings is not None:
        resolver = bindings.default_resolver_for(param)
    if resolver is None and param.has_default:
        resolver = constant_resolver(param.default)
    return resolver


@hookimpl(trylast=True)
def naja_atra_make_resolver(app: Application, route: Route, param: Param) -> Optional[Resolver]:
    """Model bindings, markers, typed parameters and plain names, as naja-atra 1.x defines them."""
    resolver = choose_resolver(app, param)
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
    if page_for(app.registry.error_pages, error.code) is not None:
        return None  # the application's own error page renders it (naja_atra.errors)
    body = json.dumps(error.to_dict())
    return Response(error.code, {"Content-Type": "application/json"}, body)
