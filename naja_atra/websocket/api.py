"""The WebSocket handler API of naja-atra 1.x: handler base class, session contract, close reason."""
from __future__ import annotations

from typing import Any, Optional, Union

from ..http.request import Request

WEBSOCKET_OPCODE_CONTINUATION: int = 0x0
WEBSOCKET_OPCODE_TEXT: int = 0x1
WEBSOCKET_OPCODE_BINARY: int = 0x2
WEBSOCKET_OPCODE_CLOSE: int = 0x8
WEBSOCKET_OPCODE_PING: int = 0x9
WEBSOCKET_OPCODE_PONG: int = 0xA

WEBSOCKET_MESSAGE_TEXT: str = "WEBSOCKET_MESSAGE_TEXT"
WEBSOCKET_MESSAGE_BINARY: str = "WEBSOCKET_MESSAGE_BINARY"
WEBSOCKET_MESSAGE_BINARY_FRAME: str = "WEBSOCKET_MESSAGE_BINARY_FRAME"
WEBSOCKET_MESSAGE_PING: str = "WEBSOCKET_MESSAGE_PING"
WEBSOCKET_MESSAGE_PONG: str = "WEBSOCKET_MESSAGE_PONG"

#: The handshake request: the same ``Request`` as for HTTP (path values, headers, cookies,
#: query parameters).
WebsocketRequest = Request


class WebsocketCloseReason(str):
    """Why a WebSocket session closed: ``message`` (also the string value), ``code`` and
    ``reason`` (the text the peer sent with its close frame)."""

    _message: str
    _code: int
    _reason: str

    def __new__(cls, message: str = "", code: int = 1005, reason: str = "", **_: Any) -> WebsocketCloseReason:
        obj = str.__new__(cls, message)
        obj._message = message
        obj._code = code
        obj._reason = reason
        return obj

    @property
    def message(self) -> str:
        """A description of the close."""
        return self._message

    @property
    def code(self) -> int:
        """The close code (1005 when the peer sent none, 1006 for a lost connection)."""
        return self._code

    @property
    def reason(self) -> str:
        """The reason text of the close frame."""
        return self._reason

    def __getnewargs_ex__(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (self._message, self._code, self._reason), {}


class WebsocketSession:
    """One open WebSocket connection, as handlers see it. Its methods are safe to call from
    any thread and from other sessions' callbacks (to broadcast)."""

    @property
    def id(self) -> str:
        """A unique id for this session."""
        raise NotImplementedError

    @property
    def request(self) -> Request:
        """The handshake request."""
        raise NotImplementedError

    @property
    def is_closed(self) -> bool:
        """True once the session is closing or closed."""
        raise NotImplementedError

    def send(self, message: Union[str, bytes, bytearray], opcode: Optional[int] = None, chunk_size: int = 0) -> None:
        """Send a text (str) or binary (bytes) message; ``chunk_size`` > 0 fragments it."""
        raise NotImplementedError

    def send_text(self, message: str, chunk_size: int = 0) -> None:
        """Send a text message."""
        self.send(message, WEBSOCKET_OPCODE_TEXT, chunk_size)

    def send_binary(self, binary: Union[bytes, bytearray], chunk_size: int = 0) -> None:
        """Send a binary message."""
        self.send(binary, WEBSOCKET_OPCODE_BINARY, chunk_size)

    def send_file(self, path: str, chunk_size: int = 0) -> None:
        """Send a file's content as one binary message (fragmented by ``chunk_size``)."""
        raise NotImplementedError

    def send_ping(self, message: bytes = b"") -> None:
        """Send a ping (at most 125 bytes)."""
        raise NotImplementedError

    def send_pong(self, message: bytes = b"") -> None:
        """Send a pong (at most 125 bytes)."""
        raise NotImplementedError

    def send_pone(self, message: bytes = b"") -> None:
        """The original framework's spelling of :meth:`send_pong`."""
        self.send_pong(message)

    def close(self, reason: str = "", code: int = 1000) -> None:
        """Start the closing handshake with ``code`` and ``reason``."""
        raise NotImplementedError


class WebsocketHandler:
    """Base class for ``@websocket_handler`` classes; implement the events you need.

    Inheriting it is optional: the framework calls the methods a handler class defines.
    Each method may be ``async``.
    """

    def on_handshake(self, request: Request) -> Any:
        """Accept (return ``0``/``None``/``101``, optionally with headers as ``(status,
        headers)``) or refuse (any other status) the connection."""
        return 0, {}

    def on_open(self, session: WebsocketSession) -> Any:
        """The connection is open."""

    def on_close(self, session: WebsocketSession, reason: WebsocketCloseReason) -> Any:
        """The connection closed."""

    def on_ping_message(self, session: WebsocketSession, message: bytes = b"") -> Any:
        """A ping arrived; by default the pong is sent back with the same payload."""
        session.send_pong(message)

    def on_pong_message(self, session: WebsocketSession, message: bytes = b"") -> Any:
        """A pong arrived."""

    def on_text_message(self, session: WebsocketSession, message: str) -> Any:
        """A text message arrived."""

    def on_binary_message(self, session: WebsocketSession, message: bytes = b"") -> Any:
        """A binary message arrived (unless ``on_binary_frame`` consumed its frames)."""

    def on_binary_frame(self, session: WebsocketSession, fin: bool = False, frame_payload: bytes = b"") -> Any:
        """A frame of a binary message; return True to have the message buffered and passed to
        ``on_binary_message`` instead."""
        return True
