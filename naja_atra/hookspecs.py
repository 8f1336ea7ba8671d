"""The hook specifications under the path docs/plugins.md names.

They are defined in :mod:`naja_atra.hooks.specs`, with the rest of the plugin contract;
``app.plugin_manager.add_hookspecs`` works with either module.
"""
from __future__ import annotations

from .hooks.specs import (
    PROJECT,
    hookimpl,
    hookspec,
    naja_atra_add_cli_options,
    naja_atra_addhooks,
    naja_atra_configure,
    naja_atra_handle_error,
    naja_atra_lifespan,
    naja_atra_make_resolver,
    naja_atra_make_router,
    naja_atra_make_server,
    naja_atra_make_session_factory,
    naja_atra_request_filters,
    naja_atra_response_converters,
    naja_atra_route_added,
    naja_atra_wrap_handler,
)

__all__ = [
    "PROJECT",
    "hookspec",
    "hookimpl",
    "naja_atra_addhooks",
    "naja_atra_configure",
    "naja_atra_route_added",
    "naja_atra_make_router",
    "naja_atra_make_resolver",
    "naja_atra_request_filters",
    "naja_atra_wrap_handler",
    "naja_atra_response_converters",
    "naja_atra_make_session_factory",
    "naja_atra_handle_error",
    "naja_atra_lifespan",
    "naja_atra_make_server",
    "naja_atra_add_cli_options",
]
