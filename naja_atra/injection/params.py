"""The description of a controller parameter, as resolvers see it."""
from __future__ import annotations

import inspect
import typing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from typing_extensions import Annotated, get_args, get_origin, get_type_hints

from .convert import is_union

if TYPE_CHECKING:
    from ..app.context import RequestContext

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
    except Exception:
        # One unresolvable forward reference fails the whole call: resolve the others one
        # by one (``from __future__ import annotations`` makes every annotation a string)
        # and leave only the unresolvable ones as strings, for the build to name.
        raw = dict(getattr(func, "__annotations__", {}))
        namespace = getattr(inspect.unwrap(func), "__globals__", {})
        hints: dict[str, Any] = {}
        for name, annotation in raw.items():
            try:
                hints[name] = get_type_hints(_Holder(name, annotation), namespace, include_extras=True)[name]
            except Exception:
                hints[name] = annotation
        return hints


class _Holder:
    """An object with one annotation, for resolving annotations one at a time."""

    def __init__(self, name: str, annotation: Any) -> None:
        self.__annotations__ = {name: annotation}


def split_annotated(annotation: Any) -> tuple[Any, tuple[Any, ...]]:
    """``Annotated[T, m, ...]`` -> ``(T, (m, ...))``.

    Also finds the metadata of ``Optional[Annotated[T, m]]``, which is what
    ``get_type_hints`` makes of ``x: Query[int] = None`` before Python 3.11 (it wraps the
    annotation of a ``None`` default in ``Optional``): that gives ``(Optional[T], (m,))``.
    """
    if get_origin(annotation) is Annotated:
        inner, *rest = get_args(annotation)
        return inner, tuple(rest)
    if is_union(annotation):
        args = get_args(annotation)
        metadata: list[Any] = []
        plain: list[Any] = []
        for arg in args:
            plain_arg, extra = split_annotated(arg)
            plain.append(plain_arg)
            metadata.extend(extra)
        if metadata:
            return typing.Union[tuple(plain)], tuple(metadata)
    return annotation, ()


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
        annotation, metadata = split_annotated(hints.get(p.name, EMPTY))
        params.append(Param(p.name, annotation, p.default, metadata,
                            p.kind is inspect.Parameter.KEYWORD_ONLY))
    return params


