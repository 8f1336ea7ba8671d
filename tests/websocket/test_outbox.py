"""Unit tests of the outgoing-frame queue both runners put in front of the connection."""
from __future__ import annotations

from typing import Iterator, List

import pytest

from naja_atra.websocket.outbox import Outbox, OutboxError


class Frames:
    """A frame iterator that records how far it was read and whether it was closed."""

    def __init__(self, frames: List[bytes], fail_at: int = -1) -> None:
        self.frames = frames
        self.read = 0
        self.closed = False
        self.fail_at = fail_at

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self.read == self.fail_at:
            raise OSError("disk gone")
        if self.read >= len(self.frames):
            raise StopIteration
        self.read += 1
        return self.frames[self.read - 1]

    def close(self) -> None:
        self.closed = True


def drain(box: Outbox, step: int = 0) -> bytes:
    """Everything queued, taken ``step`` bytes at a time (0: a whole peek at a time)."""
    out = b""
    while True:
        data = box.peek()
        if not data:
            return out
        take = len(data) if step <= 0 else min(step, len(data))
        out += bytes(data[:take])
        box.advance(take)


def test_order_partial_writes_and_pending() -> None:
    box = Outbox(limit=10)
    assert not box and box.peek() == b"" and box.pop() == b""
    box.push(b"abc")
    box.push(b"")  # nothing to queue
    box.push(b"defgh")
    assert box and box.pending == 8
    assert bytes(box.peek()) == b"abc"
    box.advance(2)
    assert bytes(box.peek()) == b"c" and box.pending == 6
    box.advance(0)
    assert drain(box, step=3) == b"cdefgh"
    assert not box and box.pending == 0


def test_over_limit_is_strictly_more_than_the_limit() -> None:
    box = Outbox(limit=4)
    box.push(b"x" * 4)
    assert not box.over_limit()  # at the limit: a new message may still come
    box.push(b"y")
    assert box.over_limit()
    box.pop()
    assert not box.over_limit()


def test_one_message_larger_than_the_limit_is_queued_whole() -> None:
    box = Outbox(limit=4)
    box.push(b"z" * 100)
    assert box.over_limit() and box.pending == 100
    assert drain(box, step=7) == b"z" * 100


def test_streams_are_read_one_frame_at_a_time_in_order() -> None:
    box = Outbox(limit=100)
    frames = Frames([b"f1", b"", b"f2", b"f3"])
    box.push(b"before")
    box.push_frames(frames)
    box.push(b"after")
    assert frames.read == 0 and box.pending == len(b"before") + len(b"after")
    assert box.pop() == b"before"
    assert box.pop() == b"f1" and frames.read == 1  # only what was asked for
    assert drain(box, step=1) == b"f2f3after"
    assert frames.closed


def test_a_failing_stream_raises_and_is_closed() -> None:
    box = Outbox(limit=100)
    frames = Frames([b"a", b"b"], fail_at=1)
    box.push_frames(frames)
    assert box.pop() == b"a"
    with pytest.raises(OutboxError):
        box.peek()
    assert frames.closed


def test_clear_drops_everything_and_closes_streams() -> None:
    box = Outbox(limit=100)
    frames = Frames([b"a"])
    box.push(b"123")
    box.advance(1)
    box.push_frames(frames)
    box.clear()
    assert not box and box.pending == 0 and box.peek() == b"" and frames.closed
    box.push(b"new")
    assert box.pop() == b"new"
