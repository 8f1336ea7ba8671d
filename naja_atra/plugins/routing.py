"""Built-in plugin ``naja_atra.routing``: the default router.

It refuses routes that can never be told apart (the same pattern up to the names of its
values, the same narrowing, a method in common): the build fails with a
``ConfigurationError`` naming both (:mod:`naja_atra.routing.clashes`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from ..hooks.specs import hookimpl
from ..routing.clashes import check_clashes
from ..routing.router import DefaultRouter

if TYPE_CHECKING:
    from ..app.application import Application
    from ..app.routes import Route, Router


@hookimpl(trylast=True)
def naja_atra_make_router(app: Application, routes: Sequence[Route]) -> Router:
    """Static paths by dict look-up, patterns through a segment tree, then regexps."""
    router = DefaultRouter(routes)  # first: it names a route whose path is invalid
    check_clashes(routes)
    return router
