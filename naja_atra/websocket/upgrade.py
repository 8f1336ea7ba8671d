"""Turning an accepted handshake into a running WebSocket connection on either driver."""
from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING, Any, Optional, Union

from .endpoint import Endpoint
from .protocol import WebSocketProtocol

if TYPE_CHECKING:
    from ..http.request import Request
    from .session import SessionRegistry


class WebsocketUpgrade:
    """Carried by a ``101`` response; the driver calls it with the connection it hands over:
    a socket (threading driver, runs until the connection ends) or an asyncio transport
    (returns the protocol that takes it over).

    ``send_buffer`` and ``write_timeout`` are ``Limits.websocket_send_buffer`` and
    ``Limits.write_timeout``: how much a client that does not read may leave unsent, and for
    how long, before it is dropped.
    """

    __slots__ = ("request", "endpoint", "protocol", "registry", "ping_interval", "ping_timeout",
                 "send_buffer", "write_timeout")

    def __init__(self, request: Request, endpoint: Endpoint, protocol: WebSocketProtocol,
                 registry: SessionRegistry, ping_interval: float = 0.0, ping_timeout: float = 20.0,
                 send_buffer: int = 4 * 1024 * 1024, write_timeout: float = 30.0) -> None:
        self.request = request
        self.endpoint = endpoint
        self.protocol = protocol
        self.registry = registry
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.send_buffer = send_buffer
        self.write_timeout = write_timeout

    def __call__(self, connection: Union[socket.socket, asyncio.Transport], leftover: bytes) -> Optional[Any]:
        options: dict[str, Any] = {
            "request": self.request, "endpoint": self.endpoint, "protocol": self.protocol,
            "registry": self.registry, "ping_interval": self.ping_interval, "ping_timeout": self.ping_timeout,
            "send_buffer": self.send_buffer, "write_timeout": self.write_timeout,
        }
        if isinstance(connection, socket.socket):
            from .run_threaded import run_threaded
            run_threaded(connection, leftover, **options)
            return None
        from .run_asyncio import make_protocol
        return make_protocol(connection, leftover, **options)
