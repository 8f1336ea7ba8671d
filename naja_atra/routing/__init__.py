"""HTTP route matching: path patterns, narrowing expressions and the default router.

The built-in routing plugin (``naja_atra.plugins.routing``) returns a ``DefaultRouter``
from ``naja_atra_make_router``; another plugin may return any object that implements
``naja_atra.routes.Router`` instead.
"""
from __future__ import annotations

from .narrowing import Narrowing, compile_expression, compile_narrowing
from .patterns import WILDCARD, PathPattern, compile_path, split_path
from .router import DefaultRouter

__all__ = [
    "WILDCARD",
    "DefaultRouter",
    "Narrowing",
    "PathPattern",
    "compile_expression",
    "compile_narrowing",
    "compile_path",
    "split_path",
]
