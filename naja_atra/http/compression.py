"""gzip content coding for responses: the policy, negotiation, one-shot and streamed
compression, and a body of pieces compressed as it is sent."""
from __future__ import annotations

import gzip
import zlib
from typing import TYPE_CHECKING, Iterable, Iterator, Optional

if TYPE_CHECKING:
    from .request import Request
    from .response import ResponseHeaders

__all__ = ["accepts_gzip", "gzip_bytes", "vary_accept_encoding", "GzipPolicy", "GzipStream", "GzipPieces"]

# zlib wbits for a gzip wrapper (16 + a 32 KiB window).
_GZIP_WBITS = 16 + zlib.MAX_WBITS


class GzipPolicy:
    """Which responses are compressed: content types (without parameters), level, and the
    smallest body worth it (``min_size`` bytes; 0, the default, compresses every non-empty
    body of a configured type, as naja-atra 1.2.2 did; an empty body is left as it is).

    The same policy covers in-memory bodies, static files and streamed bodies (which have
    no size up front, so ``min_size`` does not apply to them).
    """

    __slots__ = ("types", "level", "min_size")

    def __init__(self, types: Iterable[str] = (), level: int = 9, min_size: int = 0) -> None:
        self.types = frozenset(t.split(";", 1)[0].strip().lower() for t in types)
        self.level = level
        self.min_size = max(0, min_size)

    def wants(self, request: Request, content_type: str, size: Optional[int] = None) -> bool:
        """True when ``content_type`` is configured, the client accepts gzip and the body
        (of ``size`` bytes, when known) is not under ``min_size``."""
        if not self.types:
            return False
        if size is not None and (size < self.min_size or not size):
            return False
        mime = content_type.split(";", 1)[0].strip().lower()
        return mime in self.types and accepts_gzip(request.headers.get("Accept-Encoding"))

    def __repr__(self) -> str:
        return f"GzipPolicy({sorted(self.types)!r}, level={self.level}, min_size={self.min_size})"


def accepts_gzip(accept_encoding: Optional[str]) -> bool:
    """Whether an ``Accept-Encoding`` value allows a gzip-coded response.

    ``gzip`` (or its alias ``x-gzip``) with a non-zero q-value allows it; without such an
    entry, ``*`` with a non-zero q-value does. An explicit ``gzip;q=0`` refuses it even when
    ``*`` is acceptable. Codings compare case-insensitively; an unreadable q-value counts
    as 0 so that a malformed header never gets a coding the client may not decode.
    """
    if not accept_encoding:
        return False
    gzip_q: Optional[float] = None
    star_q: Optional[float] = None
    for item in accept_encoding.split(","):
        coding, _, params = item.partition(";")
        coding = coding.strip(" \t").lower()
        if coding in ("gzip", "x-gzip"):
            q = _qvalue(params)
            gzip_q = q if gzip_q is None else max(gzip_q, q)
        elif coding == "*":
            star_q = _qvalue(params)
    if gzip_q is not None:
        return gzip_q > 0
    return star_q is not None and star_q > 0


def vary_accept_encoding(headers: ResponseHeaders) -> None:
    """Add ``Vary: Accept-Encoding`` to the headers of a gzip-coded response, unless a
    ``Vary`` header already lists it (or ``*``)."""
    current = headers.get("Vary")
    values = [current] if isinstance(current, str) else list(current or ())
    for value in values:
        for token in value.split(","):
            if token.strip(" \t").lower() in ("accept-encoding", "*"):
                return
    headers.add("Vary", "Accept-Encoding")


def _qvalue(params: str) -> float:
    """The ``q`` parameter of one Accept-Encoding element (1 when absent, 0 when invalid)."""
    for param in params.split(";"):
        name, eq, value = param.partition("=")
        if name.strip(" \t").lower() == "q" and eq:
            try:
                q = float(value.strip(" \t"))
            except ValueError:
                return 0.0
            return q if 0.0 <= q <= 1.0 else 0.0
    return 1.0


def gzip_bytes(data: bytes, level: int) -> bytes:
    """``data`` as a complete gzip member at compression ``level`` (0-9).

    The header's modification time is 0 so equal input gives equal output (ETags, caches).
    """
    return gzip.compress(data, compresslevel=level, mtime=0)


class GzipStream:
    """Incremental gzip for a streamed (chunked) response.

    Each :meth:`compress` call flushes by default, so every piece the application yields
    reaches the client promptly (server-sent events, progress output) at some cost in
    ratio; pass ``flush=False`` to let zlib buffer. :meth:`finish` ends the member.
    """

    def __init__(self, level: int = 6) -> None:
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, _GZIP_WBITS)
        self._finished = False

    def compress(self, data: bytes, flush: bool = True) -> bytes:
        """Compress ``data``; the result may be empty when ``flush`` is False."""
        if self._finished:
            raise ValueError("GzipStream already finished")
        out = self._compressor.compress(data)
        if flush and data:
            out += self._compressor.flush(zlib.Z_SYNC_FLUSH)
        return out

    def finish(self) -> bytes:
        """The remaining compressed bytes and the gzip trailer; call once, at the end."""
        if self._finished:
            return b""
        self._finished = True
        return self._compressor.flush(zlib.Z_FINISH)


class GzipPieces(Iterator[bytes]):
    """The gzip coding of a body given as pieces (an open file's chunks), compressed as it
    is iterated: one source piece is read and compressed at a time, never the whole body.

    Its length is not known before the end, so whoever sends it frames it without a
    Content-Length. The pieces zlib holds back are not flushed early (a file has no reader
    waiting for a partial body), so the ratio is that of a one-shot compression; empty
    outputs are skipped. :meth:`close` (idempotent) closes the source; so does reaching the
    end.
    """

    __slots__ = ("_source", "_stream", "_done")

    def __init__(self, source: Iterator[bytes], level: int = 6) -> None:
        self._source = source
        self._stream = GzipStream(level)
        self._done = False

    def __iter__(self) -> GzipPieces:
        return self

    def __next__(self) -> bytes:
        if self._done:
            raise StopIteration
        stream = self._stream
        for piece in self._source:
            out = stream.compress(piece, flush=False)
            if out:
                return out
        tail = stream.finish()  # never empty: at least the gzip trailer
        self.close()
        return tail

    def close(self) -> None:
        """Stop and close the source (idempotent)."""
        self._done = True
        close = getattr(self._source, "close", None)
        if close is not None:
            close()

    @property
    def closed(self) -> bool:
        """True once the body ended or was closed."""
        return self._done
