"""Unit tests of the structured response (``Outgoing``) and of what a socket makes of it
(``http/wire.py``): Date, Connection, stream framing (no sockets)."""
from __future__ import annotations

import re

from naja_atra.http.outgoing import Outgoing
from naja_atra.http.wire import StreamFramer, encode_head, error_bytes, response_head, wire_headers

DATE = re.compile(r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT")


class Closable(list[bytes]):
    """A body that records its close, like an open file's chunks."""

    closed = False

    def close(self) -> None:
        self.closed = True


def test_in_memory_joins_small_list_bodies_only() -> None:
    assert Outgoing(200, body=[b"a", b"b"]).in_memory() == b"ab"
    assert Outgoing(200, body=[]).in_memory() == b""
    assert Outgoing(200, body=[b"x" * 10]).in_memory(limit=5) is None
    assert Outgoing(200, body=iter([b"file"])).in_memory() is None


def test_read_body_joins_and_closes() -> None:
    body = Closable([b"a", b"b"])
    assert Outgoing(200, body=body).read_body() == b"ab"
    assert body.closed


def test_the_error_message_closes_and_is_plain_text() -> None:
    out = Outgoing.error(431, "Request Header Fields Too Large")
    assert out.close and out.status == 431 and out.reason == "Request Header Fields Too Large"
    assert dict(out.headers)["Content-Type"] == "text/plain; charset=utf-8"
    body = out.read_body()
    assert body == b"431 Request Header Fields Too Large\n"
    assert dict(out.headers)["Content-Length"] == str(len(body))
    assert error_bytes(431, "Request Header Fields Too Large").endswith(b"\r\n\r\n" + body)


def test_wire_headers_add_date_and_say_close() -> None:
    lines = wire_headers("HTTP/1.1", [("X-A", "1"), ("Connection", "keep-alive")], close=True)
    assert lines[:2] == [("X-A", "1"), ("Connection", "close")]
    assert lines[2][0] == "Date" and DATE.fullmatch(lines[2][1])


def test_wire_headers_keep_http10_alive_and_leave_http11_alone() -> None:
    assert [n for n, _ in wire_headers("HTTP/1.1", [("X", "1")], close=False)] == ["X", "Date"]
    assert ("Connection", "keep-alive") in wire_headers("HTTP/1.0", [], close=False)


def test_encode_head_is_the_status_line_and_the_wire_headers() -> None:
    head = encode_head("HTTP/1.1", 404, [("Content-Length", "0")], close=False)
    assert head.startswith(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nDate: ")
    assert head.endswith(b"GMT\r\n\r\n")


def test_stream_framer_chunks_on_http11() -> None:
    framer = StreamFramer("HTTP/1.1")
    head = framer.head(200, [("Content-Length", "9"), ("X", "1")])
    assert b"Content-Length" not in head and b"Transfer-Encoding: chunked\r\n" in head
    assert not framer.close_delimited and not framer.close
    assert framer.piece(b"abc") == b"3\r\nabc\r\n"
    assert framer.piece(b"") == b""
    assert framer.end() == b"0\r\n\r\n"


def test_stream_framer_on_http10_ends_with_the_connection() -> None:
    framer = StreamFramer("HTTP/1.0")
    head = framer.head(200, [])
    assert b"Transfer-Encoding" not in head and b"Connection: close\r\n" in head
    assert framer.close_delimited and framer.piece(b"abc") == b"abc" and framer.end() == b""


def test_stream_framer_for_head_sends_no_body_and_a_last_request_says_close() -> None:
    framer = StreamFramer("HTTP/1.1", head_only=True, keep_alive=False)
    assert b"Connection: close\r\n" in framer.head(200, [])
    assert framer.piece(b"abc") == b"" and framer.end() == b""


def test_encode_head_is_response_head_of_the_wire_headers() -> None:
    """The one-pass encoder a socket uses and the pairs the test client shows agree."""
    headers = [("Content-Type", "text/plain"), ("Connection", "keep-alive"), ("Set-Cookie", "a=1")]
    for version in ("HTTP/1.1", "HTTP/1.0"):
        for close in (False, True):
            encoded = encode_head(version, 200, headers, close)
            expected = response_head(version, 200, wire_headers(version, headers, close))
            # Date may tick between the two calls: compare the rest.
            assert DATE.sub("", encoded.decode("latin-1")) == DATE.sub("", expected.decode("latin-1"))
