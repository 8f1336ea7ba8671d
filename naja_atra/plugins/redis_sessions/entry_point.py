"""The ``redis_sessions`` entry point, installed as a plugin of every application.

Entry point
    ``naja_atra.plugins.redis_sessions:autoload`` is installed as the ``redis_sessions``
    plugin of every application, and does nothing unless the ``NAJA_ATRA_REDIS_SESSIONS_URL``
    environment variable (or the ``--redis-sessions-url`` option) names a Redis URL; then it
    registers a :class:`RedisSessionsPlugin` for that URL in each application that has none.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ...hooks.specs import hookimpl
from .config import ENV_URL
from .plugin import RedisSessionsPlugin

if TYPE_CHECKING:
    import argparse

    from ...app.application import Application

__all__ = ["RedisSessionsAutoload", "autoload"]


class RedisSessionsAutoload:
    """The ``redis_sessions`` entry point: inert unless a Redis URL is configured.

    With ``NAJA_ATRA_REDIS_SESSIONS_URL`` set (or ``--redis-sessions-url`` on the command line
    when the plugin is registered before the CLI parses it), it registers a
    :class:`RedisSessionsPlugin` for that URL in each application that does not have one.
    """

    @hookimpl
    def naja_atra_add_cli_options(self, parser: argparse.ArgumentParser) -> None:
        """``--redis-sessions-url URL``."""
        parser.add_argument("--redis-sessions-url", default=None, metavar="URL",
                            help=f"keep sessions in Redis at URL (default: ${ENV_URL}, if set)")

    @hookimpl
    def naja_atra_configure(self, app: Application) -> None:
        """Register a :class:`RedisSessionsPlugin` if a URL is configured and none is registered."""
        url = getattr(app.cli_args, "redis_sessions_url", None) or os.environ.get(ENV_URL, "").strip()
        if not url:
            return
        if any(isinstance(p, RedisSessionsPlugin) for p in app.plugin_manager.get_plugins()):
            return
        app.register(RedisSessionsPlugin(url), name="redis_sessions.configured")

    def __repr__(self) -> str:
        return "<RedisSessionsAutoload>"


#: The object the ``redis_sessions`` entry point names.
autoload = RedisSessionsAutoload()
