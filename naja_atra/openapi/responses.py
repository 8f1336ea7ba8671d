"""An operation's ``responses``: the success response from the controller's return
annotation, and the 400 of bad arguments.

The success response follows what the built-in converters do with the returned value:

- no annotation (or ``Any``): a 200 whose content is not described;
- ``None``: a 200 with no content;
- ``str``: ``text/html`` (a returned string is sent as HTML);
- ``bytes``: ``application/octet-stream``, no schema;
- ``Redirect``: a 302 with a ``Location`` header;
- ``Response``, ``StaticFile``, a status, a tuple, an iterator...: a 200 whose content
  the annotation does not tell;
- anything else (a dataclass, a ``TypedDict``, a list, a dict...): ``application/json``
  with the type's schema. ``Optional[X]`` is described as ``X`` (``None`` sends no body,
  not ``null``).

The 400 is described when a route has an argument that may be missing or may not
convert. Its content is the JSON :class:`~naja_atra.http.errors.InjectionError` answer,
unless the application has an error page for 400, which then renders it instead.
"""
from __future__ import annotations

import collections.abc
import inspect
from http.cookies import BaseCookie
from typing import TYPE_CHECKING, Any, Callable

from typing_extensions import get_args, get_origin, get_type_hints

from ..http.errors import LOCATIONS, ArgumentError, HttpError, InjectionError
from ..http.response import Response
from ..http.results import Redirect, StaticFile
from ..injection.convert import is_union, strip_optional
from ..plugins.errors import page_for
from .schema import SchemaBuilder, unwrap

if TYPE_CHECKING:
    from ..app.application import Application

__all__ = ["return_annotation", "success_response", "bad_request_response"]

_EMPTY: Any = inspect.Parameter.empty
_NONE = type(None)
#: Results whose body a return annotation does not describe.
_UNDESCRIBED: tuple[type, ...] = (Response, StaticFile, HttpError, BaseCookie, tuple, int)
#: Annotations of results produced over time (streamed) or later (awaited).
_DEFERRED = (collections.abc.Iterator, collections.abc.AsyncIterator, collections.abc.Awaitable)
#: Results with a media type of their own (not JSON).
_OWN_MEDIA_TYPE: tuple[type, ...] = (str, bytes, bytearray, Redirect)
_OK = "Successful response"


class _Holder:
    def __init__(self, annotation: Any) -> None:
        self.__annotations__ = {"return": annotation}


def return_annotation(func: Callable[..., Any]) -> Any:
    """The resolved return annotation of ``func``; ``EMPTY`` without one or when it does
    not resolve (a forward reference to a missing name)."""
    raw = getattr(func, "__annotations__", {})
    if "return" not in raw:
        return _EMPTY
    # Only this annotation is resolved: the parameters' were, by the build, and resolving
    # each string annotation again costs an ``eval`` per parameter of every route.
    namespace = getattr(inspect.unwrap(func), "__globals__", {})
    try:
        return get_type_hints(_Holder(raw["return"]), namespace, include_extras=True)["return"]
    except Exception:
        return _EMPTY


def _is_class(tp: Any, bases: tuple[type, ...]) -> bool:
    return isinstance(tp, type) and issubclass(tp, bases)


def _plain(annotation: Any) -> Any:
    """The annotation of the value sent: ``Annotated`` and ``Optional`` removed, an
    ``Awaitable[X]`` taken as ``X``."""
    annotation = strip_optional(unwrap(annotation))[0]
    origin = get_origin(annotation)
    if _is_class(origin, (collections.abc.Awaitable,)) and not _is_class(origin, (collections.abc.AsyncIterator,)):
        args = get_args(annotation)
        return _plain(args[-1]) if args else _EMPTY
    return unwrap(annotation)


def _undescribed(annotation: Any) -> bool:
    """Whether the annotation is (or, for a union, may be) a result whose content it does
    not tell, or whose media type depends on the value returned."""
    if is_union(annotation):
        return any(_undescribed(member) or _is_class(member, _OWN_MEDIA_TYPE) for member in get_args(annotation))
    origin = get_origin(annotation) or annotation
    return _is_class(origin, _UNDESCRIBED + _DEFERRED)


def success_response(builder: SchemaBuilder, annotation: Any) -> tuple[str, dict[str, Any]]:
    """``(status, response object)`` of a controller returning ``annotation``."""
    if annotation is _EMPTY:
        return "200", {"description": _OK}
    annotation = _plain(annotation)
    if annotation is _EMPTY or annotation is Any or annotation is object:
        return "200", {"description": _OK}
    if annotation is None or annotation is _NONE:
        return "200", {"description": _OK + ", no content"}
    if _is_class(annotation, (Redirect,)):
        return "302", {"description": "Redirect", "headers": {
            "Location": {"description": "Where to go", "schema": {"type": "string"}}}}
    if _is_class(annotation, (bytes, bytearray)):
        return "200", {"description": _OK, "content": {"application/octet-stream": {}}}
    if _is_class(annotation, (str,)):
        return "200", {"description": _OK, "content": {"text/html": {"schema": {"type": "string"}}}}
    if _undescribed(annotation):
        return "200", {"description": _OK}
    return "200", {"description": _OK, "content": {"application/json": {"schema": builder.schema(annotation)}}}


def _argument_error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "title": "ArgumentError",
        "description": "One bad or missing argument.",
        "properties": {
            "name": {"type": "string", "description": "The parameter, header or cookie name; for a body, "
                                                      "the path of the bad field (items[2].price)."},
            "in": {"type": "string", "enum": list(LOCATIONS)},
            "expected": {"type": "string", "description": "The type expected."},
            "received": {"description": "The value sent; null when it was missing."},
            "reason": {"type": "string"},
        },
        "required": ["name", "in", "expected", "received", "reason"],
    }


def _injection_error_schema(builder: SchemaBuilder) -> dict[str, Any]:
    item = builder.component(ArgumentError, "ArgumentError", _argument_error_schema)
    return {
        "type": "object",
        "title": "InjectionError",
        "description": "The request's bad arguments, every one listed.",
        "properties": {
            "code": {"type": "integer", "const": 400},
            "message": {"type": "string"},
            "explain": {"type": "string"},
            "errors": {"type": "array", "items": item},
        },
        "required": ["code", "message", "explain", "errors"],
    }


def bad_request_response(builder: SchemaBuilder, app: Application) -> dict[str, Any]:
    """The 400 of a route with arguments that may be missing or not convert."""
    response: dict[str, Any] = {"description": "Missing or invalid arguments"}
    if page_for(app.registry.error_pages, 400) is None:
        ref = builder.component(InjectionError, "InjectionError", lambda: _injection_error_schema(builder))
        response["content"] = {"application/json": {"schema": ref}}
    return response
