"""Fragmented messages in the sans-I/O protocol: memory per message is bounded whatever the
number of fragments, and the number of fragments is capped (``max_fragments``, 1009 past it).

Frames are built by the independent encoder of ``test_protocol``.
"""
from __future__ import annotations

import tracemalloc
from typing import List

import pytest

from naja_atra.websocket.protocol import (
    BinaryFrame,
    BinaryMessage,
    Closed,
    Event,
    TextMessage,
    WebSocketProtocol,
)

from .test_protocol import assert_failed, close_payload, feed_random, frame

MIB = 1024 * 1024


def fragments(first_opcode: int, pieces: List[bytes]) -> bytes:
    """A message as one frame per piece: the first with ``first_opcode``, then continuations."""
    last = len(pieces) - 1
    return b"".join(frame(first_opcode if i == 0 else 0, piece, fin=i == last) for i, piece in enumerate(pieces))


def feed_in_chunks(proto: WebSocketProtocol, data: bytes, size: int = 64 * 1024) -> List[Event]:
    events: List[Event] = []
    for start in range(0, len(data), size):
        events += proto.receive_data(data[start:start + size])
    return events


def test_many_one_byte_fragments_use_constant_memory() -> None:
    """100,000 one-byte continuation frames: the old list of per-fragment objects peaked at
    ~12 MB here (measured; ~24 MB for 200,000: it grows with the count); one growing buffer
    stays in the hundreds of KB. (Fewer frames than that would not tell the two apart; more
    make the test slow, as tracemalloc slows every allocation down.)"""
    count = 100_000
    one = frame(0, b"b", fin=False)  # the same masked frame, repeated
    wire = frame(2, b"a", fin=False) + one * (count - 2) + frame(0, b"c")
    proto = WebSocketProtocol(max_fragments=count)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        events = feed_in_chunks(proto, wire)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert events == [BinaryMessage(b"a" + b"b" * (count - 2) + b"c")]
    assert peak < 2 * MIB, f"peak {peak} bytes for {count} fragments"


def test_a_text_message_in_one_byte_fragments_splits_characters() -> None:
    text = "héllo wörld ✓ 𝄞" * 50
    raw = text.encode("utf-8")
    proto = WebSocketProtocol()
    assert feed_in_chunks(proto, fragments(1, [raw[i:i + 1] for i in range(len(raw))]), 7) == [TextMessage(text)]


def test_invalid_utf8_in_a_fragment_fails_at_once() -> None:
    proto = WebSocketProtocol()
    events = proto.receive_data(fragments(1, [b"ok", b"\xff", b"never"])[: -len(frame(0, b"never"))])
    assert_failed(proto, events, 1007)


def test_the_fragment_limit_is_exact() -> None:
    ok = WebSocketProtocol(max_fragments=100)
    assert ok.receive_data(fragments(2, [b"x"] * 100)) == [BinaryMessage(b"x" * 100)]
    # The count starts again with each message.
    assert ok.receive_data(fragments(1, [b"y"] * 100)) == [TextMessage("y" * 100)]

    over = WebSocketProtocol(max_fragments=100)
    events = over.receive_data(fragments(2, [b"x"] * 101))
    assert_failed(over, events, 1009)  # and the close frame says 1009
    assert "fragments" in over.close_reason


@pytest.mark.parametrize("opcode", [1, 2])
def test_too_many_fragments_fail_before_the_rest_arrives(opcode: int) -> None:
    """The 1009 comes at the first frame past the limit, not at the end of the message."""
    proto = WebSocketProtocol(max_fragments=10)
    events = proto.receive_data(b"".join(frame(opcode if i == 0 else 0, b"z", fin=False) for i in range(11)))
    assert_failed(proto, events, 1009)
    assert proto.receive_data(frame(0, b"z")) == []  # the connection is over


def test_empty_fragments_count_too() -> None:
    proto = WebSocketProtocol(max_fragments=5)
    assert_failed(proto, proto.receive_data(fragments(2, [b""] * 6)), 1009)


def test_stream_binary_mode_delivers_each_fragment_and_caps_them() -> None:
    proto = WebSocketProtocol(stream_binary=True, max_fragments=3)
    wire = fragments(2, [b"ab", b"cd", b"ef"])
    assert feed_random(proto, wire, seed=3, max_chunk=3) == [
        BinaryFrame(b"ab", False), BinaryFrame(b"cd", False), BinaryFrame(b"ef", True)]
    events = proto.receive_data(fragments(2, [b"1", b"2", b"3", b"4"]))
    assert events[:3] == [BinaryFrame(b"1", False), BinaryFrame(b"2", False), BinaryFrame(b"3", False)]
    assert_failed(proto, events, 1009)


def test_a_frame_split_across_reads_is_one_piece() -> None:
    """A large frame arriving in small reads is collected in the same buffer (no per-read
    objects kept) and delivered whole."""
    payload = bytes(range(256)) * 400
    for stream_binary in (False, True):
        proto = WebSocketProtocol(stream_binary=stream_binary)
        events = feed_in_chunks(proto, frame(2, payload, fin=False) + frame(0, b"!"), 1000)
        if stream_binary:
            assert events == [BinaryFrame(payload, False), BinaryFrame(b"!", True)]
        else:
            assert events == [BinaryMessage(payload + b"!")]


def test_a_close_mid_message_drops_the_collected_fragments() -> None:
    proto = WebSocketProtocol()
    assert proto.receive_data(fragments(2, [b"a" * 1000, b"b" * 1000, b"c"])[:-len(frame(0, b"c"))]) == []
    proto.send_close(1000)
    events = proto.receive_data(frame(0, b"c") + frame(8, close_payload(1000)))
    assert [type(e) for e in events] == [Closed]
