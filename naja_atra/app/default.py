"""The default application: the one the module-level decorators, ``naja_atra.server`` and
the CLI act on. It lives here, not in the facade, so that ``naja_atra.server`` (and the Jinja
plugin's ``set_env``) can reach it without importing ``naja_atra`` itself.
"""
from __future__ import annotations

from .application import Application

#: The application the module-level decorators and ``naja_atra.server`` act on.
default_app = Application()
