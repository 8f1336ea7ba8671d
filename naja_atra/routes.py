"""The routing contract plugin authors import: ``Route``, ``RouteMatch``, ``Router``,
``FilterSpec`` and friends, as documented in docs/plugins.md.

They are defined in :mod:`naja_atra.app.routes`, next to the rest of the application core;
this module keeps the short import path.
"""
from __future__ import annotations

from .app.routes import (
    WEBSOCKET_METHOD,
    ControllerClass,
    FilterSpec,
    Handler,
    Route,
    RouteMatch,
    Router,
    RoutingInput,
)

__all__ = [
    "WEBSOCKET_METHOD",
    "ControllerClass",
    "FilterSpec",
    "Handler",
    "Route",
    "RouteMatch",
    "Router",
    "RoutingInput",
]
