"""Unit tests of the body decoders (no sockets)."""
from __future__ import annotations

import random
from typing import Iterable, Optional

import pytest

from naja_atra.http.body import MAX_CHUNK_LINE, ChunkedDecoder, LengthDecoder, body_decoder
from naja_atra.http.errors import ProtocolError
from naja_atra.http.headers import HeaderMap
from naja_atra.http.limits import Limits
from naja_atra.http.parser import RequestHead

LIMITS = Limits()

CHUNKED = (
    b"5\r\nhello\r\n"
    b"1;name=value;flag\r\n \r\n"
    b"A ; ext=\"quoted;still\"\r\n0123456789\r\n"
    b"3\r\n\r\n\r\r\n"  # data that is itself CR LF CR
    b"0\r\n"
    b"X-Checksum: abc123\r\n"
    b"X-Other:  spaced \r\n"
    b"\r\n"
)
CHUNKED_BODY = b"hello 0123456789\r\n\r"
NEXT_REQUEST = b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n"


def run(decoder: ChunkedDecoder, pieces: Iterable[bytes]) -> tuple[bytes, bytes]:
    """Feed every piece; return (decoded body, leftovers)."""
    body = bytearray()
    rest = bytearray()
    for piece in pieces:
        data, left = decoder.feed(piece)
        body += data
        rest += left
    return bytes(body), bytes(rest)


def chunked_error(raw: bytes, limits: Limits = LIMITS) -> int:
    """The status of the ProtocolError raised while decoding ``raw`` in one piece."""
    with pytest.raises(ProtocolError) as info:
        ChunkedDecoder(limits).feed(raw)
    return info.value.code


def head(content_length: Optional[int] = None, chunked: bool = False) -> RequestHead:
    return RequestHead("POST", "/", "/", "/", "", "HTTP/1.1", HeaderMap(),
                       content_length=content_length, chunked=chunked)


# --- Content-Length ----------------------------------------------------------------------


def test_length_decoder_whole_and_leftover() -> None:
    decoder = LengthDecoder(5)
    assert not decoder.done
    assert decoder.feed(b"hel") == (b"hel", b"")
    assert not decoder.done
    assert decoder.feed(b"loGET /") == (b"lo", b"GET /")
    assert decoder.done
    assert decoder.feed(b"more") == (b"", b"more")
    assert len(decoder.trailers) == 0


def test_length_decoder_exact() -> None:
    decoder = LengthDecoder(3)
    assert decoder.feed(b"abc") == (b"abc", b"")
    assert decoder.done


def test_body_decoder_selection() -> None:
    assert body_decoder(head(), LIMITS) is None
    assert body_decoder(head(content_length=0), LIMITS) is None
    assert isinstance(body_decoder(head(content_length=4), LIMITS), LengthDecoder)
    assert isinstance(body_decoder(head(chunked=True), LIMITS), ChunkedDecoder)


# --- chunked: happy paths ----------------------------------------------------------------


def test_chunked_in_one_piece() -> None:
    decoder = ChunkedDecoder(LIMITS)
    body, rest = decoder.feed(CHUNKED + NEXT_REQUEST)
    assert body == CHUNKED_BODY
    assert rest == NEXT_REQUEST
    assert decoder.done
    assert decoder.trailers["x-checksum"] == "abc123"
    assert decoder.trailers["X-OTHER"] == "spaced"
    assert decoder.feed(b"x") == (b"", b"x")


def test_chunked_without_trailers() -> None:
    decoder = ChunkedDecoder(LIMITS)
    assert decoder.feed(b"3\r\nabc\r\n0\r\n\r\n") == (b"abc", b"")
    assert decoder.done
    assert len(decoder.trailers) == 0


def test_chunked_upper_and_lower_hex_and_leading_zeros() -> None:
    decoder = ChunkedDecoder(LIMITS)
    body, _ = decoder.feed(b"000a\r\n" + b"x" * 10 + b"\r\nB\r\n" + b"y" * 11 + b"\r\n0\r\n\r\n")
    assert body == b"x" * 10 + b"y" * 11
    assert decoder.done


def test_chunked_split_at_every_position() -> None:
    raw = CHUNKED + NEXT_REQUEST
    for i in range(len(raw) + 1):
        decoder = ChunkedDecoder(LIMITS)
        assert run(decoder, [raw[:i], raw[i:]]) == (CHUNKED_BODY, NEXT_REQUEST), i
        assert decoder.trailers["x-checksum"] == "abc123"


def test_chunked_one_byte_at_a_time() -> None:
    raw = CHUNKED + NEXT_REQUEST
    decoder = ChunkedDecoder(LIMITS)
    body = bytearray()
    rest = bytearray()
    for i in range(len(raw)):
        assert not decoder.done or i >= len(CHUNKED)
        data, left = decoder.feed(raw[i:i + 1])
        body += data
        rest += left
    assert decoder.done
    assert (bytes(body), bytes(rest)) == (CHUNKED_BODY, NEXT_REQUEST)
    assert decoder.trailers["x-other"] == "spaced"


def test_chunked_random_splits() -> None:
    rng = random.Random(1234)
    payload = bytes(rng.randrange(256) for _ in range(3000))
    raw = bytearray()
    pos = 0
    while pos < len(payload):
        size = min(rng.randrange(1, 400), len(payload) - pos)
        raw += b"%x;e=%d\r\n%s\r\n" % (size, pos, payload[pos:pos + size])
        pos += size
    raw += b"0\r\nT: v\r\n\r\n" + NEXT_REQUEST
    for _ in range(50):
        cuts = sorted(rng.sample(range(1, len(raw)), rng.randrange(1, 40)))
        pieces = [bytes(raw[a:b]) for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=False)]
        decoder = ChunkedDecoder(LIMITS)
        assert run(decoder, pieces) == (payload, NEXT_REQUEST)
        assert decoder.trailers["t"] == "v"


def test_large_chunked_body_streams_through() -> None:
    block = b"z" * 65536
    raw = (b"10000\r\n" + block + b"\r\n") * 64 + b"0\r\n\r\n"
    decoder = ChunkedDecoder(LIMITS)
    total = 0
    for i in range(0, len(raw), 50000):
        data, _ = decoder.feed(raw[i:i + 50000])
        total += len(data)
    assert total == 64 * 65536
    assert decoder.done


# --- chunked: errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"zz\r\n",
        b"0x5\r\nhello\r\n0\r\n\r\n",
        b"+5\r\nhello\r\n",
        b"-5\r\nhello\r\n",
        b" 5\r\nhello\r\n",
        b"5 \r\nhello\r\n",
        b"\r\n",
        b";ext\r\n",
        b"5_0\r\n",
        b"1" * 17 + b"\r\n",
        b"5;a\x00b\r\nhello\r\n",
        b"5\r\nhelloX\r\n",
        b"5\r\nhello\n0\r\n\r\n",
        b"5\r\nhello\rX",
        b"5\nhello\r\n",
        b"5\r\nhello\r\n0\r\n\n",
        b"5\r\r\nhello\r\n",
    ],
)
def test_malformed_chunked_is_400(raw: bytes) -> None:
    assert chunked_error(raw) == 400


def test_chunk_data_without_crlf_is_400_when_split() -> None:
    decoder = ChunkedDecoder(LIMITS)
    decoder.feed(b"5\r\nhello\r")
    with pytest.raises(ProtocolError) as info:
        decoder.feed(b"X")
    assert info.value.code == 400


def test_chunk_size_line_limit() -> None:
    line = b"5;" + b"e" * (MAX_CHUNK_LINE - 4) + b"\r\n"
    assert len(line) == MAX_CHUNK_LINE
    decoder = ChunkedDecoder(LIMITS)
    assert run(decoder, [line, b"hello\r\n0\r\n\r\n"]) == (b"hello", b"")
    assert chunked_error(b"5;" + b"e" * (MAX_CHUNK_LINE - 3) + b"\r\n") == 400


def test_chunk_size_line_limit_when_fed_in_pieces() -> None:
    decoder = ChunkedDecoder(LIMITS)
    decoder.feed(b"5;" + b"e" * 3000)
    with pytest.raises(ProtocolError) as info:
        decoder.feed(b"e" * 2000)
    assert info.value.code == 400


def test_sixteen_hex_digits_are_accepted_then_413() -> None:
    # Sixteen digits is a valid size; this one is far beyond the limit.
    assert chunked_error(b"f" * 16 + b"\r\n") == 413


def test_body_over_limit_is_413_as_soon_as_the_size_is_known() -> None:
    limits = Limits(max_body_size=10)
    decoder = ChunkedDecoder(limits)
    assert decoder.feed(b"6\r\nabcdef\r\n") == (b"abcdef", b"")
    assert run(ChunkedDecoder(limits), [b"a\r\n0123456789\r\n0\r\n\r\n"]) == (b"0123456789", b"")
    with pytest.raises(ProtocolError) as info:
        decoder.feed(b"5\r\n")  # no data yet: the size alone exceeds the limit
    assert info.value.code == 413


def test_too_many_trailers_is_431() -> None:
    limits = Limits(max_headers=2)
    decoder = ChunkedDecoder(limits)
    assert run(decoder, [b"0\r\nA: 1\r\nB: 2\r\n\r\n"]) == (b"", b"")
    assert decoder.trailers.get_all("b") == ["2"]
    assert chunked_error(b"0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits) == 431


def test_trailers_too_large_is_431() -> None:
    limits = Limits(max_header_size=64)
    assert chunked_error(b"0\r\nA: " + b"x" * 30 + b"\r\nB: " + b"y" * 30 + b"\r\n\r\n", limits) == 431
    decoder = ChunkedDecoder(limits)
    decoder.feed(b"0\r\nA: " + b"x" * 40)
    with pytest.raises(ProtocolError) as info:
        decoder.feed(b"x" * 40)
    assert info.value.code == 431


@pytest.mark.parametrize("line", [b" folded: x", b"Bad Name: x", b"NoColon", b"A: a\x01b", b"A: a\rb"])
def test_bad_trailer_is_400(line: bytes) -> None:
    assert chunked_error(b"0\r\n" + line + b"\r\n\r\n") == 400
