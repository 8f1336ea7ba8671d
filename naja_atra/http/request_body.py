"""The body of a request as it arrives: :class:`RequestBodyReader` and where it reads from.

Every request has a reader (``request.reader``). A controller that asks for it
(``reader: RequestBodyReader``) gets the body piece by piece as the client sends it, never
buffered whole; every other route has its body read into a :class:`~naja_atra.http.spool.Spool`
before the controller runs (:meth:`RequestBodyReader.load`), so that ``request.body``,
forms, JSON and uploads work as before.

The reader enforces the route's body limit as it counts (``HttpError(413)`` the moment the
body passes it; a ``Content-Length`` over it is refused before anything is read) and turns
framing errors into ``ProtocolError(400)``; after either, the connection is closed.

Its sources, one per way a body can arrive:

- :class:`BufferedBody`: bytes already in memory (the test client);
- :class:`PullBody`: a blocking function that returns the next piece (the threading
  server, reading its socket on the request's own thread; the WSGI adapter, reading
  ``wsgi.input``);
- :class:`PushBody`: pieces handed over by an event loop (the asyncio server);
- ``AsgiBody`` (in the ASGI adapter): pieces pulled with ``receive()``.

Async controllers ``await reader.read(n)``; sync controllers call ``reader.read_sync(n)``.
Sync reads of a loop-fed body from a worker thread are handed to the loop; a sync controller
that streams its body on an event-loop server therefore runs in a thread.
"""
from __future__ import annotations

import asyncio
import threading
from collections import deque
from typing import AsyncIterator, Callable, Iterator, Optional

from .errors import HttpError
from .spool import BodyBudget, Spool

__all__ = ["RequestBodyReader", "EMPTY_BODY", "BufferedBody", "SpoolReader", "PullBody", "PushBody", "LoopBody"]

#: How long a sync read from a worker thread waits for a loop-fed piece (s); the server's
#: own body timeout cuts a silent client earlier.
SYNC_READ_TIMEOUT = 300.0


class RequestBodyReader:
    """The request body, read as it arrives.

    - ``await read(n)``: at most ``n`` bytes (``n < 0``: the rest); ``b""`` at the end;
    - ``await read_to_end()``: the rest of the body;
    - ``read_sync(n)`` / ``read_to_end_sync()``: the same from synchronous code;
    - ``async for piece in reader`` / ``for piece in reader``: the pieces as they come.

    ``length`` is the ``Content-Length`` (None for a chunked body), ``received`` the bytes
    read so far, ``done`` whether the end was reached. Past ``limit`` bytes a read raises
    ``HttpError(413)``. Read a body from one task or thread at a time.
    """

    def __init__(self, length: Optional[int] = None) -> None:
        self.length = length
        self.limit: Optional[int] = None
        self.received = 0
        self.done = False
        #: The body broke off (over the limit, bad framing, the client left): the rest of it
        #: is never read, so the connection cannot be reused.
        self.failed = False
        self._pending = b""

    # -- what a source provides ---------------------------------------------------------
    async def _next(self) -> bytes:
        """The next piece; ``b""`` at the end."""
        return self._next_sync()

    def _next_sync(self) -> bytes:
        """The next piece from synchronous code; ``b""`` at the end."""
        raise NotImplementedError

    def discard_buffered(self) -> bool:
        """Drop what has arrived without waiting for more; True when that reached the end.

        Called once the response is decided: a body that is not done by then means the
        connection cannot be reused.
        """
        self._pending = b""
        return self.done and not self.failed

    # -- reading --------------------------------------------------------------------------
    def _accept(self, piece: bytes) -> bytes:
        if not piece:
            self.done = True
            return b""
        self.received += len(piece)
        limit = self.limit
        if limit is not None and self.received > limit:
            self.failed = True
            raise HttpError(413, "Content Too Large", "Request body too large")
        return piece

    def _take(self, piece: bytes, n: int) -> bytes:
        if n < 0 or len(piece) <= n:
            return piece
        self._pending = piece[n:]
        return piece[:n]

    async def _piece(self) -> bytes:
        if self.failed:
            raise HttpError(400, "Bad Request", "The request body broke off")
        try:
            return self._accept(await self._next())
        except BaseException:  # noqa: B036 - whatever broke the body, the rest is never read
            self.failed = True
            raise

    def _piece_sync(self) -> bytes:
        if self.failed:
            raise HttpError(400, "Bad Request", "The request body broke off")
        try:
            return self._accept(self._next_sync())
        except BaseException:  # noqa: B036 - whatever broke the body, the rest is never read
            self.failed = True
            raise

    async def read(self, n: int = -1) -> bytes:
        """At most ``n`` bytes of the body (``n < 0``: all that is left); ``b""`` at the end."""
        if n < 0:
            return await self.read_to_end()
        if self._pending:
            piece, self._pending = self._pending, b""
            return self._take(piece, n)
        if self.done or n == 0:
            return b""
        return self._take(await self._piece(), n)

    async def read_to_end(self) -> bytes:
        """The rest of the body."""
        pieces = [self._pending] if self._pending else []
        self._pending = b""
        while not self.done:
            piece = await self._piece()
            if piece:
                pieces.append(piece)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def read_sync(self, n: int = -1) -> bytes:
        """:meth:`read` for synchronous code."""
        if n < 0:
            return self.read_to_end_sync()
        if self._pending:
            piece, self._pending = self._pending, b""
            return self._take(piece, n)
        if self.done or n == 0:
            return b""
        return self._take(self._piece_sync(), n)

    def read_to_end_sync(self) -> bytes:
        """:meth:`read_to_end` for synchronous code."""
        pieces = [self._pending] if self._pending else []
        self._pending = b""
        while not self.done:
            piece = self._piece_sync()
            if piece:
                pieces.append(piece)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        """The pieces of the body as they arrive."""
        while True:
            piece = await self.read(1 << 20)
            if not piece:
                return
            yield piece

    def __iter__(self) -> Iterator[bytes]:
        """The pieces of the body as they arrive (synchronous reads)."""
        while True:
            piece = self.read_sync(1 << 20)
            if not piece:
                return
            yield piece

    # -- buffering --------------------------------------------------------------------------
    def check_length(self) -> None:
        """``HttpError(413)`` when the announced ``Content-Length`` is over ``limit``:
        refused before a byte is read."""
        limit = self.limit
        if limit is not None and self.length is not None and self.length > limit:
            raise HttpError(413, "Content Too Large", "Request body too large")

    async def load(self, threshold: int, budget: Optional[BodyBudget] = None) -> Spool:
        """The whole body, read into a new :class:`Spool` (the caller closes it)."""
        self.check_length()
        spool = Spool(threshold, budget)
        try:
            if self._pending:
                spool.write(self._pending)
                self._pending = b""
            while not self.done:
                spool.write(await self._piece())
        except BaseException:
            spool.close()
            raise
        return spool

    def load_sync(self, threshold: int, budget: Optional[BodyBudget] = None) -> Spool:
        """:meth:`load` for synchronous code."""
        self.check_length()
        spool = Spool(threshold, budget)
        try:
            if self._pending:
                spool.write(self._pending)
                self._pending = b""
            while not self.done:
                spool.write(self._piece_sync())
        except BaseException:
            spool.close()
            raise
        return spool

    def __repr__(self) -> str:
        state = "done" if self.done else "open"
        return f"<{type(self).__name__} {self.received}/{self.length} {state}>"


class _Empty(RequestBodyReader):
    """The body of a request that has none."""

    def __init__(self) -> None:
        super().__init__(0)
        self.done = True

    def _next_sync(self) -> bytes:
        return b""


#: The reader of every request without a body (shared: it has no state to change).
EMPTY_BODY: RequestBodyReader = _Empty()


class BufferedBody(RequestBodyReader):
    """A body that is already in memory."""

    def __init__(self, data: bytes) -> None:
        super().__init__(len(data))
        self._data: Optional[bytes] = data

    def _next_sync(self) -> bytes:
        data, self._data = self._data, None
        return data or b""

    def discard_buffered(self) -> bool:
        self._data = None
        self._pending = b""
        self.done = True
        return True


class SpoolReader(RequestBodyReader):
    """A body that was read whole into a spool, read again from there (in pieces: a
    spooled body is not loaded into memory for it)."""

    def __init__(self, spool: Spool, piece_size: int = 1 << 20) -> None:
        super().__init__(spool.size)
        self._spool = spool
        self._offset = 0
        self._piece_size = piece_size

    def _next_sync(self) -> bytes:
        if self._offset >= self._spool.size:
            return b""
        piece = self._spool.read_range(self._offset, min(self._piece_size, self._spool.size - self._offset))
        self._offset += len(piece)
        return piece

    def discard_buffered(self) -> bool:
        self._pending = b""
        self.done = True
        return not self.failed


class PullBody(RequestBodyReader):
    """A body read with a blocking ``pull()`` (the next piece, ``b""`` at the end).

    ``discard`` drops what the source has already buffered without blocking and says
    whether that reached the end of the body.
    """

    def __init__(self, length: Optional[int], pull: Callable[[], bytes],
                 discard: Optional[Callable[[], bool]] = None) -> None:
        super().__init__(length)
        self._pull = pull
        self._discard = discard

    def _next_sync(self) -> bytes:
        return self._pull()

    def discard_buffered(self) -> bool:
        self._pending = b""
        if self.failed:
            return False
        if not self.done and self._discard is not None:
            self.done = self._discard()
        return self.done


class LoopBody(RequestBodyReader):
    """A body whose pieces come from an event loop: async reads run on that loop; sync
    reads from another thread are handed to it (a sync read on the loop's own thread
    would wait for itself, so it raises)."""

    def __init__(self, length: Optional[int], loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(length)
        self.loop = loop
        self._ident = threading.get_ident()

    def _next_sync(self) -> bytes:
        if threading.get_ident() == self._ident:
            raise RuntimeError("a sync read of this body would block its own event loop: "
                               "read it with 'await reader.read()' or from a sync controller")
        future = asyncio.run_coroutine_threadsafe(self._next(), self.loop)
        return future.result(SYNC_READ_TIMEOUT)

    async def _next(self) -> bytes:
        raise NotImplementedError


class PushBody(LoopBody):
    """A body fed by an event loop's protocol: :meth:`feed` pieces, then :meth:`end` (or
    :meth:`fail`). ``on_read`` runs when a reader first waits (the protocol sends
    ``100 Continue`` then); ``on_drained`` when the buffered bytes fall to
    ``low_water`` (the protocol resumes reading, having paused above ``high_water``)."""

    def __init__(self, length: Optional[int], loop: asyncio.AbstractEventLoop,
                 on_read: Optional[Callable[[], None]] = None,
                 on_drained: Optional[Callable[[], None]] = None,
                 low_water: int = 64 * 1024) -> None:
        super().__init__(length, loop)
        self.buffered = 0
        self._pieces: deque[bytes] = deque()
        self._ended = False
        self._error: Optional[BaseException] = None
        self._waiter: Optional[asyncio.Future[None]] = None
        self._on_read = on_read
        self._on_drained = on_drained
        self._low_water = low_water

    # -- the protocol's side (on the loop) ---------------------------------------------------
    def feed(self, data: bytes) -> None:
        """A piece arrived."""
        if data:
            self._pieces.append(data)
            self.buffered += len(data)
            self._wake()

    def end(self) -> None:
        """The body is complete."""
        self._ended = True
        self._wake()

    def fail(self, error: BaseException) -> None:
        """The body cannot complete (bad framing, the client left)."""
        self._error = error
        self._wake()

    @property
    def ended(self) -> bool:
        """True once the whole body has arrived (it may not be read yet)."""
        return self._ended

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- the reader's side ----------------------------------------------------------------------
    async def _next(self) -> bytes:
        while not self._pieces:
            if self._error is not None:
                raise self._error
            if self._ended:
                return b""
            if self._on_read is not None:
                on_read, self._on_read = self._on_read, None
                on_read()
            waiter = self._waiter = self.loop.create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        piece = self._pieces.popleft()
        before = self.buffered
        self.buffered -= len(piece)
        if self._on_drained is not None and before > self._low_water >= self.buffered:
            self._on_drained()
        return piece

    def discard_buffered(self) -> bool:
        self._pending = b""
        self._pieces.clear()
        self.buffered = 0
        if self.failed:
            return False
        if self._ended and self._error is None:
            self.done = True
        return self.done
