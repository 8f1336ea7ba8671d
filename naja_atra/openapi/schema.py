"""JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) of Python types.

One :class:`SchemaBuilder` serves one document: it remembers the schema of every type it
has seen (each is built once, however many routes use it) and collects the named schemas
(dataclasses, ``TypedDict`` classes, enums) under ``components/schemas``, referred to with
``$ref``. A class that refers to itself, directly or through others, gets a ``$ref`` to its
own component, so recursion ends. Two classes with the same ``__name__`` from different
modules get different component names: the first one seen keeps the short name, the
other is named by its module and qualified name.

The schemas describe the values the framework reads and writes: what
:mod:`naja_atra.injection.convert` accepts and what the JSON codec renders (``datetime``
as an ISO 8601 string, ``UUID`` and ``Decimal`` as strings, an ``Enum`` by its value).
A type nothing here knows, or a forward reference that does not resolve, is ``{}``
(anything), never an error: the document must not fail because of one annotation.
"""
from __future__ import annotations

import collections.abc
import dataclasses
import datetime
import decimal
import enum
import inspect
import math
import re
import sys
import typing
import uuid
from typing import Any, Callable, ForwardRef, Optional

from typing_extensions import Annotated, Literal, NotRequired, Required, get_args, get_origin, get_type_hints
from typing_extensions import is_typeddict as _is_typeddict

from ..http.forms import MultipartFile
from ..injection.convert import is_union

__all__ = ["SchemaBuilder", "json_value", "copy_schema", "field_hints", "own_doc", "unwrap", "BINARY", "REF_PREFIX"]

Schema = dict[str, Any]
REF_PREFIX = "#/components/schemas/"
_NONE = type(None)
_EMPTY: Any = inspect.Parameter.empty
#: Characters a component name may hold (OpenAPI 3.1, 4.8.7.1): the rest become ``_``.
_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]")

#: Classes with a fixed string rendering; ``datetime`` before ``date``, its base class.
_FORMATS: tuple[tuple[type, Schema], ...] = (
    (datetime.datetime, {"type": "string", "format": "date-time"}),
    (datetime.date, {"type": "string", "format": "date"}),
    (datetime.time, {"type": "string", "format": "time"}),
    (uuid.UUID, {"type": "string", "format": "uuid"}),
    # A string, not a number: the JSON codec writes a Decimal as its exact text, which a
    # JSON number read back as a binary float would not keep.
    (decimal.Decimal, {"type": "string", "format": "decimal"}),
)
#: Binary content, as OpenAPI 3.1 describes a file (4.8.14.3) instead of 3.0's ``format: binary``.
BINARY: Schema = {"type": "string", "contentMediaType": "application/octet-stream"}


def unwrap(tp: Any) -> Any:
    """Drop what does not change the value: ``Annotated``, ``Required``, ``NotRequired``, ``NewType``."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated or origin is Required or origin is NotRequired:
            tp = get_args(tp)[0]
        elif callable(tp) and hasattr(tp, "__supertype__"):
            tp = tp.__supertype__
        else:
            return tp


def json_value(value: Any) -> tuple[bool, Any]:
    """``(True, v)``: ``value`` as the JSON it is sent as (an enum by its value, a date as
    ISO 8601...); ``(False, None)`` when it has no JSON form (then no ``default`` is shown)."""
    if value is None or isinstance(value, bool):
        return True, value
    if isinstance(value, enum.Enum):
        return json_value(value.value)
    if isinstance(value, str):
        return True, str(value)  # a str subclass (the 1.x markers) as plain text
    if isinstance(value, int):
        return True, int(value)
    if isinstance(value, float):
        return (True, float(value)) if math.isfinite(value) else (False, None)
    if isinstance(value, (datetime.date, datetime.time)):
        return True, value.isoformat()
    if isinstance(value, (uuid.UUID, decimal.Decimal)):
        return True, str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = []
        for item in value:
            ok, converted = json_value(item)
            if not ok:
                return False, None
            items.append(converted)
        if isinstance(value, (set, frozenset)):
            try:
                items.sort()
            except TypeError:  # mixed types: any order is as good
                pass
        return True, items
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        out = {}
        for key, item in value.items():
            ok, converted = json_value(item)
            if not ok:
                return False, None
            out[str(key)] = converted
        return True, out
    return False, None


def copy_schema(schema: Schema) -> Schema:
    """A deep copy of a schema (dicts, lists and JSON scalars only: faster than ``copy.deepcopy``)."""
    return {key: _copy_value(value) for key, value in schema.items()}


def _copy_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_value(item) for item in value]
    return value


def _json_type(value: Any) -> Optional[str]:
    """The JSON Schema type name of a JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return None


def own_doc(cls: type) -> str:
    """The class's own docstring, cleaned; "" for none (not a base class's, nor what a
    dataclass or an Enum is given in place of a missing one)."""
    doc = cls.__dict__.get("__doc__")
    if not isinstance(doc, str):
        return ""
    if dataclasses.is_dataclass(cls) and doc.startswith(cls.__name__ + "(") and doc.endswith(")"):
        return ""
    if issubclass(cls, enum.Enum) and doc == "An enumeration.":  # what Python < 3.11 gives every Enum
        return ""
    return inspect.cleandoc(doc)


class _Holder:
    """An object with one annotation, for resolving annotations one at a time."""

    def __init__(self, name: str, annotation: Any) -> None:
        self.__annotations__ = {name: annotation}


def field_hints(cls: Any) -> dict[str, Any]:
    """The field types of a class; a field whose annotation does not resolve (a forward
    reference to a name that does not exist) is ``Any`` while the others keep theirs."""
    try:
        return dict(get_type_hints(cls, include_extras=True))
    except Exception:
        pass
    namespace = dict(getattr(sys.modules.get(cls.__module__), "__dict__", {}))
    local = dict(vars(cls))
    hints: dict[str, Any] = {}
    for klass in reversed(getattr(cls, "__mro__", (cls,))):
        for name, annotation in klass.__dict__.get("__annotations__", {}).items():
            try:
                hints[name] = get_type_hints(_Holder(name, annotation), namespace, local, include_extras=True)[name]
            except Exception:
                hints[name] = Any
    return hints


class SchemaBuilder:
    """The schemas of one document: ``schema(tp)`` gives the JSON Schema of a Python type
    and fills ``components`` with the named ones it refers to."""

    def __init__(self) -> None:
        #: ``components/schemas`` of the document, by name.
        self.components: dict[str, Schema] = {}
        self._names: dict[Any, str] = {}
        self._cache: dict[Any, Schema] = {}

    # -- public ------------------------------------------------------------------------
    def schema(self, tp: Any) -> Schema:
        """The schema of ``tp``: a new copy each call, so that the caller (or a plugin
        editing the document) may change it without changing other places."""
        try:
            known = self._cache.get(tp)
        except TypeError:  # an unhashable annotation (odd Annotated metadata): build afresh
            return self._build(tp)
        if known is None:
            known = self._cache[tp] = self._build(tp)
        return copy_schema(known)

    def component(self, key: Any, name: str, make: Callable[[], Schema]) -> Schema:
        """A ``$ref`` to the component of ``key`` (a class, or any hashable token), made by
        ``make`` the first time under ``name`` (or a longer name if that one is taken)."""
        known = self._names.get(key)
        if known is None:
            known = self._names[key] = self._free_name(key, name)
            self.components[known] = {}  # taken before it is built: a recursive reference finds it
            self.components[known] = make()
        return {"$ref": REF_PREFIX + known}

    # -- names -------------------------------------------------------------------------
    def _free_name(self, key: Any, name: str) -> str:
        candidates = [_NAME_CHARS.sub("_", name)]
        module, qualname = getattr(key, "__module__", None), getattr(key, "__qualname__", None)
        if isinstance(module, str) and isinstance(qualname, str):
            candidates.append(_NAME_CHARS.sub("_", f"{module}.{qualname}"))
        for candidate in candidates:
            if candidate not in self.components:
                return candidate
        base, number = candidates[-1], 2
        while f"{base}_{number}" in self.components:
            number += 1
        return f"{base}_{number}"

    # -- building ----------------------------------------------------------------------
    def _build(self, tp: Any) -> Schema:
        tp = unwrap(tp)
        if tp is _EMPTY or tp is Any or tp is object or isinstance(tp, (str, ForwardRef, typing.TypeVar)):
            return {}  # no annotation, anything, or a forward reference that did not resolve
        if tp is None or tp is _NONE:
            return {"type": "null"}
        if is_union(tp):
            return self._union(get_args(tp))
        origin = get_origin(tp)
        if origin is Literal:
            return _literal(get_args(tp))
        if origin is not None:
            return self._generic(origin, get_args(tp))
        if isinstance(tp, type):
            return self._class(tp)
        return {}

    def _union(self, members: tuple[Any, ...]) -> Schema:
        nullable = any(m is None or m is _NONE for m in members)
        schemas = [self.schema(m) for m in members if m is not None and m is not _NONE]
        if nullable and len(schemas) == 1:
            only = schemas[0]
            # ``Optional[int]`` reads best as ``type: [integer, null]``; an enum, a const or
            # a $ref cannot take the null that way.
            if isinstance(only.get("type"), str) and not {"enum", "const", "$ref"} & only.keys():
                return {**only, "type": [only["type"], "null"]}
        if nullable:
            schemas.append({"type": "null"})
        if any(s == {} for s in schemas):
            return {}
        return schemas[0] if len(schemas) == 1 else {"anyOf": schemas}

    def _generic(self, origin: Any, args: tuple[Any, ...]) -> Schema:
        if not isinstance(origin, type):
            return {}
        if issubclass(origin, tuple):
            return self._tuple(args)
        if issubclass(origin, collections.abc.Mapping):
            schema: Schema = {"type": "object"}
            value = self.schema(args[1]) if len(args) == 2 else {}
            if value:
                schema["additionalProperties"] = value
            return schema
        if issubclass(origin, (str, bytes, bytearray)):
            return self._class(origin)
        if issubclass(origin, collections.abc.Iterable):
            schema = {"type": "array"}
            items = self.schema(args[0]) if args else {}
            if items:
                schema["items"] = items
            if issubclass(origin, collections.abc.Set):
                schema["uniqueItems"] = True
            return schema
        return self._class(origin)

    def _tuple(self, args: tuple[Any, ...]) -> Schema:
        if not args:
            return {"type": "array"}
        if len(args) == 2 and args[1] is Ellipsis:
            items = self.schema(args[0])
            return {"type": "array", "items": items} if items else {"type": "array"}
        if args == ((),):  # ``Tuple[()]``, the empty tuple, before Python 3.11
            args = ()
        return {"type": "array", "prefixItems": [self.schema(a) for a in args], "items": False,
                "minItems": len(args), "maxItems": len(args)}

    def _class(self, cls: type) -> Schema:
        if issubclass(cls, enum.Enum):
            return self.component(cls, cls.__name__, lambda: _enum(cls))
        if dataclasses.is_dataclass(cls):
            return self.component(cls, cls.__name__, lambda: self._dataclass(cls))
        if _is_typeddict(cls):
            return self.component(cls, cls.__name__, lambda: self._typeddict(cls))
        if issubclass(cls, bool):
            return {"type": "boolean"}
        for base, schema in _FORMATS:
            if issubclass(cls, base):
                return dict(schema)
        if issubclass(cls, (bytes, bytearray, memoryview, MultipartFile)):
            return dict(BINARY)
        if issubclass(cls, str):
            return {"type": "string"}
        if issubclass(cls, int):
            return {"type": "integer"}
        if issubclass(cls, float):
            return {"type": "number"}
        if issubclass(cls, collections.abc.Mapping):
            return {"type": "object"}
        if issubclass(cls, (tuple, list, collections.abc.Set, collections.abc.Sequence)):
            return self._generic(cls, ())
        return {}

    def _object(self, cls: type, fields: dict[str, Schema], required: list[str]) -> Schema:
        schema: Schema = {"type": "object", "title": cls.__name__, "properties": fields}
        if required:
            schema["required"] = required
        doc = own_doc(cls)
        if doc:
            schema["description"] = doc
        return schema

    def _dataclass(self, cls: type) -> Schema:
        # Required: the fields of __init__ without a default, as the JSON converter reads them.
        hints = field_hints(cls)
        properties: dict[str, Schema] = {}
        required: list[str] = []
        for f in dataclasses.fields(cls):
            prop = self.schema(hints.get(f.name, Any))
            if not f.init:
                # Not read from a request body, but written in a response (every field is).
                prop["readOnly"] = True
                properties[f.name] = prop
                continue
            if f.default is not dataclasses.MISSING:
                ok, default = json_value(f.default)
                if ok:
                    prop["default"] = default
            elif f.default_factory is dataclasses.MISSING:
                required.append(f.name)
            properties[f.name] = prop
        return self._object(cls, properties, required)

    def _typeddict(self, cls: type) -> Schema:
        hints = field_hints(cls)
        declared = frozenset(getattr(cls, "__required_keys__", hints))
        properties: dict[str, Schema] = {}
        required: list[str] = []
        for name, hint in hints.items():
            # As the JSON converter decides: Required/NotRequired first (``__required_keys__``
            # cannot see them in string annotations), then the class's totality.
            marker = get_origin(hint)
            if marker is Required or (marker is not NotRequired and name in declared):
                required.append(name)
            properties[name] = self.schema(hint)
        return self._object(cls, properties, required)


def _literal(values: tuple[Any, ...]) -> Schema:
    plain = [json_value(v)[1] for v in values]
    types = {_json_type(v) for v in plain}
    schema: Schema = {"const": plain[0]} if len(plain) == 1 else {"enum": plain}
    if len(types) == 1 and None not in types:
        schema = {"type": types.pop(), **schema}
    return schema


def _enum(cls: type[enum.Enum]) -> Schema:
    values = [json_value(member.value)[1] for member in cls]
    schema: Schema = {"title": cls.__name__, "enum": values}
    types = {_json_type(v) for v in values}
    if len(types) == 1 and None not in types:
        schema = {"type": types.pop(), **schema}
    doc = own_doc(cls)
    if doc:
        schema["description"] = doc
    return schema
