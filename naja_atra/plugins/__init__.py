"""The built-in plugins, one module each, registered by name in every ``Application``.

Their hook implementations are ``trylast`` (a user or third-party plugin that implements
the same hook is consulted first), except where a plugin must act before the built-in
default: ``naja_atra.providers`` resolves ``Depends`` parameters and opens its lifespan
first, ``naja_atra.resolvers`` renders its 400s before the error pages, and
``naja_atra.websocket`` claims a handshake's bare ``request`` parameter. Block one with
``app.plugin_manager.set_blocked(name)`` or remove it with ``unregister(name=...)``.
"""
from __future__ import annotations

from . import (
    errors,
    filters,
    openapi,
    options,
    providers,
    render,
    resolvers,
    routing,
    servers,
    sessions,
    static,
    websocket,
)

BUILTIN_PLUGINS: tuple[tuple[str, object], ...] = (
    ("naja_atra.routing", routing),
    ("naja_atra.resolvers", resolvers),
    ("naja_atra.sessions", sessions),
    ("naja_atra.errors", errors),
    ("naja_atra.filters", filters),
    ("naja_atra.render", render),
    ("naja_atra.static", static),
    # After static: its router wrapper is then the outer one, so the document and the docs
    # page are matched before any static file.
    ("naja_atra.openapi", openapi),
    # Outermost router wrapper: an OPTIONS that any router inside refuses with 405 is answered.
    ("naja_atra.options", options),
    ("naja_atra.websocket", websocket),
    # After websocket: its bare-``request`` rule must not claim ``request=Depends(...)``.
    ("naja_atra.providers", providers),
    ("naja_atra.servers", servers),
)
