"""The application's pluggy ``PluginManager``: any change to it rebuilds the application,
and a hook nobody specified is an error, not silence."""
from __future__ import annotations

import difflib
import inspect
from typing import Any, Callable, Optional

import pluggy

from ..http.errors import ConfigurationError
from . import specs

#: The prefix of every hook of the framework.
HOOK_PREFIX = f"{specs.PROJECT}_"


class AppPluginManager(pluggy.PluginManager):
    """A ``PluginManager`` for project ``naja_atra`` that tells its application when a
    plugin is registered, unregistered or blocked, so the next request sees the change.

    A function or method named ``naja_atra_*`` is a hook implementation even without the
    ``@hookimpl`` marker (with the default options), as pytest does for ``pytest_*``; so a
    misspelled hook name cannot hide: :meth:`check_hooks`, run at every build, refuses an
    implementation of a hook that no specification declares.

    ``naja_atra_addhooks`` is called (historically) for every plugin, so a plugin can add
    hookspecs of its own.
    """

    def __init__(self, on_change: Callable[[], None]) -> None:
        super().__init__(specs.PROJECT)
        self._on_change = on_change
        self.add_hookspecs(specs)
        self.hook.naja_atra_addhooks.call_historic(kwargs={"pluginmanager": self})

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Optional[pluggy.HookimplOpts]:
        """The marker's options, or the defaults for an unmarked ``naja_atra_*`` routine."""
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith(HOOK_PREFIX) and inspect.isroutine(getattr(plugin, name, None)):
            opts = {"wrapper": False, "hookwrapper": False, "optionalhook": False,
                    "tryfirst": False, "trylast": False, "specname": None}
        return opts

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

    def check_hooks(self) -> None:
        """Refuse implementations of hooks that no specification declares (pluggy's
        ``check_pending``, with a message naming the plugin, the hook and the likely
        intended hook). ``@hookimpl(optionalhook=True)`` implementations are allowed."""
        known = [name for name, caller in vars(self.hook).items()
                 if isinstance(caller, pluggy.HookCaller) and caller.spec is not None]
        for name, caller in vars(self.hook).items():
            if not isinstance(caller, pluggy.HookCaller) or caller.spec is not None:
                continue
            for impl in caller.get_hookimpls():
                if impl.optionalhook:
                    continue
                close = difflib.get_close_matches(name, known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigurationError(
                    f"Plugin {impl.plugin_name!r} implements {name!r}, which is not a hook of {specs.PROJECT}{hint} "
                    f"(the hooks are listed in naja_atra.hooks.specs)")
