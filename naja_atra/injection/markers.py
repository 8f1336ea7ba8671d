"""Markers that say where a controller argument comes from.

Each is used as a parameter's default (``name=Parameter("name", default="x")``), as its
annotation (``token: Header``) or inside ``Annotated`` (``page: Annotated[int,
Parameter("p")] = 1``). Markers that stand for a single string value are ``str``
subclasses holding that value, as in the original framework, so a marker default doubles
as the fallback value.

For type checkers the markers that carry a default are typed by it: ``Parameter("page",
default=1)`` is an ``int``, so ``page: int = Parameter("page", default=1)`` checks and
``page: int = Parameter("page", default="1")`` is flagged (their ``__new__`` overloads
return the default's type; at run time the object is still the marker).
``Parameter("x", required=True)`` and ``PathValue()`` are ``Any``: the value is whatever
the annotation says, converted from the request. See ``naja_atra.injection.aliases`` for
``Query[int]``-style annotations.
"""
from __future__ import annotations

from http.cookies import Morsel
from typing import Any, List, Optional, Sequence, TypeVar, overload

from typing_extensions import Literal, Self

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
    "Source",
]

T = TypeVar("T")


class Marker:
    """Base of the markers that name a value (``name`` empty means: the parameter's name)."""

    name: str
    required: bool


class _MarkerStr(str, Marker):
    """A marker that is also its string value.

    Two markers of the same class are equal only when they name the same thing (same
    string, same ``_identity``), and markers of different classes never are:
    ``Annotated[int, Parameter("p")]`` and ``Annotated[int, Parameter("s")]`` (or
    ``Annotated[int, PathValue()]`` and ``Annotated[int, Header("X")]``, both of string value
    ``""``) must not be cached by ``typing`` as one type, which Python 3.10 does by equality.
    Against anything else a marker compares as its string value, so ``name == name2`` of the
    original API holds.
    """

    def _identity(self) -> tuple[Any, ...]:
        return (self.name,)

    def __eq__(self, other: object) -> bool:
        if type(other) is type(self):
            assert isinstance(other, _MarkerStr)
            return str.__eq__(self, other) and self._identity() == other._identity()
        if isinstance(other, Marker):
            return False
        return str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = str.__hash__


class _NamedStr(_MarkerStr):
    """A named string marker whose string value is its default.

    The overloads type the marker as the value a controller receives: the marker itself
    (a ``str``) without a default, the default's type with one, ``Any`` when required
    (then the annotation alone decides the type). The typing spec ("Constructors") gives a
    call the type ``__new__`` returns when that is not an instance of the class; mypy
    (2.x; older releases fall back to the class) follows it but still reports such a
    ``__new__`` on its definition, hence the ignores.
    """

    default: Any

    @overload
    def __new__(cls, name: str = ..., *, required: Literal[False] = ...) -> Self: ...

    @overload
    def __new__(cls, name: str = ..., *, required: bool) -> Any: ...

    @overload
    def __new__(cls, name: str, default: T, required: bool = ...) -> T: ...  # type: ignore[misc]

    @overload
    def __new__(cls, *, default: T, name: str = ..., required: bool = ...) -> T: ...  # type: ignore[misc]

    def __new__(cls, name: str = "", default: Any = "", required: bool = False, **_: Any) -> Any:
        obj = str.__new__(cls, "" if default is None else str(default))
        obj.name = name
        obj.required = required
        obj.default = default
        return obj

    def __getnewargs_ex__(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (self.name, self.default, self.required), {}

    def _identity(self) -> tuple[Any, ...]:
        return (self.name, repr(self.default), self.required)


class Parameter(_NamedStr):
    """A query or form parameter: ``Parameter("page", default="1", required=False)``."""


class Header(_NamedStr):
    """A request header: ``Header("User-Agent")``; as an annotation the parameter's name is used."""


class PathValue(_MarkerStr):
    """A ``{name}`` segment of the route's path, or the part a ``*``/``**`` wildcard matched.

    Typed ``Any`` as a default: ``user_id: int = PathValue("id")`` converts the segment to
    ``int``; with a ``str`` (or no) annotation the value is a ``PathValue`` string.
    """

    def __new__(cls, name: str = "", _value: str = "", **_: Any) -> Any:
        obj = str.__new__(cls, _value)
        obj.name = name
        obj.required = True
        return obj

    def __getnewargs_ex__(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (self.name, str(self)), {}


class RegGroup(_MarkerStr):
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

    def _identity(self) -> tuple[Any, ...]:
        return (self.group,)


class _ListMarker(List[Any], Marker):
    """The run-time construction of ``Parameters`` (kept apart so that type checkers read
    the typed ``Parameters.__new__``, which comes first in the MRO, not this ``__init__``)."""

    def __init__(self, name: str = "", default: Optional[Sequence[Any]] = None, required: bool = False) -> None:
        super().__init__(default or [])
        self.name = name
        self.required = required


class Parameters(_ListMarker):
    """Every value of a query or form parameter: ``Parameters("tag", default=[])``.

    Typed as the annotation's list (``tags: list[int] = Parameters("tag")``, items
    converted), or as the default's list type when a default is given.
    """

    @overload
    def __new__(cls, name: str = ..., default: None = ..., required: bool = ...) -> Parameters: ...

    @overload
    def __new__(cls, name: str, default: Sequence[T], required: bool = ...) -> list[T]: ...  # type: ignore[misc]

    @overload
    def __new__(cls, *, default: Sequence[T], name: str = ..., required: bool = ...) -> list[T]: ...  # type: ignore[misc]

    def __new__(cls, name: str = "", default: Any = None, required: bool = False) -> Any:
        return super().__new__(cls)


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


class Source(Marker):
    """Where an ``Annotated`` alias of ``naja_atra.injection.aliases`` reads its value:
    ``Source("query")``, ``"header"``, ``"cookie"``, ``"path"`` or ``"body"``, under
    ``name`` (empty: the parameter's name). Hashable, unlike the SPEC markers that are
    ``dict``/``list`` subclasses, so it can sit in ``Annotated`` metadata."""

    __slots__ = ("kind", "name", "required")
    KINDS = frozenset(("query", "header", "cookie", "path", "body"))

    def __init__(self, kind: str, name: str = "") -> None:
        if kind not in self.KINDS:
            raise ValueError(f"unknown source {kind!r}; one of {sorted(self.KINDS)}")
        self.kind = kind
        self.name = name
        self.required = False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Source) and (other.kind, other.name) == (self.kind, self.name)

    def __hash__(self) -> int:
        return hash((Source, self.kind, self.name))

    def __repr__(self) -> str:
        return f"Source({self.kind!r}, {self.name!r})" if self.name else f"Source({self.kind!r})"
