"""Markers that say where a controller argument comes from.

Each is used as a parameter's default (``name=Parameter("name", default="x")``) or as its
annotation (``token: Header``). Markers that stand for a single string value are ``str``
subclasses holding that value, as in the original framework, so a marker default doubles
as the fallback value.
"""
from __future__ import annotations

from http.cookies import Morsel
from typing import Any, Optional

from ..http.request import Cookies

__all__ = [
    "Parameter",
    "Parameters",
    "Header",
    "Headers",
    "Cookie",
    "Cookies",
    "PathValue",
    "RegGroup",
    "RegGroups",
    "JSONBody",
    "BytesBody",
    "ModelDict",
    "Environment",
    "Marker",
]


class Marker:
    """Base of the markers that name a value (``name`` empty means: the parameter's name)."""

    name: str
    required: bool


class _NamedStr(str, Marker):
    """A named string marker whose string value is its default."""

    def __new__(cls, name: str = "", default: Any = "", required: bool = False, **_: Any) -> _NamedStr:
        obj = str.__new__(cls, "" if default is None else str(default))
        obj.name = name
        obj.required = required
        obj.default = default
        return obj

    default: Any

    def __getnewargs_ex__(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (self.name, self.default, self.required), {}


class Parameter(_NamedStr):
    """A query or form parameter: ``Parameter("page", default="1", required=False)``."""


class Header(_NamedStr):
    """A request header: ``Header("User-Agent")``; as an annotation the parameter's name is used."""


class PathValue(str, Marker):
    """A ``{name}`` segment of the route's path, or the part a ``*``/``**`` wildcard matched."""

    def __new__(cls, name: str = "", _value: str = "", **_: Any) -> PathValue:
        obj = str.__new__(cls, _value)
        obj.name = name
        obj.required = True
        return obj

    def __getnewargs_ex__(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (self.name, str(self)), {}


class RegGroup(str, Marker):
    """Group ``group`` of the route's regular expression match (0 is the first group)."""

    group: int

    def __new__(cls, group: int = 0, _value: str = "", **_: Any) -> RegGroup:
        obj = str.__new__(cls, _value)
        obj.group = group
        obj.name = ""
        obj.required = True
        return obj

    def __getnewargs_ex__(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (self.group, str(self)), {}


class Parameters(list, Marker):  # type: ignore[type-arg]
    """Every value of a query or form parameter: ``Parameters("tag", default=[])``."""

    def __init__(self, name: str = "", default: Optional[list[str]] = None, required: bool = False) -> None:
        super().__init__(default or [])
        self.name = name
        self.required = required


class Cookie(Morsel, Marker):  # type: ignore[type-arg]
    """One request cookie: ``Cookie("sid", default="", required=False)``."""

    def __init__(self, name: str = "", default: str = "", default_options: Optional[dict[str, str]] = None,
                 required: bool = False) -> None:
        super().__init__()
        if name:
            self.set(name, default, default)
        for key, value in (default_options or {}).items():
            self[key] = value
        self.name = name
        self.required = required


class Headers(dict):  # type: ignore[type-arg]
    """All request headers as an annotation or default; as a return value, headers to send."""

    def __init__(self, headers: Optional[dict[str, Any]] = None) -> None:
        super().__init__(headers or {})


class RegGroups(tuple):  # type: ignore[type-arg]
    """Every group of the route's regular expression match."""


class JSONBody(dict):  # type: ignore[type-arg]
    """The request body decoded from JSON (400 when the content type is not JSON)."""


class BytesBody(bytes):
    """The raw request body."""


class ModelDict(dict):  # type: ignore[type-arg]
    """All parameters as a dict: a name sent once maps to its value, several times to a list."""


class Environment(dict):  # type: ignore[type-arg]
    """The request's environment (set by the ASGI/WSGI adapters and filters)."""
