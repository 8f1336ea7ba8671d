"""The response as every driver receives it: a structured message, not bytes."""
from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence

from .status import reason_phrase
from .wire import StreamFramer, error_parts

#: An in-memory body up to this size goes out joined with its head, in one write.
JOIN_LIMIT = 256 * 1024


class Outgoing:
    """What the application answered, ready for a driver to send.

    - ``status``, ``headers`` (every header line, ``Set-Cookie`` included, validated; the
      ``Date``, ``Connection`` and framing headers a socket adds are not here, see
      :mod:`naja_atra.http.wire`), ``version`` (of the request: ``HTTP/1.1`` or ``HTTP/1.0``).
    - ``body``: the pieces in order, a list in memory or an open file's chunks (an iterator
      with ``close()``); :meth:`close_body` must run once the body is sent or abandoned.
      ``Content-Length`` is among the headers, unless the body is ``unsized``.
    - ``close``: the connection ends after this response.
    - ``upgrade``: after a ``101``, what takes the connection over (a WebSocket runner).
    - ``streamed``: the head and body already went out through the response's channel
      (``response.write_bytes``): nothing is left to send.
    - ``unsized``: the body's length is not known before it is sent (a static file gzipped
      as it goes out), so there is no ``Content-Length``: the socket drivers frame it as a
      stream (:meth:`framer`: chunked on HTTP/1.1, until the connection closes on HTTP/1.0,
      which makes ``close`` true), ASGI and WSGI servers frame it themselves.
    - ``head_only``: the answer to a ``HEAD`` request, set where it matters (a file body):
      the headers of an ``unsized`` body, but no body, hence nothing to frame, after them.

    The socket drivers serialise it (:func:`~naja_atra.http.wire.encode_head`); the ASGI
    and WSGI adapters and the test client read the fields directly.
    """

    __slots__ = ("status", "headers", "body", "close", "version", "upgrade", "streamed", "unsized", "head_only")

    def __init__(self, status: int, headers: Sequence[tuple[str, str]] = (), body: Iterable[bytes] = (),
                 close: bool = False, version: str = "HTTP/1.1", upgrade: Optional[Any] = None,
                 streamed: bool = False, unsized: bool = False, head_only: bool = False) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.version = version
        self.upgrade = upgrade
        self.streamed = streamed
        self.unsized = unsized
        self.head_only = head_only
        # A body without a length on HTTP/1.0 ends when the connection does.
        self.close = close or (unsized and StreamFramer(version, head_only).close_delimited)

    @classmethod
    def already_sent(cls, close: bool) -> Outgoing:
        """A response that streamed itself out through its channel."""
        return cls(0, close=close, streamed=True)

    @classmethod
    def error(cls, status: int, message: str = "", version: str = "HTTP/1.1") -> Outgoing:
        """The minimal plain-text error response for input refused before it reached the
        application (see :func:`~naja_atra.http.wire.error_parts`); it closes the connection."""
        headers, body = error_parts(status, message)
        return cls(status, headers, [body], close=True, version=version)

    def framer(self) -> Optional[StreamFramer]:
        """How a socket frames an ``unsized`` body (None for a body with a Content-Length)."""
        if not self.unsized:
            return None
        return StreamFramer(self.version, self.head_only, keep_alive=not self.close)

    @property
    def reason(self) -> str:
        """The reason phrase of ``status``."""
        return reason_phrase(self.status)

    def in_memory(self, limit: int = JOIN_LIMIT) -> Optional[bytes]:
        """The whole body as one ``bytes`` when it is in memory and at most ``limit`` long
        (so it can go out with the head in one write); None for a file or a larger body."""
        body = self.body
        if type(body) is list and len(body) == 1:  # the usual body: one piece made by finalize
            data: bytes = body[0]
            return data if len(data) <= limit else None
        if not isinstance(body, (list, tuple)):
            return None
        if not body:
            return b""
        return b"".join(body) if sum(map(len, body)) <= limit else None

    def read_body(self) -> bytes:
        """Every piece of the body, joined; the body is closed afterwards."""
        try:
            return b"".join(self.body)
        finally:
            self.close_body()

    def close_body(self) -> None:
        """Close a file body (idempotent; nothing to do for a body in memory)."""
        close = getattr(self.body, "close", None)
        if close is not None:
            close()

    def __repr__(self) -> str:
        if self.streamed:
            return f"<Outgoing streamed close={self.close}>"
        return (f"<Outgoing {self.status} close={self.close}{' upgrade' if self.upgrade else ''}"
                f"{' unsized' if self.unsized else ''}>")
