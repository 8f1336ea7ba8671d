"""The description of a controller parameter, as resolvers see it."""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, get_type_hints

from typing_extensions import Annotated, get_args, get_origin

if TYPE_CHECKING:
    from ..context import RequestContext

EMPTY: Any = inspect.Parameter.empty

#: A resolver produces one argument: ``resolver(ctx)`` returns the value, or an awaitable
#: of it when the resolver is a coroutine function or has ``is_async = True``.
Resolver = Callable[["RequestContext"], Any]


@dataclass
class Param:
    """One controller parameter: its name, annotation (``Annotated`` unwrapped, its extra
    items in ``metadata``), default (``Param.EMPTY`` when it has none) and whether it must
    be passed by keyword."""

    name: str
    annotation: Any = EMPTY
    default: Any = EMPTY
    metadata: tuple[Any, ...] = ()
    keyword_only: bool = False
    EMPTY: Any = field(default=EMPTY, init=False, repr=False)

    @property
    def has_default(self) -> bool:
        """True when the parameter has a default value."""
        return self.default is not EMPTY


def is_async_resolver(resolver: Resolver) -> bool:
    """Whether calling ``resolver`` gives an awaitable."""
    return bool(getattr(resolver, "is_async", False)) or inspect.iscoroutinefunction(resolver)


def _hints(func: Callable[..., Any]) -> dict[str, Any]:
    try:
        return get_type_hints(func, include_extras=True)
    except Exception:  # unresolvable forward references: fall back to the raw annotations
        return dict(getattr(func, "__annotations__", {}))


def controller_params(func: Callable[..., Any], skip_first: bool = False) -> list[Param]:
    """The parameters of ``func`` to resolve (``self`` skipped when ``skip_first``)."""
    sig = inspect.signature(func)
    hints = _hints(func)
    params: list[Param] = []
    for index, p in enumerate(sig.parameters.values()):
        if skip_first and index == 0:
            continue
        if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        annotation = hints.get(p.name, EMPTY)
        metadata: tuple[Any, ...] = ()
        if get_origin(annotation) is Annotated:
            annotation, *extra = get_args(annotation)
            metadata = tuple(extra)
        params.append(Param(p.name, annotation, p.default, metadata,
                            p.kind is inspect.Parameter.KEYWORD_ONLY))
    return params


