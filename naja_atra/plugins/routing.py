"""Built-in plugin ``naja_atra.routing``: the default router."""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from ..hooks.specs import hookimpl
from ..routing.router import DefaultRouter

if TYPE_CHECKING:
    from ..app.application import Application
    from ..app.routes import Route, Router


@hookimpl(trylast=True)
def naja_atra_make_router(app: Application, routes: Sequence[Route]) -> Router:
    """Static paths by dict look-up, patterns through a segment tree, then regexps."""
    return DefaultRouter(routes)
