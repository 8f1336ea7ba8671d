"""How an application writes and reads JSON: one object, chosen by the ``naja_atra_json_codec`` hook."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Union


@dataclass(frozen=True)
class JsonCodec:
    """``dumps(value) -> str | bytes`` renders controller results (and JSON WebSocket
    messages); ``loads(data) -> value`` reads JSON request bodies. A plugin returns one
    from ``naja_atra_json_codec`` to use a faster library or to render its own types."""

    dumps: Callable[[Any], Union[str, bytes]]
    loads: Callable[[Union[str, bytes]], Any]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


#: The built-in codec (the standard library's ``json``).
DEFAULT_JSON_CODEC = JsonCodec(dumps=_dumps, loads=json.loads)
