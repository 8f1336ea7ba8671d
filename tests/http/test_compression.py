"""Unit tests of gzip negotiation and compression."""
from __future__ import annotations

import gzip
import zlib
from typing import Optional

import pytest

from naja_atra.http.compression import GzipStream, accepts_gzip, gzip_bytes

TEXT = b"The quick brown fox jumps over the lazy dog. " * 200


@pytest.mark.parametrize(
    "header, expected",
    [
        (None, False),
        ("", False),
        ("gzip", True),
        ("GZip", True),
        ("x-gzip", True),
        ("deflate, gzip;q=0.5", True),
        (" gzip ; q=1.0 ", True),
        ("gzip;q=0", False),
        ("gzip; Q=0.000", False),
        ("gzip;q=0.001", True),
        ("*", True),
        ("*;q=0", False),
        ("gzip;q=0, *", False),
        ("*, gzip;q=0", False),
        ("br, *;q=0.1", True),
        ("br, deflate", False),
        ("identity", False),
        ("gzip;q=abc", False),
        ("gzip;q=2", False),
        ("gzip;level=1", True),
    ],
)
def test_accepts_gzip(header: Optional[str], expected: bool) -> None:
    assert accepts_gzip(header) is expected


@pytest.mark.parametrize("level", [0, 1, 6, 9])
def test_gzip_bytes_round_trip(level: int) -> None:
    packed = gzip_bytes(TEXT, level)
    assert packed[:2] == b"\x1f\x8b"
    assert gzip.decompress(packed) == TEXT


def test_gzip_bytes_is_deterministic_and_compresses() -> None:
    assert gzip_bytes(TEXT, 6) == gzip_bytes(TEXT, 6)
    assert len(gzip_bytes(TEXT, 6)) < len(TEXT) // 10


def test_gzip_stream_round_trip() -> None:
    stream = GzipStream(6)
    pieces = [TEXT[i:i + 777] for i in range(0, len(TEXT), 777)]
    packed = b"".join(stream.compress(p) for p in pieces) + stream.finish()
    assert gzip.decompress(packed) == TEXT


def test_gzip_stream_flushes_each_piece() -> None:
    stream = GzipStream()
    reader = zlib.decompressobj(16 + zlib.MAX_WBITS)
    for piece in (b"data: one\n\n", b"data: two\n\n"):
        # What has been sent so far decodes to everything compressed so far.
        assert reader.decompress(stream.compress(piece)) == piece
    assert reader.decompress(stream.finish()) == b""
    assert reader.eof


def test_gzip_stream_without_flush_and_after_finish() -> None:
    stream = GzipStream(9)
    buffered = stream.compress(b"small", flush=False)
    packed = buffered + stream.compress(b" piece", flush=False) + stream.finish()
    assert gzip.decompress(packed) == b"small piece"
    assert stream.finish() == b""
    with pytest.raises(ValueError):
        stream.compress(b"late")


def test_gzip_stream_empty() -> None:
    stream = GzipStream()
    packed = stream.compress(b"") + stream.compress(b"") + stream.finish()
    assert gzip.decompress(packed) == b""
