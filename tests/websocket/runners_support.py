"""The loopback harness of the runner tests: a client over the protocol core and the two
runners serving accepted connections (the fixtures are in ``conftest.py``)."""
from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections import deque
from typing import Any

from naja_atra.http.limits import Limits
from naja_atra.http.parser import parse_head
from naja_atra.http.request import Request
from naja_atra.websocket import run_asyncio, run_threaded
from naja_atra.websocket.endpoint import class_endpoint
from naja_atra.websocket.protocol import Event, Ping, WebSocketProtocol
from naja_atra.websocket.session import OpenSessions

from ..support import wait_until

WAIT = 5.0  # upper bound of any single wait


def handshake_request() -> Request:
    raw = b"GET /ws/room HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
    parsed = parse_head(raw, Limits())
    assert parsed is not None
    return Request(parsed[0], b"", client_address=("127.0.0.1", 1))


# -- the client -----------------------------------------------------------------------------


class WsClient:
    """A blocking WebSocket client over the protocol core."""

    def __init__(self, sock: socket.socket, auto_pong: bool = True) -> None:
        self.sock = sock
        sock.settimeout(WAIT)
        self.proto = WebSocketProtocol(client_side=True, auto_pong=auto_pong)
        self.events: deque[Event] = deque()
        self.eof = False

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)

    def text(self, text: str, fragment_size: int = 0) -> None:
        self.write(self.proto.send_text(text, fragment_size))

    def binary(self, data: bytes, fragment_size: int = 0) -> None:
        self.write(self.proto.send_binary(data, fragment_size))

    def ping(self, data: bytes = b"") -> None:
        self.write(self.proto.send_ping(data))

    def close(self, code: int = 1000, reason: str = "") -> None:
        self.write(self.proto.send_close(code, reason))

    def _read(self) -> bool:
        try:
            data = self.sock.recv(65536)
        except ConnectionError:
            data = b""
        if not data:
            # Like a real client: once the server has closed, close our side too.
            self.eof = True
            self.sock.close()
            return False
        self.events.extend(self.proto.receive_data(data))
        out = self.proto.data_to_send()  # pongs and our close reply
        if out:
            try:
                self.write(out)
            except OSError:
                pass
        return True

    def next(self) -> Event:
        while not self.events:
            if self.eof or not self._read():
                raise AssertionError("connection closed while waiting for an event")
        return self.events.popleft()

    def next_message(self) -> Event:
        """The next event that is not a server ping."""
        while True:
            event = self.next()
            if type(event) is not Ping:
                return event

    def wait_eof(self) -> list[Event]:
        """Read until the server closes the TCP connection; the events seen meanwhile."""
        while not self.eof:
            self._read()
        seen = list(self.events)
        self.events.clear()
        return seen

    def reset(self) -> None:
        """Close with a TCP reset (SO_LINGER 0)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


# -- the runners ----------------------------------------------------------------------------


class _Handoff(asyncio.Protocol):
    """Takes an accepted connection and hands its transport to make_protocol at once."""

    def __init__(self, leftover: bytes, options: dict[str, Any], transports: list[asyncio.Transport]) -> None:
        self.leftover = leftover
        self.options = options
        self.transports = transports

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transports.append(transport)
        transport.set_protocol(run_asyncio.make_protocol(transport, self.leftover, **self.options))


class Runner:
    """Serves accepted loopback connections with one of the two runners."""

    def __init__(self, kind: str, loop: asyncio.AbstractEventLoop) -> None:
        self.kind = kind
        self.loop = loop
        self.registry = OpenSessions()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.threads: list[threading.Thread] = []
        self.clients: list[WsClient] = []
        self.transports: list[asyncio.Transport] = []

    def connect(self, handler: Any, leftover: bytes = b"", auto_pong: bool = True, **options: Any) -> WsClient:
        client_sock = socket.create_connection(self.listener.getsockname())
        client_sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        server_sock, _ = self.listener.accept()
        server_sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        endpoint = class_endpoint(handler)
        protocol = WebSocketProtocol(auto_pong=False, stream_binary=endpoint.stream_binary)
        kwargs = dict(request=handshake_request(), endpoint=endpoint, protocol=protocol, registry=self.registry,
                      **options)
        if self.kind == "threaded":
            thread = threading.Thread(
                target=run_threaded.run_threaded, args=(server_sock, leftover), kwargs=kwargs, daemon=True
            )
            thread.start()
            self.threads.append(thread)
        else:
            server_sock.setblocking(False)
            handoff = _Handoff(leftover, kwargs, self.transports)
            future = asyncio.run_coroutine_threadsafe(
                self.loop.connect_accepted_socket(lambda: handoff, server_sock), self.loop
            )
            future.result(WAIT)
        client = WsClient(client_sock, auto_pong=auto_pong)
        self.clients.append(client)
        return client

    def finish(self) -> None:
        for client in self.clients:
            client.sock.close()
        for thread in self.threads:
            thread.join(WAIT)
            assert not thread.is_alive(), "a runner thread did not end"
        # The asyncio runner closes its transport once the client has closed: let the loop
        # get there (the connection_lost callbacks run one iteration after is_closing()).
        assert wait_until(lambda: all(t.is_closing() for t in self.transports))
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0.01), self.loop).result(WAIT)
        self.listener.close()
