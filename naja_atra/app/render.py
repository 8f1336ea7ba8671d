"""Applying a controller's return value to the response, by the value's type."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional

if TYPE_CHECKING:
    from .context import RequestContext

#: ``converter(value, ctx)`` applies a return value to ``ctx.response``.
Converter = Callable[[Any, "RequestContext"], None]


class Renderer:
    """Finds the converter for a value's type (its class or nearest base), caching the answer."""

    __slots__ = ("_by_type", "_cache")

    def __init__(self, pairs: Iterable[tuple[type, Converter]]) -> None:
        self._by_type: dict[type, Converter] = {}
        for tp, converter in pairs:
            self._by_type[tp] = converter
        self._cache: dict[type, Optional[Converter]] = dict(self._by_type)

    def converter_for(self, tp: type) -> Optional[Converter]:
        """The converter for ``tp``, or None."""
        try:
            return self._cache[tp]
        except KeyError:
            pass
        found = None
        for base in tp.__mro__:
            if base in self._by_type:
                found = self._by_type[base]
                break
        self._cache[tp] = found
        return found

    def apply(self, value: Any, ctx: RequestContext) -> None:
        """Apply ``value`` to ``ctx.response``; ``TypeError`` if no converter knows its type."""
        if value is None:
            return
        converter = self.converter_for(type(value))
        if converter is None:
            raise TypeError(f"No response converter handles a returned {type(value).__name__}")
        converter(value, ctx)
