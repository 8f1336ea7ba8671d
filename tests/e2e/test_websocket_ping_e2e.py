"""Server pings: a peer that answers stays connected, a silent one is dropped."""
from __future__ import annotations

import base64
import os
import socket
import threading
import time
from typing import Callable

import websocket

from naja_atra import Application, WebsocketCloseReason, WebsocketSession

from ..support import Client

Serve = Callable[..., Client]


def _app(closed: list[int], done: threading.Event) -> Application:
    app = Application(websocket_ping_interval=0.2, websocket_ping_timeout=0.4)

    @app.websocket_handler(endpoint="/ws")
    class Handler:
        def on_text_message(self, session: WebsocketSession, message: str) -> None:
            session.send(message)

        def on_close(self, session: WebsocketSession, reason: WebsocketCloseReason) -> None:
            closed.append(reason.code)
            done.set()

    return app


def test_a_peer_answering_pings_stays_connected(serve: Serve) -> None:
    closed: list[int] = []
    done = threading.Event()
    client = serve(_app(closed, done))
    ws = websocket.create_connection(f"ws://127.0.0.1:{client.port}/ws", timeout=5)
    try:
        pings = 0
        deadline = time.monotonic() + 5
        while pings < 3 and time.monotonic() < deadline:
            opcode, frame = ws.recv_data_frame(True)  # answers the ping with a pong itself
            if opcode == websocket.ABNF.OPCODE_PING:
                pings += 1
        assert pings == 3
        ws.send("still here")
        assert ws.recv() == "still here"
        assert closed == []
    finally:
        ws.close()


def test_a_silent_peer_is_dropped_after_the_ping_timeout(serve: Serve) -> None:
    closed: list[int] = []
    done = threading.Event()
    client = serve(_app(closed, done))
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection(("127.0.0.1", client.port), timeout=5) as sock:
        sock.sendall((f"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        received = b""
        while True:  # read everything, never answer: the handshake, pings, then EOF
            piece = sock.recv(4096)
            if not piece:
                break
            received += piece
    assert received.startswith(b"HTTP/1.1 101 ")
    head_end = received.index(b"\r\n\r\n") + 4
    assert received[head_end:head_end + 1] == b"\x89"  # FIN + ping opcode
    assert done.wait(5)
    assert closed == [1006]
