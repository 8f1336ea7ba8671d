"""A case-insensitive header mapping for requests."""
from __future__ import annotations

from typing import Iterable, Iterator, MutableMapping, Optional


class HeaderMap(MutableMapping[str, str]):
    """Request headers: look-ups ignore case, iteration yields the names as the client sent them.

    A header sent several times reads as its values joined by ``", "`` (``"; "`` for Cookie);
    :meth:`get_all` returns them one by one. Filters may add or replace entries.
    """

    __slots__ = ("_values", "_names", "_lists")

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self._values: dict[str, str] = {}
        self._names: dict[str, str] = {}
        self._lists: dict[str, list[str]] = {}
        for name, value in pairs:
            self.add(name, value)

    def add(self, name: str, value: str) -> None:
        """Append one more value for ``name``."""
        key = name.lower()
        if key in self._values:
            self._lists.setdefault(key, [self._values[key]]).append(value)
            sep = "; " if key == "cookie" else ", "
            self._values[key] = self._values[key] + sep + value
        else:
            self._values[key] = value
            self._names[key] = name

    def get_all(self, name: str) -> list[str]:
        """Every value sent for ``name``, in order."""
        key = name.lower()
        if key in self._lists:
            return list(self._lists[key])
        value = self._values.get(key)
        return [] if value is None else [value]

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()]

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:  # type: ignore[override]
        return self._values.get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values

    def __setitem__(self, name: str, value: str) -> None:
        key = name.lower()
        self._values[key] = value
        self._names[key] = name
        self._lists.pop(key, None)

    def __delitem__(self, name: str) -> None:
        key = name.lower()
        del self._values[key]
        del self._names[key]
        self._lists.pop(key, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names.values())

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"HeaderMap({dict(self.items())!r})"
