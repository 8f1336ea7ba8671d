"""Built-in plugin ``naja_atra.sessions``: the factory set by ``set_session_factory``, else
in-memory sessions."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..hooks.specs import hookimpl
from ..sessions import LocalSessionFactory, SessionFactory

if TYPE_CHECKING:
    from ..app.application import Application


@hookimpl(trylast=True)
def naja_atra_make_session_factory(app: Application) -> SessionFactory:
    """The application's own factory, or a new local one (one per application)."""
    if app.session_factory is None:
        app.session_factory = LocalSessionFactory()
    return app.session_factory
