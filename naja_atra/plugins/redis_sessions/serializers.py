"""How attribute values become the bytes stored in Redis, and back."""
from __future__ import annotations

import json
from typing import Any, Protocol

__all__ = ["JsonSerializer", "Serializer"]


class Serializer(Protocol):
    """Turns attribute values into bytes for Redis and back."""

    def dumps(self, value: Any) -> bytes:
        """The bytes stored for ``value``."""
        ...

    def loads(self, data: bytes) -> Any:
        """The value stored as ``data``."""
        ...


class JsonSerializer:
    """JSON (UTF-8): str, int, float, bool, None, lists and dicts with string keys.

    Other values fail at ``set_attribute`` with ``TypeError``; tuples come back as lists.
    Pass your own serializer (any object with ``dumps``/``loads``) for richer values; only
    use ``pickle`` if nobody else can write to your Redis.
    """

    def dumps(self, value: Any) -> bytes:
        """``value`` as compact UTF-8 JSON."""
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def loads(self, data: bytes) -> Any:
        """The value of UTF-8 JSON ``data``."""
        return json.loads(data.decode("utf-8"))

    def __repr__(self) -> str:
        return "JsonSerializer()"
