"""The application's pluggy ``PluginManager``: any change to it rebuilds the application."""
from __future__ import annotations

from typing import Any, Callable, Optional

import pluggy

from . import specs


class AppPluginManager(pluggy.PluginManager):
    """A ``PluginManager`` for project ``naja_atra`` that tells its application when a
    plugin is registered, unregistered or blocked, so the next request sees the change.

    ``naja_atra_addhooks`` is called (historically) for every plugin, so a plugin can add
    hookspecs of its own.
    """

    def __init__(self, on_change: Callable[[], None]) -> None:
        super().__init__(specs.PROJECT)
        self._on_change = on_change
        self.add_hookspecs(specs)
        self.hook.naja_atra_addhooks.call_historic(kwargs={"pluginmanager": self})

    def register(self, plugin: object, name: Optional[str] = None) -> Optional[str]:
        """Register ``plugin`` (under ``name``) and mark the application for a rebuild."""
        registered = super().register(plugin, name)
        self._on_change()
        return registered

    def unregister(self, plugin: Optional[object] = None, name: Optional[str] = None) -> Any:
        """Unregister a plugin and mark the application for a rebuild."""
        removed = super().unregister(plugin, name)
        self._on_change()
        return removed

    def set_blocked(self, name: str) -> None:
        """Block a plugin name and mark the application for a rebuild."""
        super().set_blocked(name)
        self._on_change()
