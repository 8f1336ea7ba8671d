"""Assembling the OpenAPI 3.1 document of an application: :func:`build_document`.

Which routes are in it, and how:

- every HTTP route of the route table whose ``include_in_schema`` is true, in the
  router's order. WebSocket endpoints are not HTTP operations, so they are left out;
  so are ``regexp=`` routes and paths with a wildcard (``*``, ``**``, ``*.html``): the
  URLs they take cannot be written as an OpenAPI path template (a ``**`` spans
  segments). ``{name}`` segments, also inside a segment (``/files/{name}.txt``), are
  templates as they are;
- each listed method is an operation; a route that lists none takes every method and is
  documented as ``get`` and ``post`` (the page-or-form idiom of naja-atra 1.x: parameters
  come from the query string or a form body), its request body on ``post`` only. Methods
  OpenAPI 3.1 has no field for (``PROPFIND``...) are left out;
- when two routes give the same operation (the same path and method, told apart by the
  ``params=``/``headers=`` narrowing, or paths that differ only by template names, which
  OpenAPI treats as one path), the first one the router tries is documented;
- ``summary`` is the first line of the controller's docstring, ``description`` the rest;
  ``operationId`` is the route's ``endpoint`` (or the handler's name), with the method
  added when one route has several, and a number when it is taken; ``tags`` are the
  route's.

Finally each ``naja_atra_openapi`` plugin may change the document or replace it.
"""
from __future__ import annotations

import functools
import inspect
import re
from typing import TYPE_CHECKING, Any

from ..app.routes import WEBSOCKET_METHOD
from .arguments import route_arguments
from .parameters import operation_parameters, request_body
from .responses import bad_request_response, return_annotation, success_response
from .schema import SchemaBuilder, copy_schema

if TYPE_CHECKING:
    from ..app.application import Application
    from ..app.routes import Route
    from .arguments import Argument

__all__ = ["build_document", "OPENAPI_VERSION", "ANY_METHOD"]

OPENAPI_VERSION = "3.1.0"
#: How a route that takes every method is documented (see the module docstring).
ANY_METHOD = ("GET", "POST")
#: The operations of an OpenAPI 3.1 path item, by HTTP method.
_OPERATIONS = {"GET": "get", "PUT": "put", "POST": "post", "DELETE": "delete", "OPTIONS": "options",
               "HEAD": "head", "PATCH": "patch", "TRACE": "trace"}
_TEMPLATE = re.compile(r"\{\w+\}")


def _documented(route: Route) -> bool:
    if not getattr(route, "include_in_schema", True) or WEBSOCKET_METHOD in route.methods:
        return False
    return not route.regexp and route.path.startswith("/") and "*" not in route.path


def _docstring(route: Route) -> tuple[str, str]:
    """``(summary, description)`` from the controller's docstring."""
    handler = route.handler
    while isinstance(handler, functools.partial):  # a partial's __doc__ is the partial type's
        handler = handler.func
    doc = getattr(handler, "__doc__", None)
    if not isinstance(doc, str) or not doc.strip():
        return "", ""
    first, _, rest = inspect.cleandoc(doc).partition("\n")
    return first.strip(), rest.strip()


def _may_refuse(arguments: list[Argument]) -> bool:
    """Whether a request may get the 400 of bad arguments: one converts or is required
    (a path value is always there: only its conversion can fail)."""
    return any(a.fallible or (a.source.required and a.source.location != "path") for a in arguments)


class _OperationIds:
    """Unique operation ids: the second ``list_items`` is ``list_items_2``."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def take(self, base: str) -> str:
        name, number = base, 2
        while name in self.taken:
            name = f"{base}_{number}"
            number += 1
        self.taken.add(name)
        return name


class _Document:
    """The document being built: its paths, schemas, operation ids and tags."""

    def __init__(self, app: Application) -> None:
        self.app = app
        self.schemas = SchemaBuilder()
        self.ids = _OperationIds()
        self.paths: dict[str, dict[str, Any]] = {}
        self.shapes: dict[str, str] = {}
        self.tags: dict[str, None] = {}

    def add(self, route: Route) -> None:
        path = route.path
        shape = _TEMPLATE.sub("{}", path)
        if self.shapes.get(shape, path) != path:
            return  # ``/a/{x}`` after ``/a/{y}``: the same path for OpenAPI
        item = self.paths.get(path, {})
        listed = route.methods or ANY_METHOD
        methods = [m for m in listed if m in _OPERATIONS and _OPERATIONS[m] not in item]
        if not methods:
            return
        self.shapes[shape] = path
        template = self._operation(route)
        endpoint = getattr(route, "endpoint", "") or getattr(route.handler, "__name__", "") or "operation"
        body = template.pop("requestBody", None)
        # One dict per operation: a plugin editing one must not edit the others.
        operations = [template] + [copy_schema(template) for _ in methods[1:]]
        for method, operation in zip(methods, operations, strict=False):
            operation["operationId"] = self.ids.take(endpoint if len(listed) == 1 else f"{endpoint}_{method.lower()}")
            if body is not None and (route.methods or method == "POST"):
                operation["requestBody"] = body
                body = copy_schema(body)
            item[_OPERATIONS[method]] = _ordered(operation)
        self.paths[path] = item

    def _operation(self, route: Route) -> dict[str, Any]:
        arguments = route_arguments(self.app, route)
        operation: dict[str, Any] = {}
        tags = list(getattr(route, "tags", ()))
        if tags:
            operation["tags"] = tags
            self.tags.update(dict.fromkeys(tags))
        summary, description = _docstring(route)
        if summary:
            operation["summary"] = summary
        if description:
            operation["description"] = description
        parameters = operation_parameters(self.schemas, arguments, route.path)
        if parameters:
            operation["parameters"] = parameters
        body = request_body(self.schemas, arguments)
        if body is not None:
            operation["requestBody"] = body
        status, success = success_response(self.schemas, return_annotation(route.handler))
        responses = {status: success}
        if _may_refuse(arguments):
            responses["400"] = bad_request_response(self.schemas, self.app)
        operation["responses"] = responses
        return operation

    def result(self) -> dict[str, Any]:
        app = self.app
        info: dict[str, Any] = {"title": app.title, "version": app.version}
        if app.description:
            info["description"] = app.description
        document: dict[str, Any] = {"openapi": OPENAPI_VERSION, "info": info, "paths": self.paths}
        if self.schemas.components:
            document["components"] = {"schemas": self.schemas.components}
        if self.tags:
            document["tags"] = [{"name": name} for name in self.tags]
        return document


_ORDER = ("tags", "summary", "description", "operationId", "parameters", "requestBody", "responses")


def _ordered(operation: dict[str, Any]) -> dict[str, Any]:
    """The operation's fields in a reading order (the docs page and a reader of the JSON
    see the id before the parameters)."""
    out = {key: operation[key] for key in _ORDER if key in operation}
    out.update((key, value) for key, value in operation.items() if key not in out)
    return out


def build_document(app: Application) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``app`` (built first if it is not), as a dict ready for
    ``json.dumps``, after the ``naja_atra_openapi`` plugins."""
    document = _Document(app)
    for route in app.routes():
        if _documented(route):
            document.add(route)
    return app.hooks.openapi(app, document.result())
