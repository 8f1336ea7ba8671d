"""The WSGI adapter's ways to make the server close the connection, and its bounded writes,
driven directly: an environ in, a ``start_response`` that is a method of a stand-in for
gunicorn's response object (gunicorn's is a bound method of its ``Response``, whose
``force_close()`` the adapter calls), and a real socket pair for ``gunicorn.socket``.
"""
from __future__ import annotations

import socket
import time
from typing import Any, Callable, Iterator, Optional

import pytest

from naja_atra import Application, BytesBody, Request, Response
from naja_atra.adapters.wsgi import WsgiAdapter, _Channel
from naja_atra.http.errors import ClientDisconnected
from naja_atra.http.limits import Limits
from naja_atra.http.parser import parse_head

from .test_wsgi_unit import environ

GUNICORN = {"SERVER_SOFTWARE": "gunicorn/27.0.1"}


class FakeGunicornResponse:
    """The part of gunicorn's ``Response`` the adapter uses: ``start_response`` and ``force_close``."""

    def __init__(self) -> None:
        self.status = ""
        self.forced = False
        self.forced_before_start = False
        self.written: list[bytes] = []

    def force_close(self) -> None:
        self.forced = True

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        self.status = status
        self.forced_before_start = self.forced
        return self.written.append


@pytest.fixture
def wsgi() -> Iterator[WsgiAdapter]:
    app = Application(load_entry_points=False, max_body_size=10)

    @app.route("/echo", method="POST")
    def echo(body: BytesBody) -> bytes:
        return bytes(body)

    @app.route("/ignore", method="POST")
    def ignore() -> str:
        return "not read"

    @app.route("/refuse", method="POST")
    def refuse(response: Response) -> None:
        response.send_error(403)

    adapter = WsgiAdapter(app, lifespan=False)
    yield adapter
    adapter.close()


def serve(wsgi: WsgiAdapter, env: dict[str, Any]) -> FakeGunicornResponse:
    server = FakeGunicornResponse()
    for piece in wsgi(env, server.start_response):
        server.written.append(piece)
    return server


@pytest.mark.parametrize("env, status", [
    (environ(path="/a\0b"), "400"),  # a path the core refuses
    (environ(path="/x", headers={"Content-Length": "1x"}), "400"),  # a bad length
    (environ("POST", "/echo", body=b"x" * 11), "413"),  # over the limit, refused before reading
    (environ("POST", "/nowhere", body=b"abc"), "404"),  # an error while the body is unread
    (environ("POST", "/echo", body=b"x" * 11, length=False, extra={"wsgi.input_terminated": True}), "413"),
])
def test_refusals_close_the_gunicorn_connection(wsgi: WsgiAdapter, env: dict[str, Any], status: str) -> None:
    env.update(GUNICORN)
    server = serve(wsgi, env)
    assert server.status.startswith(status)
    assert server.forced_before_start  # so that gunicorn announces Connection: close too


@pytest.mark.parametrize("env, status", [
    (environ("POST", "/echo", body=b"hello"), "200"),  # read to its end
    (environ("POST", "/ignore", body=b"hello"), "200"),  # no error
    (environ("POST", "/refuse", body=b"abc"), "403"),  # an error once the body was read
    (environ(path="/nowhere"), "404"),  # no body at all
])
def test_other_answers_leave_the_connection_alone(wsgi: WsgiAdapter, env: dict[str, Any], status: str) -> None:
    env.update(GUNICORN)
    server = serve(wsgi, env)
    assert server.status.startswith(status) and not server.forced


def test_only_gunicorn_is_told(wsgi: WsgiAdapter) -> None:
    server = serve(wsgi, environ(path="/a\0b"))  # another server's start_response: not touched
    assert server.status.startswith("400") and not server.forced


# -- writes bounded by write_timeout on gunicorn's socket --------------------------------------------
def _request() -> Request:
    parsed = parse_head(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", Limits())
    assert parsed is not None
    return Request(parsed[0])


@pytest.fixture
def socket_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    server, client = socket.socketpair()
    try:
        yield server, client
    finally:
        server.close()
        client.close()


def test_a_write_to_a_client_that_does_not_read_times_out(socket_pair: tuple[socket.socket, socket.socket]) -> None:
    server, client = socket_pair

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        return server.sendall  # what gunicorn's write does, framing aside

    channel = _Channel(start_response, server, write_timeout=0.2)
    channel.start(_request(), 200, [])
    piece = b"x" * 65536
    started = time.monotonic()
    caught: Optional[ClientDisconnected] = None
    try:
        for _ in range(1000):  # far more than the socket buffers take
            channel.write(piece)
            assert server.gettimeout() is None  # put back after each write
    except ClientDisconnected as exc:
        caught = exc
    assert caught is not None and "read nothing for 0.2 s" in str(caught)
    assert time.monotonic() - started < 10.0  # bounded: the client never reads
    with pytest.raises(ClientDisconnected):
        channel.write(b"more")  # the stream is over
    client.settimeout(5.0)
    drained = b""
    while True:  # the connection was shut down: what was sent, then the end
        data = client.recv(1 << 20)
        if not data:
            break
        drained += data
    assert len(drained) < 1000 * len(piece)


def test_a_write_to_a_client_that_left_raises(socket_pair: tuple[socket.socket, socket.socket]) -> None:
    server, client = socket_pair
    client.close()

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        return server.sendall

    channel = _Channel(start_response, server, write_timeout=5.0)
    channel.start(_request(), 200, [])
    with pytest.raises(ClientDisconnected) as info:
        for _ in range(100):
            channel.write(b"x" * 65536)
    assert isinstance(info.value.__cause__, OSError) and "gone" in str(info.value)
