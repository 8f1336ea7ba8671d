"""The OpenAPI 3.1 document of an application, built from its routes and their typed parameters.

``app.openapi()`` calls :func:`build_document`. The parts, one module each:

- :mod:`.document`: which routes become which operations, ids, tags, docstrings;
- :mod:`.arguments`: what each route reads from a request, asked of the application's
  resolvers (``naja_atra.injection.source.ArgumentSource``), providers included;
- :mod:`.parameters`: ``parameters`` and ``requestBody`` from those arguments;
- :mod:`.responses`: the success response from the return annotation, and the 400;
- :mod:`.schema`: JSON Schema of Python types, and ``components/schemas``.

See docs/openapi.md.
"""
from __future__ import annotations

from .document import OPENAPI_VERSION, build_document
from .schema import SchemaBuilder

__all__ = ["build_document", "SchemaBuilder", "OPENAPI_VERSION"]
