"""Third-party plugins from the ``naja_atra`` entry-point group.

The installed entry points are listed, and each is imported, once per process; which of
them an application registers is decided at its build from the environment:

- ``NAJA_ATRA_DISABLE_PLUGIN_AUTOLOAD=1``: none;
- ``NAJA_ATRA_PLUGINS=a,b``: only those (an empty value: none);
- ``NAJA_ATRA_DISABLED_PLUGINS=a,b``: those are blocked.

Names are entry-point names, which are also the names the plugins are registered under.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Optional

GROUP = "naja_atra"
_lock = threading.Lock()
_found: Optional[list[metadata.EntryPoint]] = None
_loaded: dict[str, Any] = {}


@dataclass(frozen=True)
class EntryPointPlugin:
    """One installed plugin: its entry-point name, object, distribution and version."""

    name: str
    plugin: Any
    distribution: str
    version: str


def _discover() -> list[metadata.EntryPoint]:
    global _found
    with _lock:
        if _found is None:
            _found = list(metadata.entry_points(group=GROUP))
        return _found


def _names(variable: str) -> Optional[set[str]]:
    value = os.environ.get(variable)
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def selected_plugins() -> tuple[list[EntryPointPlugin], set[str]]:
    """The plugins to register under the current environment, and the names to block."""
    if os.environ.get("NAJA_ATRA_DISABLE_PLUGIN_AUTOLOAD", "").strip() not in ("", "0"):
        return [], set()
    only = _names("NAJA_ATRA_PLUGINS")
    blocked = _names("NAJA_ATRA_DISABLED_PLUGINS") or set()
    chosen: list[EntryPointPlugin] = []
    for ep in _discover():
        if ep.name in blocked or (only is not None and ep.name not in only):
            continue
        with _lock:
            if ep.name not in _loaded:
                _loaded[ep.name] = ep.load()
        dist = getattr(ep, "dist", None)
        chosen.append(EntryPointPlugin(
            ep.name, _loaded[ep.name], getattr(dist, "name", "") or "", getattr(dist, "version", "") or ""))
    return chosen, blocked
