"""The request body of an ``http`` scope, and the one reader of ``receive()``.

The body arrives as ``http.request`` events, pulled as the application reads it: the
route's body limit applies as it is counted, and past it nothing more is asked for. An
``http.disconnect`` before the last event is a 400 that nobody will read (``disconnected``
tells the adapter not to answer). A body left unread is the ASGI server's to discard.

``receive()`` also carries the client's leaving, which a streamed response must notice
(:mod:`.stream`). Two tasks must not wait on ``receive()`` at once (an event would reach the
one that does not want it), so :meth:`AsgiBody.until_disconnect` is the body's: while the
body is incomplete it reads its events ahead for the reader, one at a time (at most one
event is held, and none while the reader has not taken the last one), and once the body
has ended it waits for ``http.disconnect``.
"""
from __future__ import annotations

import asyncio
from typing import Optional

from ...http.errors import ProtocolError
from ...http.request_body import LoopBody
from .events import Message, Receive

__all__ = ["AsgiBody", "until_disconnect"]


async def until_disconnect(receive: Receive) -> None:
    """Return once the client has gone (``http.disconnect``); other events are dropped."""
    while (await receive())["type"] != "http.disconnect":
        pass


class AsgiBody(LoopBody):
    """The request body from ``http.request`` events (see the module notes)."""

    def __init__(self, length: Optional[int], receive: Receive) -> None:
        super().__init__(length, asyncio.get_running_loop())
        self._receive = receive
        #: True once the last ``http.request`` event (or a disconnect) arrived.
        self.complete = False
        self.disconnected = False
        self._ahead = b""  # one event's body read ahead by until_disconnect, not yet taken
        self._taken = asyncio.Event()
        self._turn = asyncio.Lock()  # who is waiting on receive()

    def _absorb(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.request":
            self._ahead += message.get("body") or b""
            if not message.get("more_body", False):
                self.complete = True
        elif kind == "http.disconnect":
            self.complete = self.disconnected = True
            self._taken.set()  # a read-ahead waiting for the reader is over too

    async def _next(self) -> bytes:
        async with self._turn:
            while not self._ahead and not self.complete:
                self._absorb(await self._receive())
        if self.disconnected:
            raise ProtocolError(400, "Bad Request", "The client disconnected before its body was complete")
        data, self._ahead = self._ahead, b""
        self._taken.set()
        return data

    async def until_disconnect(self) -> None:
        """Return once the client has gone, reading the body ahead meanwhile (module notes)."""
        while not self.complete:
            if self._ahead:
                self._taken.clear()
                await self._taken.wait()
                continue
            async with self._turn:
                if not self.complete and not self._ahead:
                    self._absorb(await self._receive())
        if not self.disconnected:
            await until_disconnect(self._receive)

    def discard_buffered(self) -> bool:
        self._pending = self._ahead = b""
        self.done = True
        self._taken.set()
        return True
