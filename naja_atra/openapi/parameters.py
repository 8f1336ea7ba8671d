"""An operation's ``parameters`` and ``requestBody``, from the arguments its route reads.

- path, query, header and cookie arguments are parameters, each once (the first one read
  under a name wins; required if any reader requires it). A ``{name}`` of the route's path
  that no argument reads is still a (string) path parameter: OpenAPI requires one for
  every template.
- body arguments make the request body, one content entry per media type: the whole JSON
  body (``name`` ""), or one object whose properties are the fields of a form or
  multipart body; raw bytes are ``application/octet-stream`` with no schema, as OpenAPI
  3.1 describes binary content.
"""
from __future__ import annotations

import re
from typing import Any, Optional

from ..injection.convert import strip_optional
from ..injection.params import EMPTY
from .arguments import Argument
from .schema import SchemaBuilder, json_value

__all__ = ["path_names", "operation_parameters", "request_body"]

_TEMPLATE = re.compile(r"\{(\w+)\}")
_PARAMETER_LOCATIONS = ("path", "query", "header", "cookie")
#: Media types whose body is a set of named fields.
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
_OCTETS = "application/octet-stream"


def path_names(path: str) -> list[str]:
    """The ``{name}`` templates of a route path, in order."""
    return _TEMPLATE.findall(path)


def _with_default(schema: dict[str, Any], default: Any) -> dict[str, Any]:
    if default is not EMPTY and default is not None:
        ok, value = json_value(default)
        if ok:
            schema["default"] = value
    return schema


def _parameter_name(argument: Argument) -> str:
    source = argument.source
    if source.location == "header":
        # The resolver also finds ``x_token`` spelled ``X-Token``: the spelling a client
        # can send through any proxy (underscores in header names are often dropped).
        return source.name.replace("_", "-")
    return source.name


def operation_parameters(builder: SchemaBuilder, arguments: list[Argument], path: str) -> list[dict[str, Any]]:
    """The ``parameters`` of an operation on ``path``."""
    templates = path_names(path)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for argument in arguments:
        source = argument.source
        if source.location not in _PARAMETER_LOCATIONS:
            continue
        if source.location == "path" and source.name not in templates:
            continue  # a value the path does not have (the route fails with a 500): not a parameter
        name = _parameter_name(argument)
        key = (source.location, name.lower() if source.location == "header" else name)
        required = source.required or source.location == "path"
        known = found.get(key)
        if known is not None:
            known["required"] = known["required"] or required
            continue
        # A parameter is absent or present, never null: ``Optional`` is said by ``required``.
        annotation = strip_optional(source.annotation)[0]
        schema = _with_default(builder.schema(annotation), source.default)
        found[key] = {"name": name, "in": source.location, "required": required, "schema": schema}
    for name in templates:
        if ("path", name) not in found:
            found[("path", name)] = {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
    return list(found.values())


def request_body(builder: SchemaBuilder, arguments: list[Argument]) -> Optional[dict[str, Any]]:
    """The ``requestBody`` of an operation, or None when it reads no body."""
    bodies = [a.source for a in arguments if a.source.location == "body"]
    if not bodies:
        return None
    content: dict[str, dict[str, Any]] = {}
    fields: dict[str, dict[str, Any]] = {}
    required_fields: dict[str, list[str]] = {}
    for source in bodies:
        media = source.media_type or "application/json"
        if media == _OCTETS:
            content.setdefault(media, {})
        elif media in _FORMS or source.name:
            properties = fields.setdefault(media, {})
            if source.name not in properties:
                # A field is sent or not, never null: as for parameters, ``required`` says it.
                annotation = strip_optional(source.annotation)[0]
                properties[source.name] = _with_default(builder.schema(annotation), source.default)
                if source.required:
                    required_fields.setdefault(media, []).append(source.name)
        elif media not in content:
            content[media] = {"schema": _with_default(builder.schema(source.annotation), source.default)}
    for media, properties in fields.items():
        if media in content:
            continue  # the whole body is already read as one value of this type
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if media in required_fields:
            schema["required"] = required_fields[media]
        content[media] = {"schema": schema}
    body: dict[str, Any] = {"content": content}
    if any(source.required for source in bodies):
        body["required"] = True
    return body
