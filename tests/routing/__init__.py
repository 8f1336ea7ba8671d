"""Tests of naja_atra.routing, with the small fakes they share."""
from __future__ import annotations

from typing import Any, Iterator, Mapping, Optional, Sequence

from naja_atra.app.routes import Route


class CaseInsensitiveHeaders(Mapping[str, str]):
    """A minimal header mapping whose names compare case-insensitively, like Request.headers."""

    def __init__(self, items: Optional[Mapping[str, str]] = None) -> None:
        self._items = {k.lower(): (k, v) for k, v in (items or {}).items()}

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)


class FakeRequest:
    """What a router may read from a request: query parameters and headers."""

    def __init__(
        self,
        parameters: Optional[Mapping[str, Sequence[str]]] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.parameters: Mapping[str, Sequence[str]] = parameters or {}
        self.headers: Mapping[str, str] = CaseInsensitiveHeaders(headers)


def handler(name: str) -> Any:
    """A distinct controller function whose qualified name is ``name``."""

    def controller() -> str:
        return name

    controller.__qualname__ = name
    return controller


def route(name: str, path: str = "", **kwargs: Any) -> Route:
    """A Route whose handler is called ``name``."""
    return Route(handler(name), path=path, **kwargs)
