"""What a driver writes after the application has handled a request."""
from __future__ import annotations

from typing import Iterable


class Outgoing:
    """The bytes still to send for one response.

    ``head`` is the status line and headers (empty when a streamed response already sent
    them), ``body`` the body pieces in order (a list, or a generator over a file that the
    driver must exhaust or close), ``close`` whether the connection ends after it.
    """

    __slots__ = ("head", "body", "close")

    def __init__(self, head: bytes, body: Iterable[bytes] = (), close: bool = False) -> None:
        self.head = head
        self.body = body
        self.close = close
