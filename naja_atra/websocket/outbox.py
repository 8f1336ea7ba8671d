"""A session's outgoing frames that the connection has not taken yet (no I/O, not thread-safe).

Both connection runners put an :class:`Outbox` between the session and the wire, so that a send
never waits for the client: the frames are queued in order and the runner writes them out as
the connection drains. What bounds it is the runner's business, with :meth:`Outbox.over_limit`:
a session whose unsent data already exceeds ``limit`` when another message comes is a client
that does not keep up, and the runner drops its connection. A single message is never refused
for its own size, so one message larger than the limit still goes out whole to a client that
reads; memory per session stays under ``limit`` plus one message.

A streamed message (``send_file`` with a chunk size) is queued as an iterator of frames and read
one frame at a time as the connection takes them: at most one of its frames is in memory.
"""
from __future__ import annotations

from collections import deque
from typing import Iterator, Union

__all__ = ["Outbox", "OutboxError"]

_Item = Union[bytes, Iterator[bytes]]


class OutboxError(Exception):
    """A streamed message could not produce its next frame (its file failed): the message can
    never be completed, so the connection must be dropped."""


class Outbox:
    """Frames in order: whole ``bytes`` and frame iterators, written from the front.

    ``pending`` counts the bytes of the frames that exist (a stream's frames count once read).
    """

    __slots__ = ("limit", "pending", "_items", "_offset")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.pending = 0
        self._items: deque[_Item] = deque()
        #: How much of the first item has been written already (socket writes can be partial).
        self._offset = 0

    def __bool__(self) -> bool:
        return bool(self._items)

    def over_limit(self) -> bool:
        """Whether the unsent data already exceeds the limit (a new message must not be queued)."""
        return self.pending > self.limit

    def push(self, data: bytes) -> None:
        """Queue frames."""
        if data:
            self._items.append(data)
            self.pending += len(data)

    def push_frames(self, frames: Iterator[bytes]) -> None:
        """Queue a streamed message: ``frames`` is read one frame at a time, when the frames
        before it have been taken. Closed (``frames.close()``, if it has one) once used up or
        dropped."""
        self._items.append(frames)

    def peek(self) -> Union[bytes, memoryview]:
        """The next bytes to write (``b""`` when nothing is queued), without taking them.

        Raises :class:`OutboxError` when a stream fails to produce its next frame.
        """
        items = self._items
        while items:
            head = items[0]
            if type(head) is bytes:
                return memoryview(head)[self._offset:] if self._offset else head
            assert not isinstance(head, bytes)
            frame = self._next_frame(head)
            if frame is None:
                items.popleft()
                continue
            if frame:
                items.appendleft(frame)
                self.pending += len(frame)
                return frame
        return b""

    def advance(self, written: int) -> None:
        """``written`` bytes of :meth:`peek`'s result went out."""
        if not written:
            return
        self.pending -= written
        offset = self._offset + written
        head = self._items[0]
        assert type(head) is bytes
        if offset >= len(head):
            self._items.popleft()
            offset = 0
        self._offset = offset

    def pop(self) -> bytes:
        """The next bytes to write, taken (``b""`` when nothing is queued); see :meth:`peek`."""
        data = self.peek()
        if not data:
            return b""
        self.advance(len(data))
        return data if type(data) is bytes else bytes(data)

    def clear(self) -> None:
        """Drop everything (the connection is gone); streams are closed."""
        items = self._items
        while items:
            head = items.popleft()
            if type(head) is not bytes:
                _close(head)
        self.pending = 0
        self._offset = 0

    @staticmethod
    def _next_frame(frames: Iterator[bytes]) -> Union[bytes, None]:
        try:
            return next(frames)
        except StopIteration:
            _close(frames)
            return None
        except Exception as exc:  # the stream's file failed mid-message
            _close(frames)
            raise OutboxError(f"a streamed message failed: {exc!r}") from exc


def _close(frames: object) -> None:
    close = getattr(frames, "close", None)
    if close is not None:
        try:
            close()
        except Exception:  # closing a file that already failed: nothing more to do
            pass
