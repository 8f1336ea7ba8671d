"""Built-in plugin ``naja_atra.resolvers``: the argument kinds of SPEC.md."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from ..hookspecs import hookimpl
from ..injection.builtin import builtin_resolver

if TYPE_CHECKING:
    from ..application import Application
    from ..injection.params import Param, Resolver
    from ..routes import Route


@hookimpl(trylast=True)
def naja_atra_make_resolver(app: Application, route: Route, param: Param) -> Optional[Resolver]:
    """Markers, typed parameters and plain names, as SPEC.md describes them."""
    return builtin_resolver(param)
