"""What a driver writes after the application has handled a request."""
from __future__ import annotations

from typing import Any, Iterable, Optional


class Outgoing:
    """The bytes still to send for one response.

    ``head`` is the status line and headers (empty when a streamed response already sent
    them), ``body`` the body pieces in order (a list, or a generator over a file that the
    driver must exhaust or close), ``close`` whether the connection ends after it.
    ``upgrade``, after a ``101``, takes the connection over (see ``naja_atra.websocket``).
    """

    __slots__ = ("head", "body", "close", "upgrade")

    def __init__(self, head: bytes, body: Iterable[bytes] = (), close: bool = False,
                 upgrade: Optional[Any] = None) -> None:
        self.head = head
        self.body = body
        self.close = close
        self.upgrade = upgrade
