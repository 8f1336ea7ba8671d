"""A WebSocket route's handler, as the connection runners call it.

Class handlers (``@websocket_handler``) and function handlers (``@websocket_open``,
``@websocket_message``, ...) both become an ``Endpoint``: one callable per event, any of
which may be ``async`` (the runner awaits what it returns).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ..app.routes import ControllerClass
from .api import (
    WEBSOCKET_MESSAGE_BINARY,
    WEBSOCKET_MESSAGE_BINARY_FRAME,
    WEBSOCKET_MESSAGE_PING,
    WEBSOCKET_MESSAGE_PONG,
    WEBSOCKET_MESSAGE_TEXT,
    WebsocketCloseReason,
    WebsocketHandler,
    WebsocketSession,
)

Callback = Callable[..., Any]

#: Function-style event names (``websocket_open`` ...) and the handler method for each.
EVENTS: dict[str, str] = {
    "handshake": "on_handshake",
    "open": "on_open",
    "close": "on_close",
    WEBSOCKET_MESSAGE_TEXT: "on_text_message",
    WEBSOCKET_MESSAGE_BINARY: "on_binary_message",
    WEBSOCKET_MESSAGE_BINARY_FRAME: "on_binary_frame",
    WEBSOCKET_MESSAGE_PING: "on_ping_message",
    WEBSOCKET_MESSAGE_PONG: "on_pong_message",
}


@dataclass(eq=False)
class WebsocketSpec:
    """What the decorators recorded for one WebSocket endpoint (a path or a regexp)."""

    endpoint: str = ""
    regexp: str = ""
    owner: Optional[ControllerClass] = None
    functions: dict[str, Callback] = field(default_factory=dict)

    @property
    def handler_class(self) -> Optional[type]:
        """The ``@websocket_handler`` class, if the endpoint has one."""
        return self.owner.cls if self.owner is not None else None


def _nothing(*_: Any) -> None:
    return None


def _pong(session: WebsocketSession, data: bytes = b"") -> None:
    session.send_pong(data)


class Endpoint:
    """The callbacks of one connection's handler."""

    __slots__ = ("on_open", "on_close", "on_ping", "on_pong", "on_text", "on_binary", "on_binary_frame",
                 "stream_binary")

    def __init__(self, callbacks: dict[str, Optional[Callback]]) -> None:
        self.on_open: Callback = callbacks.get("on_open") or _nothing
        self.on_close: Callback = callbacks.get("on_close") or _nothing
        self.on_ping: Callback = callbacks.get("on_ping_message") or _pong
        self.on_pong: Callback = callbacks.get("on_pong_message") or _nothing
        self.on_text: Callback = callbacks.get("on_text_message") or _nothing
        self.on_binary: Callback = callbacks.get("on_binary_message") or _nothing
        frame = callbacks.get("on_binary_frame")
        #: Frames are streamed to the handler only when it defines its own on_binary_frame.
        self.stream_binary: bool = frame is not None
        self.on_binary_frame: Callback = frame or (lambda *_: True)


def class_endpoint(handler: object) -> Endpoint:
    """The endpoint of a handler object: the methods its class defines."""
    callbacks: dict[str, Optional[Callback]] = {}
    for method in EVENTS.values():
        func = getattr(type(handler), method, None)
        if func is None:
            continue
        if method == "on_binary_frame" and func is WebsocketHandler.on_binary_frame:
            continue  # the base class's default only asks for buffering
        callbacks[method] = getattr(handler, method)
    return Endpoint(callbacks)


def function_endpoint(functions: dict[str, Callback]) -> Endpoint:
    """The endpoint of function-style handlers registered for one path."""
    return Endpoint({EVENTS[event]: func for event, func in functions.items() if event != "handshake"})


def close_reason(code: int, reason: str, message: str = "") -> WebsocketCloseReason:
    """A ``WebsocketCloseReason`` whose message describes the code when none is given."""
    return WebsocketCloseReason(message or reason or f"closed with code {code}", code, reason)
