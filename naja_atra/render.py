"""``Converter``, the type of a response converter, under the path docs/plugins.md names.

It is defined in :mod:`naja_atra.app.render`, with the ``Renderer`` that applies
converters; this module keeps the short import path.
"""
from __future__ import annotations

from .app.render import Converter, Renderer

__all__ = ["Converter", "Renderer"]
