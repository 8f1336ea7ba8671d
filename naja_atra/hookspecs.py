"""The hook specifications under the path docs/plugins.md names.

They are defined in :mod:`naja_atra.hooks.specs`, with the rest of the plugin contract;
``app.plugin_manager.add_hookspecs`` works with either module.
"""
from __future__ import annotations

from .hooks.specs import *  # noqa: F403 - the very names of hooks.specs, its __all__
from .hooks.specs import __all__ as __all__
