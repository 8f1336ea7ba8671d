"""Unit tests of the sans-I/O WebSocket protocol (RFC 6455).

Client frames are built here by an independent encoder (``frame``) so that the parser is not
only checked against the protocol's own sender; server output is decoded by ``parse_frames``.
"""
from __future__ import annotations

import os
import random
import struct
import time
from typing import List, Optional, Tuple

import pytest

from naja_atra.websocket.protocol import (
    BinaryFrame,
    BinaryMessage,
    Closed,
    Event,
    Opcode,
    Ping,
    Pong,
    State,
    TextMessage,
    WebSocketProtocol,
    _unmask,
)

MASK = b"\x37\xfa\x21\x3d"

# ---------------------------------------------------------------------------------------------
# Independent frame encoder / decoder


def xor(data: bytes, mask: bytes) -> bytes:
    n = len(data)
    if not n:
        return b""
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


def frame(
    opcode: int,
    payload: bytes = b"",
    fin: bool = True,
    rsv: int = 0,
    mask: Optional[bytes] = MASK,
    length_bits: Optional[int] = None,
    length: Optional[int] = None,
) -> bytes:
    """A frame as a client would send it (masked unless ``mask`` is None)."""
    n = len(payload) if length is None else length
    if length_bits is None:
        length_bits = 7 if n < 126 else 16 if n < 65536 else 64
    b0 = (0x80 if fin else 0) | rsv | opcode
    mask_bit = 0x80 if mask is not None else 0
    if length_bits == 7:
        header = bytes((b0, mask_bit | n))
    elif length_bits == 16:
        header = bytes((b0, mask_bit | 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((b0, mask_bit | 127)) + n.to_bytes(8, "big")
    if mask is None:
        return header + payload
    return header + mask + xor(payload, mask)


def close_payload(code: int, reason: bytes = b"") -> bytes:
    return struct.pack("!H", code) + reason


def parse_frames(data: bytes, masked: bool = False) -> List[Tuple[bool, int, int, bytes]]:
    """``(fin, rsv bits, opcode, payload)`` of each frame in ``data``; checks the mask bit."""
    frames = []
    pos = 0
    while pos < len(data):
        b0, b1 = data[pos], data[pos + 1]
        assert bool(b1 & 0x80) == masked
        n = b1 & 0x7F
        pos += 2
        if n == 126:
            n = int.from_bytes(data[pos:pos + 2], "big")
            pos += 2
        elif n == 127:
            n = int.from_bytes(data[pos:pos + 8], "big")
            pos += 8
        mask = None
        if masked:
            mask = data[pos:pos + 4]
            pos += 4
        payload = data[pos:pos + n]
        assert len(payload) == n, "truncated frame"
        pos += n
        if mask is not None:
            payload = xor(payload, mask)
        frames.append((bool(b0 & 0x80), b0 & 0x70, b0 & 0x0F, payload))
    return frames


def server(**kwargs: object) -> WebSocketProtocol:
    return WebSocketProtocol(**kwargs)  # type: ignore[arg-type]


def feed_bytewise(proto: WebSocketProtocol, data: bytes) -> List[Event]:
    events: List[Event] = []
    for i in range(len(data)):
        events += proto.receive_data(data[i:i + 1])
    return events


def feed_random(proto: WebSocketProtocol, data: bytes, seed: int, max_chunk: int = 40) -> List[Event]:
    rng = random.Random(seed)
    events: List[Event] = []
    pos = 0
    while pos < len(data):
        step = rng.randint(1, max_chunk)
        events += proto.receive_data(data[pos:pos + step])
        pos += step
    return events


def assert_failed(proto: WebSocketProtocol, events: List[Event], code: int) -> None:
    """The connection failed with ``code``: a Closed event and exactly one close frame queued."""
    assert events and events[-1] == Closed(code, events[-1].reason, False)  # type: ignore[attr-defined]
    assert proto.state is State.CLOSED
    assert proto.close_code == code
    frames = parse_frames(proto.data_to_send())
    assert len(frames) == 1
    fin, rsv, opcode, payload = frames[0]
    assert (fin, rsv, opcode) == (True, 0, Opcode.CLOSE)
    assert struct.unpack("!H", payload[:2])[0] == code
    payload[2:].decode("utf-8")
    assert len(payload) <= 125
    # Input after a failure is ignored.
    assert proto.receive_data(frame(Opcode.TEXT, b"late") + frame(Opcode.PING, b"late")) == []
    assert proto.data_to_send() == b""


def fail_with(data: bytes, code: int, **kwargs: object) -> List[Event]:
    proto = server(**kwargs)
    events = proto.receive_data(data)
    assert_failed(proto, events, code)
    return events


# ---------------------------------------------------------------------------------------------
# Round trips


SIZES = [0, 1, 125, 126, 127, 65535, 65536, 1 << 20]


@pytest.mark.parametrize("size", SIZES)
def test_client_frames_of_every_size_class(size: int) -> None:
    data = os.urandom(size)
    text = "é" * (size // 2) + "a" * (size % 2)
    proto = server()
    events = proto.receive_data(frame(Opcode.BINARY, data) + frame(Opcode.TEXT, text.encode()))
    assert events == [BinaryMessage(data), TextMessage(text)]
    assert proto.data_to_send() == b""


@pytest.mark.parametrize("size, header", [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10), (1 << 20, 10)])
def test_server_frames_use_the_minimal_length_encoding(size: int, header: int) -> None:
    data = os.urandom(size)
    wire = server().send_binary(data)
    assert len(wire) == header + size
    assert wire[0] == 0x82
    assert parse_frames(wire) == [(True, 0, Opcode.BINARY, data)]


@pytest.mark.parametrize("size", SIZES)
def test_client_side_round_trip(size: int) -> None:
    client = WebSocketProtocol(client_side=True)
    srv = server()
    data = os.urandom(size)
    wire = client.send_binary(data)
    assert parse_frames(wire, masked=True) == [(True, 0, Opcode.BINARY, data)]
    assert srv.receive_data(wire) == [BinaryMessage(data)]
    assert client.receive_data(srv.send_binary(data)) == [BinaryMessage(data)]


def test_non_minimal_length_encodings_are_accepted() -> None:
    wire = frame(Opcode.TEXT, b"hello", length_bits=16) + frame(Opcode.BINARY, b"abc", length_bits=64)
    assert server().receive_data(wire) == [TextMessage("hello"), BinaryMessage(b"abc")]


def mixed_stream() -> Tuple[bytes, List[Event]]:
    big = os.urandom(70000)
    wire = b"".join([
        frame(Opcode.TEXT, "κόσμε".encode()),
        frame(Opcode.BINARY, big[:300], fin=False),
        frame(Opcode.PING, b"ping!"),
        frame(Opcode.CONTINUATION, big[300:], fin=False),
        frame(Opcode.PONG, b""),
        frame(Opcode.CONTINUATION, b"", fin=True),
        frame(Opcode.TEXT, "κό".encode()[:3], fin=False),
        frame(Opcode.CONTINUATION, "κό".encode()[3:] + b"x" * 200, fin=True),
        frame(Opcode.BINARY, b""),
        frame(Opcode.TEXT, b""),
        frame(Opcode.CLOSE, close_payload(1000, b"bye")),
    ])
    expected: List[Event] = [
        TextMessage("κόσμε"), Ping(b"ping!"), Pong(b""), BinaryMessage(big), TextMessage("κό" + "x" * 200),
        BinaryMessage(b""), TextMessage(""), Closed(1000, "bye", True),
    ]
    return wire, expected


def test_whole_stream_parses() -> None:
    wire, expected = mixed_stream()
    proto = server()
    assert proto.receive_data(wire) == expected
    assert parse_frames(proto.data_to_send()) == [
        (True, 0, Opcode.PONG, b"ping!"), (True, 0, Opcode.CLOSE, close_payload(1000))]


def test_byte_by_byte_parses_identically() -> None:
    wire, expected = mixed_stream()
    proto = server()
    assert feed_bytewise(proto, wire) == expected
    assert parse_frames(proto.data_to_send()) == [
        (True, 0, Opcode.PONG, b"ping!"), (True, 0, Opcode.CLOSE, close_payload(1000))]


@pytest.mark.parametrize("seed", range(8))
def test_random_splits_parse_identically(seed: int) -> None:
    wire, expected = mixed_stream()
    proto = server()
    max_chunk = [3, 40, 1000, 70000][seed % 4]
    assert feed_random(proto, wire, seed, max_chunk) == expected


def test_every_split_offset_of_a_masked_frame() -> None:
    wire = frame(Opcode.TEXT, "héllo wörld, 12345".encode()) + frame(Opcode.PING, b"xy")
    for cut in range(1, len(wire)):
        proto = server()
        events = proto.receive_data(wire[:cut]) + proto.receive_data(wire[cut:])
        assert events == [TextMessage("héllo wörld, 12345"), Ping(b"xy")], cut


def test_partial_input_is_buffered_across_calls() -> None:
    proto = server()
    wire = frame(Opcode.BINARY, b"x" * 1000)
    assert proto.receive_data(wire[:1]) == []
    assert proto.receive_data(wire[1:7]) == []
    assert proto.receive_data(wire[7:500]) == []
    assert proto.receive_data(wire[500:]) == [BinaryMessage(b"x" * 1000)]


def test_receive_accepts_bytearray_and_memoryview() -> None:
    proto = server()
    wire = frame(Opcode.TEXT, b"abc")
    assert proto.receive_data(bytearray(wire)) == [TextMessage("abc")]
    assert proto.receive_data(memoryview(wire)) == [TextMessage("abc")]  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Fragmentation


def test_fragmented_text_with_interleaved_control_frames() -> None:
    proto = server()
    events = proto.receive_data(frame(Opcode.TEXT, b"frag", fin=False) + frame(Opcode.PING, b"1"))
    assert events == [Ping(b"1")]
    assert parse_frames(proto.data_to_send()) == [(True, 0, Opcode.PONG, b"1")]
    events = proto.receive_data(frame(Opcode.CONTINUATION, b"men", fin=False) + frame(Opcode.PONG, b"2"))
    assert events == [Pong(b"2")]
    assert proto.receive_data(frame(Opcode.CONTINUATION, b"ted")) == [TextMessage("fragmented")]


def test_send_text_fragments() -> None:
    text = "0123456789" * 3 + "é"
    wire = server().send_text(text, fragment_size=8)
    frames = parse_frames(wire)
    assert [(f[0], f[2]) for f in frames] == [(False, Opcode.TEXT)] + [(False, Opcode.CONTINUATION)] * 2 + [
        (True, Opcode.CONTINUATION)]
    assert all(len(f[3]) <= 8 for f in frames)
    assert b"".join(f[3] for f in frames).decode() == text
    client = WebSocketProtocol(client_side=True)
    assert client.receive_data(wire) == [TextMessage(text)]


def test_send_binary_fragment_size_larger_than_payload_is_one_frame() -> None:
    assert parse_frames(server().send_binary(b"abc", fragment_size=3)) == [(True, 0, Opcode.BINARY, b"abc")]


def test_send_frame_streams_a_message() -> None:
    srv = server()
    wire = (srv.send_frame(Opcode.BINARY, b"ab", False) + srv.send_frame(Opcode.CONTINUATION, b"cd", False)
            + srv.send_frame(Opcode.CONTINUATION, b"ef", True))
    assert WebSocketProtocol(client_side=True).receive_data(wire) == [BinaryMessage(b"abcdef")]


@pytest.mark.parametrize("opcode, data, fin", [
    (Opcode.CLOSE, b"", True), (Opcode.PING, b"", False), (Opcode.PONG, b"x" * 126, True), (3, b"", True)])
def test_send_frame_rejects_invalid_frames(opcode: int, data: bytes, fin: bool) -> None:
    with pytest.raises(ValueError):
        server().send_frame(opcode, data, fin)  # type: ignore[arg-type]


def test_stream_binary_emits_each_fragment() -> None:
    proto = server(stream_binary=True)
    wire = (frame(Opcode.BINARY, b"one", fin=False) + frame(Opcode.PING, b"")
            + frame(Opcode.CONTINUATION, b"two", fin=False) + frame(Opcode.CONTINUATION, b"", fin=True)
            + frame(Opcode.BINARY, b"whole") + frame(Opcode.TEXT, b"te", fin=False)
            + frame(Opcode.CONTINUATION, b"xt"))
    expected = [BinaryFrame(b"one", False), Ping(b""), BinaryFrame(b"two", False), BinaryFrame(b"", True),
                BinaryFrame(b"whole", True), TextMessage("text")]
    assert proto.receive_data(wire) == expected
    assert feed_bytewise(server(stream_binary=True), wire) == expected


def test_stream_binary_applies_the_limit_to_the_whole_message() -> None:
    proto = server(stream_binary=True, max_message_size=10)
    events = proto.receive_data(frame(Opcode.BINARY, b"x" * 6, fin=False) + frame(Opcode.CONTINUATION, b"y" * 6))
    assert events[0] == BinaryFrame(b"x" * 6, False)
    assert_failed(proto, events, 1009)


# ---------------------------------------------------------------------------------------------
# Rejections


@pytest.mark.parametrize("rsv", [0x40, 0x20, 0x10, 0x70])
def test_reserved_bits_without_extension(rsv: int) -> None:
    fail_with(frame(Opcode.TEXT, b"hi", rsv=rsv), 1002)


def test_reserved_bits_fail_after_earlier_frames_were_delivered() -> None:
    # Autobahn 3.x: the first message is delivered, the bad frame fails, the ping after it is ignored.
    proto = server()
    events = proto.receive_data(frame(Opcode.TEXT, b"ok") + frame(Opcode.TEXT, b"bad", rsv=0x20)
                                + frame(Opcode.PING, b"p"))
    assert events[0] == TextMessage("ok")
    assert len(events) == 2
    assert_failed(proto, events, 1002)


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 11, 12, 13, 14, 15])
def test_reserved_opcodes(opcode: int) -> None:
    fail_with(frame(opcode, b"x"), 1002)


@pytest.mark.parametrize("opcode", [Opcode.PING, Opcode.PONG, Opcode.CLOSE])
def test_control_frame_payload_over_125(opcode: int) -> None:
    payload = close_payload(1000, b"x" * 124) if opcode == Opcode.CLOSE else b"x" * 126
    fail_with(frame(opcode, payload), 1002)


def test_control_frame_too_long_fails_on_the_header_alone() -> None:
    proto = server()
    events = proto.receive_data(frame(Opcode.PING, b"x" * 126)[:4])
    assert_failed(proto, events, 1002)


@pytest.mark.parametrize("opcode", [Opcode.PING, Opcode.PONG, Opcode.CLOSE])
def test_fragmented_control_frame(opcode: int) -> None:
    fail_with(frame(opcode, b"", fin=False), 1002)


def test_continuation_without_a_message() -> None:
    fail_with(frame(Opcode.CONTINUATION, b"x"), 1002)


def test_continuation_after_a_completed_message() -> None:
    events = fail_with(frame(Opcode.TEXT, b"a") + frame(Opcode.CONTINUATION, b"b"), 1002)
    assert events[0] == TextMessage("a")


@pytest.mark.parametrize("second", [Opcode.TEXT, Opcode.BINARY])
def test_new_message_during_a_fragmented_one(second: int) -> None:
    fail_with(frame(Opcode.TEXT, b"a", fin=False) + frame(second, b"b"), 1002)


def test_64_bit_length_with_the_top_bit_set() -> None:
    wire = bytes((0x82, 0xFF)) + (1 << 63).to_bytes(8, "big") + MASK
    fail_with(wire, 1002)


def test_unmasked_client_frame() -> None:
    fail_with(frame(Opcode.TEXT, b"hi", mask=None), 1002)


def test_masked_server_frame_on_the_client_side() -> None:
    client = WebSocketProtocol(client_side=True)
    events = client.receive_data(frame(Opcode.TEXT, b"hi"))
    assert events[-1].code == 1002  # type: ignore[attr-defined]
    assert client.state is State.CLOSED
    assert parse_frames(client.data_to_send(), masked=True)[0][2] == Opcode.CLOSE


INVALID_UTF8 = [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xce\xbaa\x80", b"\xf8\x88\x80\x80\x80"]


@pytest.mark.parametrize("payload", INVALID_UTF8)
def test_invalid_utf8_text(payload: bytes) -> None:
    fail_with(frame(Opcode.TEXT, payload), 1007)


@pytest.mark.parametrize("payload", INVALID_UTF8)
def test_invalid_utf8_text_fragmented_and_bytewise(payload: bytes) -> None:
    wire = frame(Opcode.TEXT, b"ok", fin=False) + frame(Opcode.CONTINUATION, payload)
    proto = server()
    assert_failed(proto, feed_bytewise(proto, wire), 1007)


def test_truncated_utf8_at_the_end_of_a_message() -> None:
    fail_with(frame(Opcode.TEXT, b"ok", fin=False) + frame(Opcode.CONTINUATION, "κ".encode()[:1]), 1007)


def test_utf8_fails_fast_in_the_first_fragment() -> None:
    # Autobahn 6.4.1/6.4.2: the bad fragment fails before the rest of the message arrives.
    proto = server()
    assert proto.receive_data(frame(Opcode.TEXT, "κόσμε".encode(), fin=False)) == []
    events = proto.receive_data(frame(Opcode.CONTINUATION, b"\xf4\x90\x80\x80", fin=False))
    assert_failed(proto, events, 1007)


def test_utf8_fails_fast_inside_a_frame() -> None:
    # Autobahn 6.4.3/6.4.4: one frame arriving in chops; the chop with the bad byte fails at once.
    wire = frame(Opcode.TEXT, "κόσμε".encode() + b"\xf4\x90\x80\x80" + b"edited")
    cut = wire.index(xor("κόσμε".encode() + b"\xf4\x90\x80\x80", MASK)[-4:])
    proto = server()
    assert proto.receive_data(wire[:cut]) == []
    events = proto.receive_data(wire[cut:cut + 2])  # \xf4\x90 can never start a valid sequence
    assert_failed(proto, events, 1007)


@pytest.mark.parametrize("prefix", [b"\xf4\x90", b"\xe0\x80", b"\xf0\x8f", b"\xed\xa0", b"\xed\xbf", b"\xc0"])
def test_utf8_fails_fast_on_an_impossible_prefix(prefix: bytes) -> None:
    proto = server()
    assert proto.receive_data(frame(Opcode.TEXT, b"ok", fin=False)) == []
    events = proto.receive_data(frame(Opcode.CONTINUATION, b"ok" + prefix, fin=False))
    assert_failed(proto, events, 1007)


def test_utf8_valid_prefixes_wait_for_more() -> None:
    # U+D7FF (the last code point before the surrogates) and U+10FFFF, one byte per fragment.
    proto = server()
    assert proto.receive_data(frame(Opcode.TEXT, b"\xed", fin=False)) == []
    for piece in (b"\x9f", b"\xbf", b"\xf4", b"\x8f", b"\xbf", b"\xbf"):
        assert proto.receive_data(frame(Opcode.CONTINUATION, piece, fin=False)) == []
    assert proto.receive_data(frame(Opcode.CONTINUATION, b"")) == [TextMessage("\ud7ff\U0010ffff")]


def test_utf8_split_inside_a_character_across_fragments() -> None:
    raw = "κόσμε€𝄞".encode()
    for cut in range(len(raw) + 1):
        wire = frame(Opcode.TEXT, raw[:cut], fin=False) + frame(Opcode.CONTINUATION, raw[cut:])
        assert server().receive_data(wire) == [TextMessage("κόσμε€𝄞")], cut


def test_message_too_big_fails_on_the_header() -> None:
    proto = server(max_message_size=10)
    wire = frame(Opcode.BINARY, b"x" * 11)
    events = proto.receive_data(wire[:6])  # header and mask only: the length says enough
    assert_failed(proto, events, 1009)


def test_fragmented_message_too_big() -> None:
    proto = server(max_message_size=10)
    events = proto.receive_data(frame(Opcode.TEXT, b"x" * 6, fin=False) + frame(Opcode.CONTINUATION, b"y" * 5)[:6])
    assert_failed(proto, events, 1009)


def test_message_at_the_limit_is_accepted() -> None:
    proto = server(max_message_size=10)
    wire = frame(Opcode.TEXT, b"x" * 4, fin=False) + frame(Opcode.CONTINUATION, b"y" * 6)
    assert proto.receive_data(wire + frame(Opcode.BINARY, b"z" * 10)) == [TextMessage("xxxxyyyyyy"),
                                                                          BinaryMessage(b"z" * 10)]


# ---------------------------------------------------------------------------------------------
# Pings


def test_auto_pong() -> None:
    proto = server()
    assert proto.receive_data(frame(Opcode.PING, b"x" * 125)) == [Ping(b"x" * 125)]
    assert parse_frames(proto.data_to_send()) == [(True, 0, Opcode.PONG, b"x" * 125)]
    assert proto.data_to_send() == b""


def test_ten_pings_ten_pongs() -> None:
    proto = server()
    events = proto.receive_data(b"".join(frame(Opcode.PING, bytes([i])) for i in range(10)))
    assert events == [Ping(bytes([i])) for i in range(10)]
    assert parse_frames(proto.data_to_send()) == [(True, 0, Opcode.PONG, bytes([i])) for i in range(10)]


def test_no_auto_pong() -> None:
    proto = server(auto_pong=False)
    assert proto.receive_data(frame(Opcode.PING, b"p")) == [Ping(b"p")]
    assert proto.data_to_send() == b""
    assert parse_frames(proto.send_pong(b"p")) == [(True, 0, Opcode.PONG, b"p")]


def test_ping_and_pong_payload_limits() -> None:
    proto = server()
    assert parse_frames(proto.send_ping(b"x" * 125)) == [(True, 0, Opcode.PING, b"x" * 125)]
    with pytest.raises(ValueError):
        proto.send_ping(b"x" * 126)
    with pytest.raises(ValueError):
        proto.send_pong(b"x" * 126)


# ---------------------------------------------------------------------------------------------
# Closing


VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]
INVALID_CODES = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]


@pytest.mark.parametrize("code", VALID_CODES)
def test_peer_close_with_a_valid_code_is_echoed(code: int) -> None:
    proto = server()
    events = proto.receive_data(frame(Opcode.CLOSE, close_payload(code, "ok ✓".encode())))
    assert events == [Closed(code, "ok ✓", True)]
    assert proto.state is State.CLOSED
    assert (proto.close_code, proto.close_reason) == (code, "ok ✓")
    assert parse_frames(proto.data_to_send()) == [(True, 0, Opcode.CLOSE, close_payload(code))]


@pytest.mark.parametrize("code", INVALID_CODES)
def test_peer_close_with_an_invalid_code(code: int) -> None:
    fail_with(frame(Opcode.CLOSE, close_payload(code)), 1002)


def test_empty_close_is_answered_with_an_empty_close() -> None:
    proto = server()
    assert proto.receive_data(frame(Opcode.CLOSE)) == [Closed(1005, "", True)]
    assert parse_frames(proto.data_to_send()) == [(True, 0, Opcode.CLOSE, b"")]
    assert proto.close_code == 1005


def test_close_with_a_one_byte_payload() -> None:
    fail_with(frame(Opcode.CLOSE, b"\x03"), 1002)


def test_close_reason_of_123_bytes_is_accepted() -> None:
    proto = server()
    assert proto.receive_data(frame(Opcode.CLOSE, close_payload(1000, b"*" * 123))) == [
        Closed(1000, "*" * 123, True)]


def test_close_reason_not_utf8() -> None:
    fail_with(frame(Opcode.CLOSE, close_payload(1000, b"\xce\xba\xed\xa0\x80")), 1007)


def test_input_after_the_peer_close_is_ignored() -> None:
    proto = server()
    events = proto.receive_data(frame(Opcode.CLOSE, close_payload(1001)) + frame(Opcode.PING, b"x"))
    assert events == [Closed(1001, "", True)]
    assert proto.receive_data(frame(Opcode.TEXT, b"x")) == []
    assert parse_frames(proto.data_to_send()) == [(True, 0, Opcode.CLOSE, close_payload(1001))]


def test_sending_after_close_returns_nothing() -> None:
    proto = server()
    proto.receive_data(frame(Opcode.CLOSE, close_payload(1000)))
    assert proto.send_close() == b""  # the reply is already queued
    assert parse_frames(proto.data_to_send()) == [(True, 0, Opcode.CLOSE, close_payload(1000))]
    assert proto.send_text("x") == b""
    assert proto.send_binary(b"x") == b""
    assert proto.send_ping() == b""
    assert proto.send_pong() == b""
    assert proto.send_frame(Opcode.TEXT, b"x", True) == b""


def test_we_close_first() -> None:
    proto = server()
    wire = proto.send_close(1001, "going away")
    assert parse_frames(wire) == [(True, 0, Opcode.CLOSE, close_payload(1001, b"going away"))]
    assert proto.state is State.CLOSING
    assert proto.send_close() == b""
    assert proto.send_text("late") == b""
    # Data frames are discarded, control frames processed (but no pong after our close).
    events = proto.receive_data(frame(Opcode.TEXT, b"dropped") + frame(Opcode.PING, b"p")
                                + frame(Opcode.BINARY, b"dropped", fin=False)
                                + frame(Opcode.CONTINUATION, b"too"))
    assert events == [Ping(b"p")]
    assert proto.state is State.CLOSING
    events = proto.receive_data(frame(Opcode.CLOSE, close_payload(1001)))
    assert events == [Closed(1001, "", True)]
    assert proto.state is State.CLOSED
    assert proto.data_to_send() == b""


def test_closing_discards_the_rest_of_a_message_in_progress() -> None:
    proto = server()
    assert proto.receive_data(frame(Opcode.TEXT, b"part", fin=False)) == []
    proto.send_close()
    events = proto.receive_data(frame(Opcode.CONTINUATION, b"\xff")  # not even UTF-8-checked
                                + frame(Opcode.CLOSE, close_payload(1000)))
    assert events == [Closed(1000, "", True)]


def test_protocol_errors_still_fail_while_closing() -> None:
    proto = server()
    proto.send_close()
    events = proto.receive_data(frame(Opcode.CONTINUATION, b"x"))
    assert events[-1] == Closed(1002, events[-1].reason, False)  # type: ignore[attr-defined]
    assert proto.state is State.CLOSED
    assert proto.data_to_send() == b""  # our close frame went out already


def test_send_close_validation_and_truncation() -> None:
    for code in (999, 1005, 1006, 1015, 5000):
        with pytest.raises(ValueError):
            server().send_close(code)
    wire = server().send_close(1000, "é" * 100)
    payload = parse_frames(wire)[0][3]
    assert len(payload) == 2 + 122
    assert payload[2:].decode() == "é" * 61


@pytest.mark.parametrize("last", [frame(Opcode.TEXT, b"bad", rsv=0x20), frame(Opcode.CLOSE, close_payload(1000))])
def test_messages_before_a_close_can_be_answered_until_the_close_is_handed_out(last: bytes) -> None:
    # Autobahn 3.2: "Hello" then a bad frame in one read; the echo may precede our close frame.
    proto = server()
    events = proto.receive_data(frame(Opcode.TEXT, b"Hello") + last)
    assert events[0] == TextMessage("Hello")
    assert isinstance(events[1], Closed)
    assert proto.state is State.CLOSED
    echo = proto.send_text("Hello")
    assert parse_frames(echo) == [(True, 0, Opcode.TEXT, b"Hello")]
    assert parse_frames(proto.data_to_send())[0][2] == Opcode.CLOSE
    assert proto.send_text("Hello") == b""
    assert proto.send_ping() == b""


def test_send_close_after_a_failure_returns_nothing() -> None:
    proto = server()
    proto.receive_data(frame(Opcode.TEXT, b"x", mask=None))
    assert proto.send_close() == b""


# ---------------------------------------------------------------------------------------------
# Events, masking, speed


def test_event_equality_and_repr() -> None:
    assert TextMessage("a") == TextMessage("a")
    assert TextMessage("a") != TextMessage("b")
    assert Ping(b"a") != Pong(b"a")
    assert hash(Closed(1000, "", True)) == hash(Closed(1000, "", True))
    assert repr(BinaryFrame(b"x", True)) == "BinaryFrame(data=b'x', fin=True)"
    assert isinstance(TextMessage("a"), Event)


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 7, 125, 2047, 2048, 2049, 4099, 65536])
def test_unmask_matches_a_bytewise_xor(size: int) -> None:
    data = os.urandom(size)
    mask = os.urandom(4)
    expected = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    assert _unmask(data, mask) == expected
    assert _unmask(bytearray(data), mask) == expected


def test_unmask_one_mebibyte_under_5_ms() -> None:
    data = os.urandom(1 << 20)
    mask = os.urandom(4)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        _unmask(data, mask)
        best = min(best, time.perf_counter() - start)
    assert best < 0.005, f"{best * 1000:.2f} ms"
