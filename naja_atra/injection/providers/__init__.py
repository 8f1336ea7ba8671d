"""User-defined providers: ``Depends(provider, scope=...)`` and the compilation of
provider graphs into resolvers.

A controller (or a WebSocket handshake callable, or another provider) asks for a value
made by a function of yours::

    def get_db(dsn: FromHeader[str] = "sqlite://") -> Iterator[Database]:
        db = Database(dsn)
        try:
            yield db            # the value injected
        finally:
            db.close()          # runs after the controller returned or raised

    @app.route("/users")
    def users(db: Database = Depends(get_db)) -> list[str]:
        return db.names()

One module per concept, each explaining its part:

- :mod:`.depends`: the public marker ``Depends`` (a :class:`Dependency`) and
  :func:`dependency_of`, which finds it on a parameter;
- :mod:`.kinds`: what a provider is (function, async function, generator, async
  generator, class), its parameters, and the call that makes its value;
- :mod:`.scopes`: the scopes (``"request"``, ``"app"``, ``"transient"``) and the resolver
  that keeps a value in its scope;
- :mod:`.app_scope`: the app-scoped values of an application, made once and torn down when
  it stops;
- :mod:`.cleanups`: generator providers' code after ``yield``, run after the controller;
- :mod:`.graph`: :func:`compile_dependency`, which compiles the providers a route depends
  on (overrides, cycles, their parameters resolved through the application's hooks) when
  the application is built.

The built-in plugin ``naja_atra.plugins.providers`` uses :func:`dependency_of`,
:func:`compile_dependency` and :func:`app_scope_of`. Underscored names are private to this
package; the ones below stay importable from here because they were before the split.
"""
from .app_scope import AppScope, app_scope_of
from .depends import Dependency, Depends, dependency_of
from .graph import compile_dependency
from .kinds import provider_kind
from .scopes import SCOPES, Scope

__all__ = [
    "Depends",
    "Dependency",
    "Scope",
    "SCOPES",
    "AppScope",
    "dependency_of",
    "compile_dependency",
    "app_scope_of",
    "provider_kind",
]
