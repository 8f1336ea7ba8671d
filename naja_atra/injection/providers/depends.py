"""The public marker ``Depends(provider, scope=...)`` (a :class:`Dependency` at run time)
and :func:`dependency_of`, which finds it on a parameter.

A ``Depends`` goes where a parameter's value is described: as its default
(``db: Database = Depends(get_db)``) or in its ``Annotated`` metadata
(``db: Annotated[Database, Depends(get_db)]``). Its scope is one of :data:`.scopes.SCOPES`.
"""
from __future__ import annotations

from typing import Any, AsyncIterator, Awaitable, Callable, Iterator, Optional, TypeVar, overload

from ...http.errors import ConfigurationError
from ..params import Param
from .kinds import provider_name
from .scopes import SCOPES, Scope

T = TypeVar("T")


class Dependency:
    """The marker ``Depends(...)`` builds: ``provider`` and its ``scope``.

    Hashable, so it can sit in ``Annotated`` metadata.
    """

    __slots__ = ("provider", "scope")

    def __init__(self, provider: Callable[..., Any], scope: str = "request") -> None:
        if not callable(provider):
            raise ConfigurationError(f"Depends() takes a callable provider, not {provider!r}")
        if scope not in SCOPES:
            raise ConfigurationError(f"Depends({provider_name(provider)}): unknown scope {scope!r}; "
                                     f"one of {', '.join(sorted(SCOPES))}")
        self.provider = provider
        self.scope = scope

    # By the provider's identity (what the graph is keyed on), which also keeps a provider
    # that is not hashable usable inside ``Annotated``. Not by ``str``-like equality as the
    # SPEC markers: typing caches ``Annotated[...]`` by its metadata's equality.
    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dependency) and other.provider is self.provider and other.scope == self.scope

    def __hash__(self) -> int:
        return hash((Dependency, id(self.provider), self.scope))

    def __repr__(self) -> str:
        scope = "" if self.scope == "request" else f", scope={self.scope!r}"
        return f"Depends({provider_name(self.provider)}{scope})"


# The overloads type ``Depends(p)`` as the value ``p`` provides, so that ``db: Database =
# Depends(get_db)`` checks and ``db: int = Depends(get_db)`` is flagged. Order matters: an
# async generator function returns an ``AsyncIterator``, a generator an ``Iterator``, an
# async function an ``Awaitable``; the last overload is every other callable (a class too).
# A plain function *annotated* to return an iterator is typed as a generator provider.
# Being a function (not a class whose ``__new__`` lies about its type) keeps this readable
# by every type checker.
@overload
def Depends(provider: Callable[..., AsyncIterator[T]], scope: Scope = ...) -> T: ...


@overload
def Depends(provider: Callable[..., Iterator[T]], scope: Scope = ...) -> T: ...


@overload
def Depends(provider: Callable[..., Awaitable[T]], scope: Scope = ...) -> T: ...


@overload
def Depends(provider: Callable[..., T], scope: Scope = ...) -> T: ...


def Depends(provider: Callable[..., Any], scope: str = "request") -> Any:
    """Inject what ``provider`` makes: ``db: Database = Depends(get_db)`` or
    ``db: Annotated[Database, Depends(get_db)]``; ``scope`` is ``"request"`` (default),
    ``"app"`` or ``"transient"``. Typed as the provider's value; at run time a
    :class:`Dependency`. The name is the one FastAPI users know."""
    return Dependency(provider, scope)


def dependency_of(param: Param) -> Optional[Dependency]:
    """The ``Depends`` of ``param``: in its ``Annotated`` metadata, else its default."""
    for meta in param.metadata:
        if isinstance(meta, Dependency):
            return meta
    default = param.default
    return default if isinstance(default, Dependency) else None
