"""The built-in plugins, one module each, registered by name in every ``Application``.

All their hook implementations are ``trylast``: a user or third-party plugin that
implements the same hook is consulted first. Block one with
``app.plugin_manager.set_blocked(name)`` or remove it with ``unregister(name=...)``.
"""
from __future__ import annotations

from . import errors, filters, render, resolvers, routing, servers, sessions, static, websocket

BUILTIN_PLUGINS: tuple[tuple[str, object], ...] = (
    ("naja_atra.routing", routing),
    ("naja_atra.resolvers", resolvers),
    ("naja_atra.sessions", sessions),
    ("naja_atra.errors", errors),
    ("naja_atra.filters", filters),
    ("naja_atra.render", render),
    ("naja_atra.static", static),
    ("naja_atra.websocket", websocket),
    ("naja_atra.servers", servers),
)
