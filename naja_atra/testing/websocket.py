"""The client side of a WebSocket session opened by
:meth:`~naja_atra.testing.TestClient.websocket_connect` (:class:`TestWebSocket`)."""
from __future__ import annotations

import contextlib
import json as _json
import socket
import threading
import time
from collections import deque
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from ..websocket.protocol import BinaryMessage, Closed, Pong, State, TextMessage, WebSocketProtocol
from .errors import WebSocketClosed, WebSocketTimeout

if TYPE_CHECKING:
    from .response import TestResponse

#: How long (s) a :class:`TestWebSocket` waits for anything unless told otherwise.
DEFAULT_WEBSOCKET_TIMEOUT = 5.0
_RECV_SIZE = 64 * 1024
#: What takes the connection over after a ``101`` (``Outgoing.upgrade``): called with the
#: server's end of the socket and the bytes already read past the handshake.
Upgrade = Callable[[socket.socket, bytes], Any]
_Message = Union[str, bytes]


class TestWebSocket:
    """The client side of a WebSocket connection opened by :meth:`TestClient.websocket_connect`.

    It frames messages with :class:`~naja_atra.websocket.protocol.WebSocketProtocol`
    (``client_side=True``: masked frames) over one end of a local socket pair; the server's
    real runner serves the other end on a daemon thread. Pings from the server are answered
    automatically. ``response`` is the ``101`` :class:`TestResponse`; ``close_code`` and
    ``close_reason`` are set once the connection closed. Every wait is bounded by
    ``timeout`` (seconds) unless a call gives its own. Not thread-safe: use it from one thread.
    """

    __test__ = False

    def __init__(self, sock: socket.socket, runner: threading.Thread, response: TestResponse,
                 timeout: float = DEFAULT_WEBSOCKET_TIMEOUT) -> None:
        self.response = response
        self.timeout = timeout
        self.close_code: Optional[int] = None
        self.close_reason = ""
        self._sock = sock
        self._runner = runner
        self._protocol = WebSocketProtocol(client_side=True)
        self._messages: deque[_Message] = deque()
        self._pongs: deque[bytes] = deque()
        self._ended = False

    @classmethod
    def _start(cls, upgrade: Upgrade, response: TestResponse, timeout: float) -> TestWebSocket:
        """Run ``upgrade`` on a daemon thread with one end of a socket pair; a session over the other."""
        client_end, server_end = socket.socketpair()

        def run() -> None:
            try:
                upgrade(server_end, b"")
            except Exception:  # noqa: BLE001 - the runner reports its own errors; never leak the thread
                pass
            finally:
                server_end.close()

        runner = threading.Thread(target=run, name="naja_atra-testclient-websocket", daemon=True)
        runner.start()
        return cls(client_end, runner, response, timeout)

    # -- context manager ----------------------------------------------------------------
    def __enter__(self) -> TestWebSocket:
        return self

    def __exit__(self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        """True once the connection has ended (either side closed it)."""
        return self._ended

    # -- sending ------------------------------------------------------------------------
    def _write(self, data: bytes) -> None:
        if self._ended or self._protocol.state is not State.OPEN:
            raise WebSocketClosed(self.close_code or 1006, self.close_reason)
        try:
            self._sock.settimeout(self.timeout)
            self._sock.sendall(data)
        except TimeoutError:
            raise WebSocketTimeout(f"Sending timed out after {self.timeout} s") from None
        except OSError:
            self._end(1006, "")
            raise WebSocketClosed(1006) from None

    def send_text(self, text: str) -> None:
        """Send a text message."""
        self._write(self._protocol.send_text(text))

    def send_bytes(self, data: Union[bytes, bytearray]) -> None:
        """Send a binary message."""
        self._write(self._protocol.send_binary(bytes(data)))

    def send_json(self, value: Any) -> None:
        """Send ``value`` as JSON in a text message."""
        self.send_text(_json.dumps(value, ensure_ascii=False))

    # -- receiving ----------------------------------------------------------------------
    def _pump(self, deadline: float, what: str) -> None:
        """Read once from the socket (until ``deadline``) and handle the resulting events:
        messages and pongs are queued, automatic replies sent, a close ends the connection.
        Raises :class:`WebSocketClosed` when called after the end or when the connection
        drops, :class:`WebSocketTimeout` when nothing arrives in time."""
        if self._ended:
            raise WebSocketClosed(self.close_code or 1006, self.close_reason)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WebSocketTimeout(f"No {what} in time")
        try:
            self._sock.settimeout(remaining)
            data = self._sock.recv(_RECV_SIZE)
        except TimeoutError:
            raise WebSocketTimeout(f"No {what} in time") from None
        except OSError:
            data = b""
        if not data:
            self._end(1006, "")
            raise WebSocketClosed(1006)
        for event in self._protocol.receive_data(data):
            if isinstance(event, (TextMessage, BinaryMessage)):
                self._messages.append(event.data)
            elif isinstance(event, Pong):
                self._pongs.append(event.data)
            elif isinstance(event, Closed):
                self._flush()
                self._end(event.code, event.reason)
        self._flush()

    def _flush(self) -> None:
        """Send what the protocol queued itself (pongs, the reply to a close)."""
        pending = self._protocol.data_to_send()
        if pending and not self._ended:
            with contextlib.suppress(OSError):
                self._sock.settimeout(self.timeout)
                self._sock.sendall(pending)

    def receive(self, timeout: Optional[float] = None) -> _Message:
        """The next message: ``str`` (text) or ``bytes`` (binary). Raises
        :class:`WebSocketClosed` once the server closed (messages that arrived before its
        close are returned first) and :class:`WebSocketTimeout` after ``timeout`` seconds."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not self._messages:
            self._pump(deadline, "message")
        return self._messages.popleft()

    def receive_text(self, timeout: Optional[float] = None) -> str:
        """The next message, which must be text (``TypeError`` otherwise)."""
        message = self.receive(timeout)
        if not isinstance(message, str):
            raise TypeError(f"Expected a text message, got binary {message[:50]!r}")
        return message

    def receive_bytes(self, timeout: Optional[float] = None) -> bytes:
        """The next message, which must be binary (``TypeError`` otherwise)."""
        message = self.receive(timeout)
        if not isinstance(message, bytes):
            raise TypeError(f"Expected a binary message, got text {message[:50]!r}")
        return message

    def receive_json(self, timeout: Optional[float] = None) -> Any:
        """The next message (text, or UTF-8 bytes) parsed as JSON."""
        return _json.loads(self.receive(timeout))

    def ping(self, data: bytes = b"", timeout: Optional[float] = None) -> None:
        """Send a ping and return when its pong arrived (messages meanwhile are kept for
        :meth:`receive`); :class:`WebSocketTimeout` when none comes within ``timeout``."""
        self._write(self._protocol.send_ping(data))
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            while self._pongs:
                if self._pongs.popleft() == data:
                    return
            self._pump(deadline, "pong")

    # -- closing ------------------------------------------------------------------------
    def close(self, code: int = 1000, reason: str = "", timeout: Optional[float] = None) -> None:
        """Close the connection: send a close frame with ``code`` and ``reason``, wait for the
        server's reply (bounded), then close the socket and join the runner thread (with a
        timeout). Idempotent; after a server close it only cleans up. Never raises for a
        connection that is already gone or a server that does not answer (``close_code`` is
        then 1006)."""
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        if not self._ended:
            frame = b""
            with contextlib.suppress(ValueError):
                frame = self._protocol.send_close(code, reason)
            if frame:
                with contextlib.suppress(OSError):
                    self._sock.settimeout(wait)
                    self._sock.sendall(frame)
            try:
                while not self._ended:
                    self._pump(deadline, "close reply")
            except (WebSocketClosed, WebSocketTimeout):
                pass
            if not self._ended:
                self._end(1006, "")
        self._runner.join(max(deadline - time.monotonic(), 0.5))

    def _end(self, code: int, reason: str) -> None:
        """The connection is over: record why and close our end (the runner sees EOF)."""
        if self._ended:
            return
        self._ended = True
        self.close_code, self.close_reason = code, reason
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        # Let the runner finish (on_close runs there) before the caller looks at the result.
        self._runner.join(self.timeout)

    def __repr__(self) -> str:
        state = f"closed {self.close_code}" if self._ended else "open"
        return f"<TestWebSocket {self.response.url} {state}>"
