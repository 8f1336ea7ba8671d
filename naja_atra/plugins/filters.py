"""Built-in plugin ``naja_atra.filters``: the filters registered with ``@request_filter``, on
the application and on its route groups (those scoped to their group's routes)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from ..hooks.specs import hookimpl

if TYPE_CHECKING:
    from ..app.application import Application
    from ..app.routes import FilterSpec


@hookimpl(trylast=True)
def naja_atra_request_filters(app: Application) -> Sequence[FilterSpec]:
    """The application's filters in registration order, then its groups', outermost first."""
    return app.registry.request_filters()
