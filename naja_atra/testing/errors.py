"""The test client's exceptions: an exchange it could not complete the way a real client
would, and the ends of a WebSocket session."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .response import TestResponse


class TestClientError(Exception):
    """The exchange could not be completed the way a real client would complete it."""

    __test__ = False


class IncompleteResponse(TestClientError):
    """The response ended before its body did: a server would have cut the connection
    there (an error raised after a streamed response began). ``response`` holds what
    arrived."""

    def __init__(self, message: str, response: TestResponse) -> None:
        super().__init__(message)
        self.response = response


class TooManyRedirects(TestClientError):
    """``follow_redirects`` met more hops than allowed; ``response`` is the last one."""

    def __init__(self, message: str, response: TestResponse) -> None:
        super().__init__(message)
        self.response = response


class WebSocketRefused(TestClientError):
    """The WebSocket handshake was answered with something other than ``101``;
    ``response`` is that answer (status, headers, body)."""

    def __init__(self, message: str, response: TestResponse) -> None:
        super().__init__(message)
        self.response = response

    @property
    def status_code(self) -> int:
        """The status of the refusal."""
        return self.response.status_code


class WebSocketClosed(TestClientError):
    """The WebSocket connection is closed: ``code`` and ``reason`` of the close (1006 and
    "" when it ended without a closing handshake)."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"The WebSocket connection is closed ({code}{': ' + reason if reason else ''})")
        self.code = code
        self.reason = reason


class WebSocketTimeout(TestClientError, TimeoutError):
    """A wait of a :class:`TestWebSocket` (a message, a pong, the closing handshake) timed out."""
