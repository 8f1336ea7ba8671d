"""End to end: naja-atra 1.x WebSocket programs, as their users wrote them (the module-level
``websocket_handler``, ``websocket_handshake``, ``websocket_open``, ``websocket_close`` and
``websocket_message`` decorators of ``naja_atra``; README.md: code written for 1.x runs
unchanged), run in their own Python process with ``server.start`` on both drivers, driven with
``websocket-client``. Every wait is bounded; the process is ended by its PID.
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import Iterator

import pytest
import websocket
from websocket import ABNF

from ..support import ScriptProcess, free_port

WAIT = 5.0

#: The examples leave ``_logger`` to the reader; here it writes to stdout so the test can see
#: the callbacks run.
PREAMBLE = """
import logging
import sys

_logger = logging.getLogger("websocket_example")
_logger.addHandler(logging.StreamHandler(sys.stdout))
_logger.setLevel(logging.INFO)
"""

#: The 1.x class-handler example (a subclass and a regexp endpoint), as written (trailing blanks
#: removed).
CLASS_EXAMPLE = '''
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

#: The 1.x function-handler example, as written (trailing blanks removed).
FUNCTION_EXAMPLE = '''

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
'''  # noqa: E501 (the example's import line, as the example writes it)

START = """
import naja_atra.server as server

server.start(host="127.0.0.1", port=int(sys.argv[1]), prefer_coroutine=sys.argv[2] == "asyncio")
"""

#: The one line of the class example that cannot run as written: ``on_handshake`` has no
#: ``session`` (NameError). It is the only change made to the example.
BROKEN_HANDSHAKE_LOG = '_logger.info(f">>{session.id}<< open! {request.path_values}")'
FIXED_HANDSHAKE_LOG = '_logger.info(f">>handshake<< open! {request.path_values}")'


def example_script() -> str:
    assert CLASS_EXAMPLE.count(BROKEN_HANDSHAKE_LOG) == 1
    class_example = CLASS_EXAMPLE.replace(BROKEN_HANDSHAKE_LOG, FIXED_HANDSHAKE_LOG)
    return PREAMBLE + class_example + FUNCTION_EXAMPLE + START


@pytest.fixture
def example_server(driver: str, tmp_path: Path) -> Iterator[ScriptProcess]:
    script = tmp_path / "example_websocket.py"
    script.write_text(example_script(), "utf-8")
    port = free_port()
    process = ScriptProcess(script, str(port), driver, port=port)
    try:
        process.wait_for_port()
        yield process
    finally:
        process.end()
    assert process.proc.returncode is not None


def connect(process: ScriptProcess, path: str) -> websocket.WebSocket:
    return websocket.create_connection(f"ws://127.0.0.1:{process.port}{path}", timeout=WAIT)


def test_example_class_handler(example_server: ScriptProcess) -> None:
    ws = connect(example_server, "/ws/abc")
    try:
        example_server.wait_for_match(r">>handshake<< open! \{'path_val': 'abc'\}")
        session_id = example_server.wait_for_match(r">>(\w+)<< open! \{'path_val': 'abc'\}").group(1)
        ws.send("hello")
        assert ws.recv() == "hello"
        example_server.wait_for_match(rf">>{session_id}<< on text message: hello")
        ws.ping(b"pp")  # on_ping_message answers with send_pone
        opcode, frame = ws.recv_data_frame(True)
        assert (opcode, frame.data) == (ABNF.OPCODE_PONG, b"pp")
        ws.send_binary(b"bin")  # buffered by on_binary_frame, dropped by on_binary_message
        ws.send("after")
        assert ws.recv() == "after"
        ws.close(status=4001, reason=b"bye", timeout=WAIT)
    finally:
        ws.shutdown()
    example_server.wait_for_match(rf">>{session_id}<< close::.+")


def test_example_regexp_handler(example_server: ScriptProcess) -> None:
    ws = connect(example_server, "/ws-reg/abc123")
    try:
        assert ws.getstatus() == 101
        ws.send("nobody answers this")  # the inherited on_text_message does nothing
        ws.ping(b"rp")  # the inherited on_ping_message answers
        opcode, frame = ws.recv_data_frame(True)
        assert (opcode, frame.data) == (ABNF.OPCODE_PONG, b"rp")
    finally:
        ws.close(timeout=1)
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(example_server, "/ws-reg/not-alnum!")
    assert refused.value.status_code == 404


def test_example_function_handlers(example_server: ScriptProcess) -> None:
    ws = connect(example_server, "/ws-fun/xyz")
    try:
        session_id = example_server.wait_for_match(r">>(\w+)<< open! \{'path_val': 'xyz'\}").group(1)
        ws.send("hi")
        assert ws.recv() == "xyz-hi"
        ws.send("close")
        assert ws.recv() == "xyz-close"
        opcode, frame = ws.recv_data_frame(True)  # session.close(): 1000, answered by the client
        assert opcode == ABNF.OPCODE_CLOSE
        assert struct.unpack("!H", frame.data[:2])[0] == 1000
    finally:
        ws.close(timeout=1)
    example_server.wait_for_match(rf">>{session_id}<< close::.*-1000-")
