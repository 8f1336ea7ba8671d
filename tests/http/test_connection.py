"""Unit tests of the connection reader's events (no sockets)."""
from __future__ import annotations

import pytest

from naja_atra.http.connection import (
    NEED_DATA,
    SEND_CONTINUE,
    ReaderState,
    RequestReader,
    RequestReceived,
    RequestRejected,
)
from naja_atra.http.limits import Limits

GET = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
POST = b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
CHUNKED = b"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"


def received(reader: RequestReader) -> RequestReceived:
    event = reader.next_event()
    assert isinstance(event, RequestReceived), event
    return event


def test_nothing_yet_is_need_data_in_the_idle_state() -> None:
    reader = RequestReader(Limits())
    assert reader.state is ReaderState.IDLE
    assert reader.next_event() is NEED_DATA


def test_a_request_fed_byte_by_byte_goes_through_head_and_body_states() -> None:
    reader = RequestReader(Limits())
    states = set()
    for i, byte in enumerate(POST):
        reader.feed(bytes([byte]))
        if i < len(POST) - 1:
            assert reader.next_event() is NEED_DATA
            states.add(reader.state)
    assert states == {ReaderState.HEAD, ReaderState.BODY}
    event = received(reader)
    assert (event.head.method, event.head.path, event.body) == ("POST", "/p", b"hello")
    assert reader.state is ReaderState.IDLE


def test_a_chunked_body_is_joined() -> None:
    reader = RequestReader(Limits())
    reader.feed(CHUNKED)
    assert received(reader).body == b"abcde"


def test_pipelined_requests_come_out_one_by_one_in_order() -> None:
    reader = RequestReader(Limits())
    reader.feed(GET + POST + CHUNKED)
    assert [received(reader).head.path for _ in range(3)] == ["/a", "/p", "/c"]
    assert reader.next_event() is NEED_DATA


def test_expect_continue_without_the_body_asks_for_100_continue() -> None:
    reader = RequestReader(Limits())
    reader.feed(b"PUT /u HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
    assert reader.next_event() is SEND_CONTINUE
    assert reader.next_event() is NEED_DATA
    reader.feed(b"abc")
    assert received(reader).body == b"abc"


def test_expect_continue_with_the_body_already_sent_gets_no_interim_response() -> None:
    reader = RequestReader(Limits())
    reader.feed(b"PUT /u HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc")
    assert received(reader).body == b"abc"


@pytest.mark.parametrize(("raw", "code"), [
    (b"GET / HTTP/1.1\r\n\r\n", 400),  # no Host
    (b"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505),
    (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", 413),
    (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400),
])
def test_refused_input_is_a_rejected_event_with_its_status(raw: bytes, code: int) -> None:
    reader = RequestReader(Limits(max_body_size=10))
    reader.feed(raw)
    event = reader.next_event()
    assert isinstance(event, RequestRejected)
    assert event.error.code == code


def test_a_chunked_body_over_the_limit_is_rejected_as_it_arrives() -> None:
    reader = RequestReader(Limits(max_body_size=4))
    reader.feed(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
    assert reader.next_event() is NEED_DATA
    reader.feed(b"3\r\ndef\r\n")
    event = reader.next_event()
    assert isinstance(event, RequestRejected) and event.error.code == 413
