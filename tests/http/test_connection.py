"""Unit tests of the connection reader's events (no sockets)."""
from __future__ import annotations

from typing import Union

import pytest

from naja_atra.http.connection import (
    END_OF_BODY,
    NEED_DATA,
    BodyData,
    Event,
    ReaderState,
    RequestReader,
    RequestReceived,
    RequestRejected,
)
from naja_atra.http.limits import Limits

GET = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
POST = b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
CHUNKED = b"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"


def head_of(reader: RequestReader) -> RequestReceived:
    event = reader.next_event()
    assert isinstance(event, RequestReceived), event
    return event


def body_of(reader: RequestReader) -> bytes:
    """Every body piece up to the end of the body (all input must be there)."""
    pieces = []
    while True:
        event = reader.next_event()
        if event is END_OF_BODY:
            return b"".join(pieces)
        assert isinstance(event, BodyData), event
        pieces.append(event.data)


def test_nothing_yet_is_need_data_in_the_idle_state() -> None:
    reader = RequestReader(Limits())
    assert reader.state is ReaderState.IDLE
    assert reader.next_event() is NEED_DATA


def test_a_head_comes_before_its_body_and_the_body_as_it_arrives() -> None:
    reader = RequestReader(Limits())
    states = set()
    events: list[Union[Event, str]] = []
    for byte in POST:
        reader.feed(bytes([byte]))
        while True:
            event = reader.next_event()
            if event is NEED_DATA:
                states.add(reader.state)
                break
            events.append(event)
            if event is END_OF_BODY:
                break
    assert isinstance(events[0], RequestReceived) and events[0].head.has_body
    assert all(isinstance(e, BodyData) for e in events[1:-1])
    assert b"".join(e.data for e in events[1:-1] if isinstance(e, BodyData)) == b"hello"
    assert events[-1] is END_OF_BODY
    assert states == {ReaderState.HEAD, ReaderState.BODY}
    assert reader.state is ReaderState.IDLE


def test_a_request_without_a_body_has_no_body_events() -> None:
    reader = RequestReader(Limits())
    reader.feed(GET + GET)
    assert not head_of(reader).head.has_body
    assert not head_of(reader).head.has_body
    assert reader.next_event() is NEED_DATA


def test_a_chunked_body_is_decoded() -> None:
    reader = RequestReader(Limits())
    reader.feed(CHUNKED)
    assert head_of(reader).head.chunked
    assert body_of(reader) == b"abcde"


def test_pipelined_requests_come_out_one_by_one_in_order() -> None:
    reader = RequestReader(Limits())
    reader.feed(GET + POST + CHUNKED)
    assert head_of(reader).head.path == "/a"
    assert head_of(reader).head.path == "/p"
    assert body_of(reader) == b"hello"
    assert head_of(reader).head.path == "/c"
    assert body_of(reader) == b"abcde"
    assert reader.next_event() is NEED_DATA


def test_the_body_size_is_not_limited_here() -> None:
    """The route's limit applies (RequestBodyReader.limit), not the reader's."""
    reader = RequestReader(Limits(max_body_size=2))
    reader.feed(POST)
    assert head_of(reader).head.content_length == 5
    assert body_of(reader) == b"hello"


@pytest.mark.parametrize(("raw", "code"), [
    (b"GET / HTTP/1.1\r\n\r\n", 400),  # no Host
    (b"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505),
    (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400),
])
def test_a_refused_head_is_a_rejected_event_with_its_status(raw: bytes, code: int) -> None:
    reader = RequestReader(Limits())
    reader.feed(raw)
    event = reader.next_event()
    assert isinstance(event, RequestRejected)
    assert event.error.code == code


def test_malformed_chunk_framing_is_rejected_in_the_body() -> None:
    reader = RequestReader(Limits())
    reader.feed(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n")
    head_of(reader)
    event = reader.next_event()
    while isinstance(event, BodyData):
        event = reader.next_event()
    assert isinstance(event, RequestRejected) and event.error.code == 400
