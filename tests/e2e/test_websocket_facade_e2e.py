"""End to end: SPEC.md's WebSocket examples (the module-level ``websocket_handler``,
``websocket_handshake``, ``websocket_open``, ``websocket_close`` and ``websocket_message``
decorators of ``naja_atra``), run in their own Python process with ``server.start`` on both
drivers, driven with ``websocket-client``. Every wait is bounded; the process is ended by its PID.
"""
from __future__ import annotations

import os
import queue
import re
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator, Optional

import pytest
import websocket
from websocket import ABNF

import naja_atra

REPO_ROOT = str(Path(naja_atra.__file__).resolve().parent.parent)
WAIT = 5.0
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0

#: SPEC.md leaves ``_logger`` to the reader; here it writes to stdout so the test can see the
#: callbacks run.
PREAMBLE = """
import logging
import sys

_logger = logging.getLogger("spec_websocket_example")
_logger.addHandler(logging.StreamHandler(sys.stdout))
_logger.setLevel(logging.INFO)
"""

#: SPEC.md "Websocket", first example, as written (trailing blanks removed).
SPEC_CLASS_EXAMPLE = '''
from naja_atra import WebsocketHandler, WebsocketRequest,WebsocketSession, websocket_handler

@websocket_handler(endpoint="/ws/{path_val}")
class WSHandler(WebsocketHandler):

    def on_handshake(self, request: WebsocketRequest):
        """
        "
        " You can get path/headers/path_values/cookies/query_string/query_parameters from request.
        "
        " You should return a tuple means (http_status_code, headers)
        "
        " If status code in (0, None, 101), the websocket will be connected, or will return the status you return.
        "
        " All headers will be send to client
        "
        """
        _logger.info(f">>{session.id}<< open! {request.path_values}")
        return 0, {}

    def on_open(self, session: WebsocketSession):
        """
        "
        " Will be called when the connection opened.
        "
        """
        _logger.info(f">>{session.id}<< open! {session.request.path_values}")

    def on_close(self, session: WebsocketSession, reason: str):
        """
        "
        " Will be called when the connection closed.
        "
        """
        _logger.info(f">>{session.id}<< close::{reason}")

    def on_ping_message(self, session: WebsocketSession = None, message: bytes = b''):
        """
        "
        " Will be called when receive a ping message. Will send all the message bytes back to client by default.
        "
        """
        session.send_pone(message)

    def on_pong_message(self, session: WebsocketSession = None, message: bytes = ""):
        """
        "
        " Will be called when receive a pong message.
        "
        """
        pass

    def on_text_message(self, session: WebsocketSession, message: str):
        """
        "
        " Will be called when receive a text message.
        "
        """
        _logger.info(f">>{session.id}<< on text message: {message}")
        session.send(message)

    def on_binary_message(self, session: WebsocketSession = None, message: bytes = b''):
        """
        "
        " Will be called when receive a binary message if you have not consumed all the bytes in `on_binary_frame`
        " method.
        "
        """
        pass

    def on_binary_frame(self, session: WebsocketSession = None, fin: bool = False, frame_payload: bytes = b''):
        """
        "
        " If you are sending a continuation binary message to server, this will be called every time a frame is
        " received, you can consumed all the bytes in this method, e.g. save all bytes to a file. By doing so,
        " you should not return and value in this method.
        "
        " If you does not implement this method or return a True in this method, all the bytes will be caced in
        " memory and be sent to your `on_binary_message` method.
        "
        """
        return True

@websocket_handler(regexp="^/ws-reg/([a-zA-Z0-9]+)$", singleton=False)
class WSHandler(WebsocketHandler):

    """
    " You code here
    """

'''

#: SPEC.md "Websocket", second example (function handlers), as written (trailing blanks removed).
SPEC_FUNCTION_EXAMPLE = '''

from naja_atra import WebsocketCloseReason, WebsocketHandler, WebsocketRequest, WebsocketSession, websocket_message, websocket_handshake, websocket_open, websocket_close, WEBSOCKET_MESSAGE_TEXT

@websocket_handshake(endpoint="/ws-fun/{path_val}")
def ws_handshake(request: WebsocketRequest):
    return 0, {}


@websocket_open(endpoint="/ws-fun/{path_val}")
def ws_open(session: WebsocketSession):
    _logger.info(f">>{session.id}<< open! {session.request.path_values}")


@websocket_close(endpoint="/ws-fun/{path_val}")
def ws_close(session: WebsocketSession, reason: WebsocketCloseReason):
    _logger.info(
        f">>{session.id}<< close::{reason.message}-{reason.code}-{reason.reason}")


@websocket_message(endpoint="/ws-fun/{path_val}", message_type=WEBSOCKET_MESSAGE_TEXT)
# You can define a function in a sync or async way.
async def ws_text(session: WebsocketSession, message: str):
    _logger.info(f">>{session.id}<< on text message: {message}")
    session.send(f"{session.request.path_values['path_val']}-{message}")
    if message == "close":
        session.close()
'''  # noqa: E501 (the example's import line, as SPEC.md writes it)

START = """
import naja_atra.server as server

server.start(host="127.0.0.1", port=int(sys.argv[1]), prefer_coroutine=sys.argv[2] == "asyncio")
"""

#: The one line of SPEC.md's example that cannot run as written: ``on_handshake`` has no
#: ``session`` (NameError). It is the only change made to the example.
SPEC_HANDSHAKE_LOG = '_logger.info(f">>{session.id}<< open! {request.path_values}")'
FIXED_HANDSHAKE_LOG = '_logger.info(f">>handshake<< open! {request.path_values}")'


def spec_script() -> str:
    assert SPEC_CLASS_EXAMPLE.count(SPEC_HANDSHAKE_LOG) == 1
    class_example = SPEC_CLASS_EXAMPLE.replace(SPEC_HANDSHAKE_LOG, FIXED_HANDSHAKE_LOG)
    return PREAMBLE + class_example + SPEC_FUNCTION_EXAMPLE + START


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Process:
    """The example script in its own process; its stdout lines readable with a deadline."""

    def __init__(self, directory: Path, port: int, driver: str) -> None:
        script = directory / "spec_websocket.py"
        script.write_text(spec_script(), "utf-8")
        env = dict(os.environ)
        env["PYTHONPATH"] = REPO_ROOT + os.pathsep + env.get("PYTHONPATH", "")
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONIOENCODING"] = "utf-8"
        self.port = port
        self.stderr_path = directory / "stderr.log"
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([sys.executable, str(script), str(port), driver], cwd=str(directory),
                                     env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._stderr)
        self.lines: queue.Queue[Optional[str]] = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
        self.lines.put(None)

    def stderr(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text("utf-8", "replace")[-4000:]

    def wait_for_port(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"process exited with {self.proc.returncode}; stderr:\n{self.stderr()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.02)
        raise AssertionError(f"port {self.port} not open within {timeout}s; stderr:\n{self.stderr()}")

    def wait_for_line(self, pattern: str, timeout: float = WAIT) -> re.Match[str]:
        """The next stdout line matching the regular expression ``pattern`` (bounded)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line matching {pattern!r} within {timeout}s; seen {self.seen}; "
                                     f"stderr:\n{self.stderr()}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self.lines.put(None)
                raise AssertionError(f"process ended before {pattern!r}; seen {self.seen}; stderr:\n{self.stderr()}")
            self.seen.append(line)
            match = re.fullmatch(pattern, line)
            if match:
                return match

    def end(self) -> None:
        """Terminate the process by its PID; wait (bounded)."""
        try:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=STOP_TIMEOUT)
        finally:
            self._reader.join(STOP_TIMEOUT)
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self._stderr.close()


@pytest.fixture(params=["threading", "asyncio"])
def spec_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Process]:
    process = Process(tmp_path, free_port(), str(request.param))
    try:
        process.wait_for_port()
        yield process
    finally:
        process.end()
    assert process.proc.returncode is not None


def connect(process: Process, path: str) -> websocket.WebSocket:
    return websocket.create_connection(f"ws://127.0.0.1:{process.port}{path}", timeout=WAIT)


def test_spec_class_handler(spec_server: Process) -> None:
    ws = connect(spec_server, "/ws/abc")
    try:
        spec_server.wait_for_line(r">>handshake<< open! \{'path_val': 'abc'\}")
        session_id = spec_server.wait_for_line(r">>(\w+)<< open! \{'path_val': 'abc'\}").group(1)
        ws.send("hello")
        assert ws.recv() == "hello"
        spec_server.wait_for_line(rf">>{session_id}<< on text message: hello")
        ws.ping(b"pp")  # on_ping_message answers with send_pone
        opcode, frame = ws.recv_data_frame(True)
        assert (opcode, frame.data) == (ABNF.OPCODE_PONG, b"pp")
        ws.send_binary(b"bin")  # buffered by on_binary_frame, dropped by on_binary_message
        ws.send("after")
        assert ws.recv() == "after"
        ws.close(status=4001, reason=b"bye", timeout=WAIT)
    finally:
        ws.shutdown()
    spec_server.wait_for_line(rf">>{session_id}<< close::.+")


def test_spec_regexp_handler(spec_server: Process) -> None:
    ws = connect(spec_server, "/ws-reg/abc123")
    try:
        assert ws.getstatus() == 101
        ws.send("nobody answers this")  # the inherited on_text_message does nothing
        ws.ping(b"rp")  # the inherited on_ping_message answers
        opcode, frame = ws.recv_data_frame(True)
        assert (opcode, frame.data) == (ABNF.OPCODE_PONG, b"rp")
    finally:
        ws.close(timeout=1)
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(spec_server, "/ws-reg/not-alnum!")
    assert refused.value.status_code == 404


def test_spec_function_handlers(spec_server: Process) -> None:
    ws = connect(spec_server, "/ws-fun/xyz")
    try:
        session_id = spec_server.wait_for_line(r">>(\w+)<< open! \{'path_val': 'xyz'\}").group(1)
        ws.send("hi")
        assert ws.recv() == "xyz-hi"
        ws.send("close")
        assert ws.recv() == "xyz-close"
        opcode, frame = ws.recv_data_frame(True)  # session.close(): 1000, answered by the client
        assert opcode == ABNF.OPCODE_CLOSE
        assert struct.unpack("!H", frame.data[:2])[0] == 1000
    finally:
        ws.close(timeout=1)
    spec_server.wait_for_line(rf">>{session_id}<< close::.*-1000-")
