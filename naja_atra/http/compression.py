"""gzip content coding for responses: negotiation, one-shot and streamed compression."""
from __future__ import annotations

import gzip
import zlib
from typing import Optional

__all__ = ["accepts_gzip", "gzip_bytes", "GzipStream"]

# zlib wbits for a gzip wrapper (16 + a 32 KiB window).
_GZIP_WBITS = 16 + zlib.MAX_WBITS


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
