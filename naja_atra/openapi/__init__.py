"""The OpenAPI 3.1 document of an application, built from its routes and their typed parameters."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..app.application import Application


def build_document(app: Application) -> dict[str, Any]:
    """The OpenAPI document of ``app`` (to be completed)."""
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": app.title, "version": app.version},
        "paths": {},
    }
    return app.hooks.openapi(app, document)
