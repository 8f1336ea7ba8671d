"""Where a buffered request body waits: memory up to a threshold, a temporary file beyond.

A body the controller does not stream (forms, JSON, ``BytesBody``, multipart uploads) is
read whole before the controller runs, into a :class:`Spool`. The first
``spool_threshold`` bytes stay in memory, the rest goes to an anonymous temporary file that
the operating system removes when it is closed -- at the end of the request at the latest.
Memory is also bounded across requests: every spool takes its in-memory bytes from the
server's :class:`BodyBudget`, and when the budget is spent a spool writes to its file at
once instead (no request waits, none is refused for it).
"""
from __future__ import annotations

import mmap
import tempfile
import threading
from typing import IO, Optional, Union

__all__ = ["BodyBudget", "Spool"]

#: What a spooled body is seen through: bytes in memory, or a read-only map of its file.
BodyView = Union[bytes, mmap.mmap]


class BodyBudget:
    """Bytes of buffered request bodies that may be in memory at once, server-wide."""

    __slots__ = ("limit", "used", "_lock")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def take(self, size: int) -> bool:
        """Reserve ``size`` bytes; False (nothing reserved) when that would pass the limit."""
        with self._lock:
            if self.used + size > self.limit:
                return False
            self.used += size
            return True

    def give(self, size: int) -> None:
        """Return ``size`` reserved bytes."""
        with self._lock:
            self.used = max(0, self.used - size)

    def __repr__(self) -> str:
        return f"<BodyBudget {self.used}/{self.limit}>"


class Spool:
    """One buffered body: memory, then a temporary file; :meth:`close` releases both."""

    __slots__ = ("threshold", "size", "_budget", "_memory", "_reserved", "_file", "_map", "_closed")

    def __init__(self, threshold: int, budget: Optional[BodyBudget] = None) -> None:
        self.threshold = threshold
        self.size = 0
        self._budget = budget
        self._memory = bytearray()
        self._reserved = 0
        self._file: Optional[IO[bytes]] = None
        self._map: Optional[mmap.mmap] = None
        self._closed = False

    @property
    def in_memory(self) -> bool:
        """True while the whole body is in memory (no temporary file)."""
        return self._file is None

    @property
    def file(self) -> Optional[IO[bytes]]:
        """The temporary file once the body went there, else None."""
        return self._file

    def write(self, data: bytes) -> None:
        """Append ``data``."""
        if self._closed:
            raise ValueError("the spool is closed")
        if not data:
            return
        self.size += len(data)
        if self._file is None:
            room = self.threshold - len(self._memory)
            if len(data) <= room and (self._budget is None or self._budget.take(len(data))):
                self._reserved += len(data)
                self._memory += data
                return
            self._to_file()
        assert self._file is not None
        self._file.write(data)

    def _to_file(self) -> None:
        file = tempfile.TemporaryFile(prefix="naja-atra-body-")
        file.write(self._memory)
        self._file = file
        self._memory = bytearray()
        self._release_memory()

    def getvalue(self) -> bytes:
        """The whole body as bytes (read back from the file when it is there)."""
        if self._file is None:
            return bytes(self._memory)
        self._file.flush()
        self._file.seek(0)
        return self._file.read()

    def view(self) -> BodyView:
        """The body without copying a file into memory: bytes, or a read-only ``mmap`` of
        the file (valid until :meth:`close`)."""
        if self._file is None:
            return bytes(self._memory)
        if self._map is None:
            self._file.flush()
            if self.size == 0:
                return b""
            self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
        return self._map

    def read_range(self, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset`` (for a part of a multipart body)."""
        if self._file is None:
            return bytes(self._memory[offset:offset + length])
        self._file.flush()
        self._file.seek(offset)
        return self._file.read(length)

    def _release_memory(self) -> None:
        if self._budget is not None and self._reserved:
            self._budget.give(self._reserved)
        self._reserved = 0

    def close(self) -> None:
        """Release the memory and remove the file (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._memory = bytearray()
        self._release_memory()
        if self._map is not None:
            self._map.close()
            self._map = None
        if self._file is not None:
            self._file.close()

    def __repr__(self) -> str:
        where = "memory" if self._file is None else "file"
        return f"<Spool {self.size} bytes in {where}{' closed' if self._closed else ''}>"
