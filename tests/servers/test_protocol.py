"""HTTP/1.1 framing over real sockets, on both drivers (the ``driver`` fixture parametrizes)."""
from __future__ import annotations

import socket
import threading
import time
from typing import Callable

from naja_atra.http.limits import Limits

from ..support import wait_until
from .conftest import WAIT, Running, is_closed, read_reply

Start = Callable[..., Running]


def _get(path: str = "/", extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: t\r\n{extra}\r\n".encode()


def test_basic_get(start_server: Start) -> None:
    srv = start_server()
    with srv.connect() as sock:
        sock.sendall(_get("/hello?x=1"))
        reply = read_reply(sock.makefile("rb"))
    assert reply.status == 200
    assert reply.body == b"GET /hello 0\n"
    assert reply.headers["content-type"] == "text/plain"


def test_post_content_length(start_server: Start) -> None:
    srv = start_server()
    with srv.connect() as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhel")
        time.sleep(0.05)  # the body arrives in two pieces
        sock.sendall(b"lo")
        reply = read_reply(sock.makefile("rb"))
    assert reply.body == b"POST /echo 5\nhello"


def test_post_chunked(start_server: Start) -> None:
    srv = start_server()
    with srv.connect() as sock:
        sock.sendall(
            b"POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )
        reply = read_reply(sock.makefile("rb"))
    assert reply.body == b"POST /c 11\nhello world"


def test_pipelined_requests_in_one_send(start_server: Start) -> None:
    srv = start_server()
    with srv.connect() as sock:
        sock.sendall(
            _get("/one")
            + b"POST /two HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
            + b"POST /three HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n"
            + _get("/four")
        )
        stream = sock.makefile("rb")
        bodies = [read_reply(stream).body for _ in range(4)]
    assert bodies == [b"GET /one 0\n", b"POST /two 3\nabc", b"POST /three 2\nxy", b"GET /four 0\n"]


def test_keep_alive_reuses_the_connection(start_server: Start) -> None:
    srv = start_server()
    with srv.connect() as sock:
        stream = sock.makefile("rb")
        for i in range(5):
            sock.sendall(_get(f"/n{i}"))
            assert read_reply(stream).body == f"GET /n{i} 0\n".encode()
        assert srv.server.connection_count == 1


def test_http10_closes_by_default(start_server: Start) -> None:
    srv = start_server()
    with srv.connect() as sock:
        sock.sendall(b"GET /old HTTP/1.0\r\n\r\n")
        reply = read_reply(sock.makefile("rb"))
        assert reply.body == b"GET /old 0\n"
        assert is_closed(sock)


def test_http10_keep_alive_when_asked(start_server: Start) -> None:
    srv = start_server()
    with srv.connect() as sock:
        stream = sock.makefile("rb")
        for _ in range(2):
            sock.sendall(b"GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            assert read_reply(stream).status == 200


def test_connection_close_from_the_application(start_server: Start) -> None:
    srv = start_server()
    with srv.connect() as sock:
        sock.sendall(_get("/close"))
        assert read_reply(sock.makefile("rb")).body == b"bye"
        assert is_closed(sock)


def test_expect_continue(start_server: Start) -> None:
    srv = start_server()
    with srv.connect() as sock:
        stream = sock.makefile("rb")
        sock.sendall(b"PUT /up HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        interim = read_reply(stream)
        assert interim.status == 100
        sock.sendall(b"data")
        final = read_reply(stream)
    assert final.status == 200
    assert final.body == b"PUT /up 4\ndata"


def test_expect_continue_refused_when_too_large(start_server: Start) -> None:
    srv = start_server(Limits(max_body_size=10))
    with srv.connect() as sock:
        sock.sendall(b"PUT /up HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n")
        reply = read_reply(sock.makefile("rb"))
    assert reply.status == 413


def test_content_length_over_the_limit_is_refused_before_the_body(start_server: Start) -> None:
    srv = start_server(Limits(max_body_size=1000))
    with srv.connect() as sock:
        # Only the head is sent: the 413 must come without waiting for the body.
        sock.sendall(b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n")
        reply = read_reply(sock.makefile("rb"))
        assert reply.status == 413
        assert reply.headers["connection"] == "close"
        assert is_closed(sock)
    assert srv.dispatcher.seen == []


def test_413_survives_a_client_that_sends_the_body_anyway(start_server: Start) -> None:
    srv = start_server(Limits(max_body_size=1000))
    with srv.connect() as sock:
        sock.sendall(b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 200000\r\n\r\n" + b"z" * 200000)
        assert read_reply(sock.makefile("rb")).status == 413


def test_chunked_body_over_the_limit(start_server: Start) -> None:
    srv = start_server(Limits(max_body_size=10))
    with srv.connect() as sock:
        sock.sendall(
            b"POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"8\r\n12345678\r\n8\r\n12345678\r\n"
        )
        assert read_reply(sock.makefile("rb")).status == 413
        assert is_closed(sock)
    assert srv.dispatcher.seen == []


def test_431_for_too_many_headers(start_server: Start) -> None:
    srv = start_server(Limits(max_headers=5))
    with srv.connect() as sock:
        extra = "".join(f"X-H{i}: v\r\n" for i in range(10))
        sock.sendall(_get("/", extra))
        assert read_reply(sock.makefile("rb")).status == 431


def test_431_for_a_head_that_never_ends(start_server: Start) -> None:
    srv = start_server(Limits(max_header_size=1024))
    with srv.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nX-Long: " + b"a" * 2000)
        assert read_reply(sock.makefile("rb")).status == 431
        assert is_closed(sock)


def test_malformed_request_is_400_and_closes(start_server: Start) -> None:
    srv = start_server()
    with srv.connect() as sock:
        sock.sendall(b"this is not http\r\n\r\n")
        assert read_reply(sock.makefile("rb")).status == 400
        assert is_closed(sock)


def test_http2_preface_is_505_and_closes(start_server: Start) -> None:
    srv = start_server()
    with srv.connect() as sock:
        sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        assert read_reply(sock.makefile("rb")).status == 505
        assert is_closed(sock)


def test_error_after_good_pipelined_request(start_server: Start) -> None:
    srv = start_server()
    with srv.connect() as sock:
        sock.sendall(_get("/fine") + b"BROKEN\r\n\r\n")
        stream = sock.makefile("rb")
        assert read_reply(stream).body == b"GET /fine 0\n"
        assert read_reply(stream).status == 400


def test_keep_alive_max_requests(start_server: Start) -> None:
    srv = start_server(Limits(keep_alive_max_requests=2))
    with srv.connect() as sock:
        stream = sock.makefile("rb")
        for _ in range(2):
            sock.sendall(_get())
            assert read_reply(stream).status == 200
        assert is_closed(sock)


def test_client_disconnecting_mid_body(start_server: Start) -> None:
    srv = start_server()
    for _ in range(3):
        sock = srv.connect()
        sock.sendall(b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly part")
        assert wait_until(lambda: srv.server.connection_count >= 1)
        sock.close()
    assert wait_until(lambda: srv.server.connection_count == 0), "connections leaked"
    assert srv.dispatcher.seen == []
    with srv.connect() as sock:  # still serving
        sock.sendall(_get("/after"))
        assert read_reply(sock.makefile("rb")).body == b"GET /after 0\n"


def test_client_half_close_still_gets_the_response(start_server: Start) -> None:
    srv = start_server()
    srv.dispatcher.slow_seconds = 0.1
    with srv.connect() as sock:
        sock.sendall(_get("/slow"))
        sock.shutdown(socket.SHUT_WR)
        assert read_reply(sock.makefile("rb")).body == b"GET /slow 0\n"


def test_streamed_response_from_another_thread(start_server: Start) -> None:
    srv = start_server()
    with srv.connect() as sock:
        stream = sock.makefile("rb")
        sock.sendall(_get("/stream"))
        reply = read_reply(stream)
        assert reply.status == 200
        assert reply.headers["transfer-encoding"] == "chunked"
        assert reply.body == b"first second third"
        sock.sendall(_get("/after"))  # the connection is still usable
        assert read_reply(stream).body == b"GET /after 0\n"


def test_streamed_response_http10(start_server: Start) -> None:
    srv = start_server()
    with srv.connect() as sock:
        sock.sendall(b"GET /stream HTTP/1.0\r\n\r\n")
        reply = read_reply(sock.makefile("rb"))
    assert reply.body == b"first second third"


def test_big_generator_body_to_a_slow_reader(start_server: Start) -> None:
    srv = start_server()
    with srv.connect() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        sock.sendall(_get("/big") + _get("/after"))
        time.sleep(0.3)  # let the server fill the socket buffers and wait for a drain
        stream = sock.makefile("rb")
        reply = read_reply(stream)
        assert len(reply.body) == 4 * 1024 * 1024
        assert read_reply(stream).body == b"GET /after 0\n"


def test_scheme_is_http(start_server: Start) -> None:
    srv = start_server()
    with srv.connect() as sock:
        sock.sendall(_get("/scheme"))
        assert read_reply(sock.makefile("rb")).body == b"http"


def test_connection_count(start_server: Start) -> None:
    srv = start_server()
    socks = [srv.connect() for _ in range(3)]
    try:
        assert wait_until(lambda: srv.server.connection_count == 3)
    finally:
        for sock in socks:
            sock.close()
    assert wait_until(lambda: srv.server.connection_count == 0, WAIT)


def test_upgrade_hands_the_connection_over(start_server: Start) -> None:
    srv = start_server()
    with srv.connect() as sock:
        sock.sendall(_get("/upgrade", "Connection: Upgrade\r\nUpgrade: echo\r\n") + b"early ")
        stream = sock.makefile("rb")
        assert read_reply(stream).status == 101
        assert stream.read(6) == b"EARLY "
        sock.sendall(b"later")
        assert stream.read(5) == b"LATER"


def test_many_pipelined_requests(start_server: Start) -> None:
    srv = start_server()
    count = 3000  # ~100 KiB of requests: more than the asyncio driver buffers unread
    with srv.connect() as sock:
        requests = b"".join(_get(f"/p{i}") for i in range(count))
        sender = threading.Thread(target=sock.sendall, args=(requests,))
        sender.start()
        stream = sock.makefile("rb")
        for i in range(count):
            assert read_reply(stream).body == f"GET /p{i} 0\n".encode()
        sender.join(WAIT)


def test_a_failing_dispatcher_gives_500_and_closes(start_server: Start) -> None:
    srv = start_server()
    with srv.connect() as sock:
        sock.sendall(_get("/explode"))
        assert read_reply(sock.makefile("rb")).status == 500
        assert is_closed(sock)
    with srv.connect() as sock:
        sock.sendall(_get("/fine"))
        assert read_reply(sock.makefile("rb")).status == 200
