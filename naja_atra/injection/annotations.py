"""Describing annotations: what a type annotation stands for, and its name in an error answer.

Shared by the converters (:mod:`naja_atra.injection.convert`), the argument kinds
(:mod:`naja_atra.injection.builtin`) and whoever documents them. Everything here runs at
build time.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from typing_extensions import Annotated, Literal, NotRequired, Required, get_args, get_origin
from typing_extensions import is_typeddict as _is_typeddict

from .scalars import text_type

__all__ = ["unwrap", "is_union", "strip_optional", "type_label", "is_sequence_type", "is_body_type", "NONE_TYPE"]

#: ``type(None)``, as it appears in ``Optional[X]``.
NONE_TYPE = type(None)
_NONE = NONE_TYPE
_UNION_TYPE: Any = getattr(types, "UnionType", None)  # ``int | None`` on Python 3.10+


def unwrap(tp: Any) -> Any:
    """Drop what does not change the value's type: ``Annotated``, ``Required``,
    ``NotRequired`` and ``NewType``."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated or origin is Required or origin is NotRequired:
            tp = get_args(tp)[0]
        elif callable(tp) and hasattr(tp, "__supertype__"):  # NewType
            tp = tp.__supertype__
        else:
            return tp


def is_union(tp: Any) -> bool:
    """Whether ``tp`` is a ``Union[...]`` (``Optional[...]``, ``A | B``)."""
    origin = get_origin(tp)
    return origin is typing.Union or (_UNION_TYPE is not None and origin is _UNION_TYPE)


def strip_optional(tp: Any) -> tuple[Any, bool]:
    """``Optional[X]`` -> ``(X, True)``; any other type -> ``(tp, False)``.

    ``Optional[Union[A, B]]`` gives ``(Union[A, B], True)``.
    """
    if is_union(tp):
        args = get_args(tp)
        rest = tuple(a for a in args if a is not _NONE)
        if len(rest) < len(args):
            return (rest[0] if len(rest) == 1 else typing.Union[rest]), True
    return tp, False


def type_label(tp: Any) -> str:
    """A short, readable name of a type for error answers: ``int``, ``list[int]``,
    ``int | None``, ``Literal['a', 'b']``."""
    tp = unwrap(tp)
    if tp is Any:
        return "any"
    if tp is _NONE or tp is None:
        return "None"
    if is_union(tp):
        return " | ".join(type_label(a) for a in get_args(tp))
    origin = get_origin(tp)
    if origin is Literal:
        return "Literal[" + ", ".join(repr(a) for a in get_args(tp)) + "]"
    if origin is not None:
        args = get_args(tp)
        base = getattr(origin, "__name__", str(origin))
        if not args:
            return str(base)
        inner = ", ".join("..." if a is Ellipsis else type_label(a) for a in args)
        return f"{base}[{inner}]"
    known = text_type(tp)
    if known is not None:  # "uuid", "decimal": the names a client reads in the 400
        return known.label
    if isinstance(tp, type):
        return tp.__name__
    return str(tp)


def is_sequence_type(tp: Any) -> bool:
    """Whether ``tp`` (``Optional`` removed first) is a list, tuple or set type: the
    annotations that take every value of a repeated parameter."""
    tp = unwrap(strip_optional(unwrap(tp))[0])
    origin = get_origin(tp) or tp
    return origin in (list, tuple, set, frozenset, typing.List, typing.Tuple, typing.Set, typing.FrozenSet)


def is_body_type(tp: Any) -> bool:
    """Whether a plain annotation ``tp`` stands for the JSON body: a dataclass or a
    ``TypedDict`` (``Optional`` of one too)."""
    tp = unwrap(strip_optional(unwrap(tp))[0])
    return (isinstance(tp, type) and dataclasses.is_dataclass(tp)) or _is_typeddict(tp)
