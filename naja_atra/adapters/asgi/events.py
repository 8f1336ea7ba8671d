"""The ASGI types, and response headers as an ASGI server wants them."""
from __future__ import annotations

from typing import Any, Awaitable, Callable, Iterable, MutableMapping

__all__ = ["Scope", "Message", "Receive", "Send", "SERVER_HEADERS", "asgi_headers"]

#: An ASGI connection scope, and the events exchanged over it.
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Response headers the ASGI server owns: connection management and framing, and Date.
SERVER_HEADERS = frozenset(("connection", "keep-alive", "proxy-connection", "transfer-encoding",
                            "upgrade", "te", "trailer", "date"))


def asgi_headers(headers: Iterable[tuple[str, str]], dropped: frozenset[str] = SERVER_HEADERS
                 ) -> list[tuple[bytes, bytes]]:
    """``headers`` as ASGI header pairs (lower-case byte names), without the ``dropped`` ones."""
    pairs = []
    for name, value in headers:
        lower = name.lower()
        if lower not in dropped:
            pairs.append((lower.encode("latin-1"), value.encode("latin-1")))
    return pairs
