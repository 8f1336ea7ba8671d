"""What a route reads from a request, as the application really resolves it.

For every parameter of the controller, the application's ``naja_atra_make_resolver``
hooks are asked again, as the build asks them, and the resolver says where its value
comes from (:mod:`naja_atra.injection.source`): one ``ArgumentSource``, or, for a
``Depends``, the sources of every provider of its graph (a token header, a page
number...), so that a provider's arguments are documented with the controller's. The
hooks get a copy of the route: the live route's argument plan must not grow, while its
provider graph, complete since the build, is shared (its compiled providers are found
there rather than compiled again). Resolvers without a source (``Request``,
``Response``, the session, app-scoped providers, a plugin's own kinds) describe nothing.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from ..injection.params import controller_params
from ..injection.source import ArgumentSource, sources_of
from ..plugins.resolvers import PLAN_KEY

if TYPE_CHECKING:
    from ..app.application import Application
    from ..app.routes import Route

__all__ = ["Argument", "route_arguments", "ARGUMENTS_KEY"]

#: Where a route's documented arguments are kept (``route.extras``).
ARGUMENTS_KEY = "naja_atra.openapi.arguments"


@dataclasses.dataclass(frozen=True)
class Argument:
    """One documented argument: its source and whether its resolver may refuse the
    request with a 400 (a conversion, a required value)."""

    source: ArgumentSource
    fallible: bool


def _probe(route: Route) -> Route:
    """A copy of ``route`` to ask the hooks with: what plugins noted about it, without the
    argument plan that the resolvers plugin adds each resolver to."""
    extras = {key: value for key, value in route.extras.items() if key not in (PLAN_KEY, ARGUMENTS_KEY)}
    return dataclasses.replace(route, extras=extras)


def route_arguments(app: Application, route: Route) -> list[Argument]:
    """Every documented argument ``route`` reads, in parameter order (a provider's
    arguments where the ``Depends`` is).

    Kept in ``route.extras``: the routes of the table are made anew by each build (after a
    registration, an override...), so a later document of the same build reuses them.
    """
    known = route.extras.get(ARGUMENTS_KEY)
    if isinstance(known, tuple):
        return list(known)
    probe = _probe(route)
    found: list[Argument] = []
    for param in controller_params(route.handler, skip_first=route.owner is not None):
        resolver = app.hooks.make_resolver(app, probe, param)
        # A Depends is fallible as a whole: all its sources say so (only the 400 reads it).
        fallible = resolver is not None and not getattr(resolver, "infallible", False)
        found.extend(Argument(source, fallible) for source in sources_of(resolver))
    route.extras[ARGUMENTS_KEY] = tuple(found)
    return found
