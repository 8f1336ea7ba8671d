"""Unit tests of permessage-deflate (RFC 7692): negotiation, compression, and its use by the protocol."""
from __future__ import annotations

import os
import random
import tracemalloc
import zlib
from typing import List, Optional

import pytest

from naja_atra.websocket.deflate import DeflateError, DeflateParams, PerMessageDeflate, negotiate
from naja_atra.websocket.protocol import (
    BinaryFrame,
    BinaryMessage,
    Closed,
    Event,
    Opcode,
    Ping,
    State,
    TextMessage,
    WebSocketProtocol,
)

from .test_protocol import feed_bytewise, feed_random, frame, parse_frames

TAIL = b"\x00\x00\xff\xff"
TEXT = ("The quick brown fox jumps over the lazy dog. " * 50).encode()


def raw_compress(data: bytes, wbits: int = 15, finish: bool = False) -> bytes:
    """A message compressed by plain zlib, as an independent peer would (RFC 7692 7.2.1)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -wbits)
    out = compressor.compress(data) + compressor.flush(zlib.Z_FINISH if finish else zlib.Z_SYNC_FLUSH)
    return out if finish else out[:-4]


def inflate_strict(payload: bytes, wbits: int, inflater: Optional[zlib._Decompress] = None) -> bytes:
    """Inflate with a ``2**wbits`` window, a few bytes of output at a time.

    Within one call zlib may copy from its output buffer whatever the window size, so tiny
    outputs make every back reference go through the window: one further back than the
    window allows fails with "invalid distance too far back".
    """
    if inflater is None:
        inflater = zlib.decompressobj(-wbits)
    out = []
    data = payload + TAIL
    while data:
        out.append(inflater.decompress(data, 16))
        data = inflater.unconsumed_tail
    return b"".join(out)


# ---------------------------------------------------------------------------------------------
# Negotiation


P = DeflateParams


@pytest.mark.parametrize("offer, response, params", [
    ("permessage-deflate", "permessage-deflate", P()),
    # The offers of Autobahn 12.x/13.x.
    ("permessage-deflate; client_max_window_bits", "permessage-deflate", P()),
    ("permessage-deflate; client_no_context_takeover; client_max_window_bits",
     "permessage-deflate; client_no_context_takeover", P(client_no_context_takeover=True)),
    ("permessage-deflate; server_max_window_bits=9", "permessage-deflate; server_max_window_bits=9",
     P(server_max_window_bits=9)),
    ("permessage-deflate; client_no_context_takeover; client_max_window_bits; server_max_window_bits=8",
     "permessage-deflate; client_no_context_takeover; server_max_window_bits=8",
     P(client_no_context_takeover=True, server_max_window_bits=8)),
    ("permessage-deflate; server_no_context_takeover; server_max_window_bits=15",
     "permessage-deflate; server_no_context_takeover; server_max_window_bits=15",
     P(server_no_context_takeover=True)),
    ("permessage-deflate; client_max_window_bits=10", "permessage-deflate; client_max_window_bits=10",
     P(client_max_window_bits=10)),
    ("permessage-deflate;server_no_context_takeover;client_no_context_takeover;server_max_window_bits=12;"
     "client_max_window_bits=11",
     "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; "
     "client_max_window_bits=11",
     P(True, True, 12, 11)),
    # Quoted values, case, whitespace.
    ('permessage-deflate; server_max_window_bits="10"', "permessage-deflate; server_max_window_bits=10",
     P(server_max_window_bits=10)),
    ("  PerMessage-Deflate ;  Client_Max_Window_Bits  ", "permessage-deflate", P()),
    # The first acceptable offer wins; others are skipped.
    ("x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=10, permessage-deflate",
     "permessage-deflate; server_max_window_bits=10", P(server_max_window_bits=10)),
    ("permessage-deflate; server_max_window_bits=7, permessage-deflate; client_max_window_bits",
     "permessage-deflate", P()),
    ("permessage-deflate; foo, permessage-deflate; server_no_context_takeover",
     "permessage-deflate; server_no_context_takeover", P(server_no_context_takeover=True)),
    ('foo; bar="a,b", permessage-deflate', "permessage-deflate", P()),
])
def test_negotiation_accepts(offer: str, response: str, params: DeflateParams) -> None:
    assert negotiate(offer) == (response, params)


@pytest.mark.parametrize("offer", [
    None,
    "",
    "x-webkit-deflate-frame",
    "permessage-deflate; unknown_param",
    "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
    "permessage-deflate; server_no_context_takeover=1",
    "permessage-deflate; client_no_context_takeover=true",
    "permessage-deflate; server_max_window_bits",
    "permessage-deflate; server_max_window_bits=",
    "permessage-deflate; server_max_window_bits=7",
    "permessage-deflate; server_max_window_bits=16",
    "permessage-deflate; server_max_window_bits=08",
    "permessage-deflate; server_max_window_bits=abc",
    "permessage-deflate; server_max_window_bits=1 0",
    "permessage-deflate; client_max_window_bits=7",
    "permessage-deflate; client_max_window_bits=16",
    'permessage-deflate; client_max_window_bits="1 0"',
    "permessage-deflate; server_max_window_bits=10; foo=bar",
    "permessage-deflate;; server_no_context_takeover",
    "permessage-deflate; =10",
])
def test_negotiation_declines(offer: Optional[str]) -> None:
    assert negotiate(offer) is None


@pytest.mark.parametrize("bits", [7, 16])
def test_params_validate_window_bits(bits: int) -> None:
    with pytest.raises(ValueError):
        DeflateParams(server_max_window_bits=bits)
    with pytest.raises(ValueError):
        DeflateParams(client_max_window_bits=bits)


# ---------------------------------------------------------------------------------------------
# PerMessageDeflate


def test_rfc7692_examples_decompress() -> None:
    pmd = PerMessageDeflate(P())
    # 7.2.3.1 a message compressed in one block; 7.2.3.2 the same again, sharing the window.
    assert pmd.decompress(b"\xf2\x48\xcd\xc9\xc9\x07\x00", True, 100) == b"Hello"
    assert pmd.decompress(b"\xf2\x00\x11\x00\x00", True, 100) == b"Hello"
    # 7.2.3.3 a stored (uncompressed) block; 7.2.3.6 an empty message.
    assert pmd.decompress(b"\x00\x05\x00\xfa\xff\x48\x65\x6c\x6c\x6f\x00", True, 100) == b"Hello"
    assert pmd.decompress(b"\x00", True, 100) == b""
    # 7.2.3.1 split into two frames.
    assert pmd.decompress(b"\xf2\x48\xcd", False, 100) + pmd.decompress(b"\xc9\xc9\x07\x00", True, 100) == b"Hello"


def test_compress_matches_rfc7692_examples_with_context_takeover() -> None:
    pmd = PerMessageDeflate(P())
    assert pmd.compress(b"Hello") == b"\xf2\x48\xcd\xc9\xc9\x07\x00"
    assert pmd.compress(b"Hello") == b"\xf2\x00\x11\x00\x00"


def test_compress_without_context_takeover_repeats_itself() -> None:
    text = random.Random(1).getrandbits(8000).to_bytes(1000, "big").hex().encode()
    pmd = PerMessageDeflate(P(server_no_context_takeover=True))
    first = pmd.compress(text)
    assert len(first) > 1000
    assert pmd.compress(text) == first
    shared = PerMessageDeflate(P())
    assert shared.compress(text) == first
    assert len(shared.compress(text)) < 100  # the window already holds the text


@pytest.mark.parametrize("nct", [False, True])
def test_compress_output_is_plain_deflate(nct: bool) -> None:
    pmd = PerMessageDeflate(P(server_no_context_takeover=nct))
    inflater = zlib.decompressobj(-15)
    for message in [TEXT, b"", os.urandom(3000), TEXT[:100], TEXT]:
        payload = pmd.compress(message)
        assert not payload.endswith(TAIL)
        if nct:
            inflater = zlib.decompressobj(-15)
        assert inflater.decompress(payload + TAIL) == message


@pytest.mark.parametrize("bits", [8, 9, 10, 11, 12, 13, 14, 15])
def test_server_window_bits_are_respected(bits: int) -> None:
    # Repeats at distances between 2**bits and 2**(bits+1) would need a bigger window.
    rng = random.Random(bits)
    block = bytes(rng.randrange(256) for _ in range((1 << bits) + 100))
    data = block * 3 + b"\x00" * 5000
    pmd = PerMessageDeflate(P(server_max_window_bits=bits))
    inflater = zlib.decompressobj(-bits)
    # The second message through the same inflater exercises the shared window.
    for message in (data, data[-(1 << bits):] + block, data):
        assert inflate_strict(pmd.compress(message), bits, inflater) == message


def test_a_small_window_inflater_rejects_far_references() -> None:
    # The check above can fail: a default compressor refers back further than 256 bytes.
    rng = random.Random(0)
    block = bytes(rng.randrange(256) for _ in range(400))
    assert inflate_strict(raw_compress(block * 3), 15) == block * 3
    with pytest.raises(zlib.error):
        inflate_strict(raw_compress(block * 3), 8)


def test_window_8_still_compresses() -> None:
    pmd = PerMessageDeflate(P(server_max_window_bits=8))
    assert len(pmd.compress(b"a" * 10000)) < 200
    assert len(pmd.compress(TEXT)) < len(TEXT) // 10


@pytest.mark.parametrize("bits", [8, 9, 12, 15])
def test_client_side_uses_the_client_parameters(bits: int) -> None:
    params = P(client_max_window_bits=bits, client_no_context_takeover=True)
    client = PerMessageDeflate(params, client_side=True)
    first = client.compress(TEXT)
    assert client.compress(TEXT) == first  # no context takeover on the client's side
    assert inflate_strict(first, bits) == TEXT
    server = PerMessageDeflate(params)
    assert server.decompress(first, True, 1 << 20) == TEXT


def test_decompress_piecewise() -> None:
    payload = raw_compress(TEXT)
    pmd = PerMessageDeflate(P())
    out = b"".join(pmd.decompress(payload[i:i + 1], False, 1 << 20) for i in range(len(payload)))
    out += pmd.decompress(b"", True, 1 << 20)
    assert out == TEXT


def test_decompress_keeps_the_context_unless_told_otherwise() -> None:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)

    def message(data: bytes) -> bytes:
        return (compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]

    first, second = message(TEXT), message(TEXT)
    keeps = PerMessageDeflate(P())
    assert keeps.decompress(first, True, 1 << 20) == TEXT
    assert keeps.decompress(second, True, 1 << 20) == TEXT
    # With client_no_context_takeover the inflater starts afresh, so the back reference fails.
    resets = PerMessageDeflate(P(client_no_context_takeover=True))
    assert resets.decompress(first, True, 1 << 20) == TEXT
    with pytest.raises(DeflateError) as info:
        resets.decompress(second, True, 1 << 20)
    assert info.value.code == 1007


def test_decompress_a_bfinal_message_then_another() -> None:
    pmd = PerMessageDeflate(P())
    assert pmd.decompress(raw_compress(b"Hello", finish=True), True, 100) == b"Hello"
    assert pmd.decompress(raw_compress(b"World"), True, 100) == b"World"


def test_decompression_bomb() -> None:
    bomb = raw_compress(b"\x00" * (20 << 20))
    assert len(bomb) < 30000
    pmd = PerMessageDeflate(P())
    with pytest.raises(DeflateError) as info:
        pmd.decompress(bomb, True, 1 << 20)
    assert info.value.code == 1009


def test_decompression_bomb_does_not_expand_in_memory() -> None:
    bomb = raw_compress(b"\x00" * (20 << 20))
    pmd = PerMessageDeflate(P())
    tracemalloc.start()
    try:
        with pytest.raises(DeflateError):
            pmd.decompress(bomb, False, 1 << 20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


def test_decompress_exactly_at_the_limit() -> None:
    payload = raw_compress(b"x" * 1000)
    assert PerMessageDeflate(P()).decompress(payload, True, 1000) == b"x" * 1000
    with pytest.raises(DeflateError):
        PerMessageDeflate(P()).decompress(payload, True, 999)


def test_decompress_limit_counts_the_flush_of_the_tail() -> None:
    # Output held back until the tail arrives still counts against the limit.
    payload = raw_compress(b"y" * 500)
    pmd = PerMessageDeflate(P())
    with pytest.raises(DeflateError):
        pmd.decompress(payload, False, 10)


def test_corrupt_data() -> None:
    with pytest.raises(DeflateError) as info:
        PerMessageDeflate(P()).decompress(b"\xff\xff\xff\xff", True, 100)
    assert info.value.code == 1007


# ---------------------------------------------------------------------------------------------
# The protocol with permessage-deflate


def pair(params: DeflateParams = P(), **kwargs: object) -> tuple[WebSocketProtocol, WebSocketProtocol]:
    server = WebSocketProtocol(deflate=params, **kwargs)  # type: ignore[arg-type]
    client = WebSocketProtocol(deflate=params, client_side=True)
    return server, client


@pytest.mark.parametrize("params", [P(), P(True, True), P(False, False, 9, 9), P(True, False, 8, 15),
                                    P(False, True, 12, 10)])
def test_round_trips_in_both_directions(params: DeflateParams) -> None:
    server, client = pair(params)
    messages = [TEXT.decode(), "", "é" * 3000, TEXT.decode(), "x"]
    for text in messages:
        wire = client.send_text(text)
        frames = parse_frames(wire, masked=True)
        assert frames[0][1] == 0x40  # RSV1: compressed
        assert server.receive_data(wire) == [TextMessage(text)]
        assert client.receive_data(server.send_text(text)) == [TextMessage(text)]
    data = os.urandom(70000)
    assert server.receive_data(client.send_binary(data)) == [BinaryMessage(data)]
    assert client.receive_data(server.send_binary(data, fragment_size=1000)) == [BinaryMessage(data)]


def test_rsv1_only_on_the_first_fragment() -> None:
    server, _ = pair()
    frames = parse_frames(server.send_text(TEXT.decode() + os.urandom(500).hex(), fragment_size=100))
    assert len(frames) > 3
    assert frames[0][1:3] == (0x40, Opcode.TEXT)
    assert all(f[1:3] == (0, Opcode.CONTINUATION) for f in frames[1:])


def compressed_stream() -> tuple[bytes, List[Event]]:
    compressed = raw_compress(TEXT)
    wire = b"".join([
        frame(Opcode.TEXT, compressed[:10], fin=False, rsv=0x40),
        frame(Opcode.PING, b"p"),
        frame(Opcode.CONTINUATION, compressed[10:30], fin=False),
        frame(Opcode.CONTINUATION, compressed[30:], fin=True),
        frame(Opcode.TEXT, "not compressed ✓".encode()),  # RSV1 clear: a plain message
        frame(Opcode.BINARY, raw_compress(b"\x01\x02" * 100), rsv=0x40),
    ])
    return wire, [Ping(b"p"), TextMessage(TEXT.decode()), TextMessage("not compressed ✓"),
                  BinaryMessage(b"\x01\x02" * 100)]


def test_fragmented_compressed_message_with_interleaved_ping() -> None:
    wire, expected = compressed_stream()
    server, _ = pair(P(client_no_context_takeover=True))
    assert server.receive_data(wire) == expected
    assert parse_frames(server.data_to_send()) == [(True, 0, Opcode.PONG, b"p")]


@pytest.mark.parametrize("seed", [None, 1, 2, 3])
def test_compressed_stream_split_anywhere(seed: Optional[int]) -> None:
    wire, expected = compressed_stream()
    server, _ = pair(P(client_no_context_takeover=True))
    events = feed_bytewise(server, wire) if seed is None else feed_random(server, wire, seed, 7)
    assert events == expected


def test_stream_binary_decompresses_each_fragment() -> None:
    data = os.urandom(300) * 4
    compressed = raw_compress(data)
    server, _ = pair(stream_binary=True)
    events = server.receive_data(frame(Opcode.BINARY, compressed[:50], fin=False, rsv=0x40)
                                 + frame(Opcode.CONTINUATION, compressed[50:]))
    assert all(isinstance(e, BinaryFrame) for e in events)
    assert [e.fin for e in events] == [False, True]  # type: ignore[attr-defined]
    assert b"".join(e.data for e in events) == data  # type: ignore[attr-defined]


def test_compressed_bomb_fails_with_1009() -> None:
    server, _ = pair()
    bomb = raw_compress(b"\x00" * (20 << 20))
    events = server.receive_data(frame(Opcode.BINARY, bomb, rsv=0x40))
    assert events == [Closed(1009, events[0].reason, False)]  # type: ignore[attr-defined]
    assert server.state is State.CLOSED
    assert parse_frames(server.data_to_send())[0][3][:2] == b"\x03\xf1"


def test_compressed_message_limit_is_after_decompression() -> None:
    server = WebSocketProtocol(deflate=P(), max_message_size=1000)
    assert server.receive_data(frame(Opcode.TEXT, raw_compress(b"a" * 1000), rsv=0x40)) == [TextMessage("a" * 1000)]
    events = server.receive_data(frame(Opcode.TEXT, raw_compress(b"a" * 1001), rsv=0x40))
    assert events[-1].code == 1009  # type: ignore[attr-defined]


def test_compressed_fragments_count_towards_the_limit_together() -> None:
    server = WebSocketProtocol(deflate=P(), max_message_size=1000)
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    part1 = compressor.compress(b"a" * 600) + compressor.flush(zlib.Z_SYNC_FLUSH)
    part2 = (compressor.compress(os.urandom(600)) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]
    events = server.receive_data(frame(Opcode.BINARY, part1, fin=False, rsv=0x40)
                                 + frame(Opcode.CONTINUATION, part2))
    assert events[-1].code == 1009  # type: ignore[attr-defined]


def test_corrupt_compressed_message_fails_with_1007() -> None:
    server, _ = pair()
    events = server.receive_data(frame(Opcode.TEXT, b"\xff\xff\xff\xff", rsv=0x40))
    assert events[-1].code == 1007  # type: ignore[attr-defined]


def test_invalid_utf8_inside_compressed_text_fails_with_1007() -> None:
    server, _ = pair()
    events = server.receive_data(frame(Opcode.TEXT, raw_compress(b"ok \xed\xa0\x80"), rsv=0x40))
    assert events[-1].code == 1007  # type: ignore[attr-defined]


@pytest.mark.parametrize("wire", [
    frame(Opcode.TEXT, b"x", rsv=0x20),
    frame(Opcode.TEXT, b"x", rsv=0x10),
    frame(Opcode.PING, b"", rsv=0x40),
    frame(Opcode.TEXT, raw_compress(b"ab"), fin=False, rsv=0x40) + frame(Opcode.CONTINUATION, b"", rsv=0x40),
])
def test_reserved_bits_with_deflate(wire: bytes) -> None:
    server, _ = pair()
    events = server.receive_data(wire)
    assert events[-1].code == 1002  # type: ignore[attr-defined]


def test_uncompressed_streaming_send_with_deflate_agreed() -> None:
    server, client = pair()
    wire = server.send_frame(Opcode.TEXT, b"plain ", False) + server.send_frame(Opcode.CONTINUATION, b"text", True)
    assert all(f[1] == 0 for f in parse_frames(wire))
    assert client.receive_data(wire) == [TextMessage("plain text")]
    assert client.receive_data(server.send_text("compressed")) == [TextMessage("compressed")]
