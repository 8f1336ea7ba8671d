"""permessage-deflate (RFC 7692): negotiation and per-message compression.

:func:`negotiate` picks the first acceptable offer from a client's
``Sec-WebSocket-Extensions`` header and builds the response value; :class:`PerMessageDeflate`
compresses outgoing messages and decompresses incoming ones for one connection.
"""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import List, Optional, Tuple

__all__ = ["DeflateError", "DeflateParams", "PerMessageDeflate", "negotiate", "EXTENSION_NAME"]

EXTENSION_NAME = "permessage-deflate"

# Appended to a message's payload before inflating it, and stripped from a compressed message
# after a sync flush (RFC 7692 7.2.1, 7.2.2): the empty stored block that ends a sync flush.
_TAIL = b"\x00\x00\xff\xff"

# A window-bits value in an offer: a decimal integer 8-15 without leading zeros (RFC 7692 7.1.2).
_WINDOW_BITS = re.compile(r"8|9|1[0-5]")

# RFC 7230 tchar: what a parameter name or (unquoted) value may consist of.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

# zlib's defaults: level 6 balances speed and ratio; memLevel 8 uses 128 KiB for the hash chains.
_LEVEL = 6
_MEM_LEVEL = 8


class DeflateError(Exception):
    """An incoming compressed message cannot be accepted.

    ``code`` is the close code to fail the connection with: 1009 when the decompressed message
    would exceed the size limit, 1007 when the compressed data is corrupt.
    """

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class DeflateParams:
    """The agreed permessage-deflate parameters of one connection (RFC 7692 7.1).

    ``server_*`` constrain what the server compresses, ``client_*`` what the client compresses.
    Window bits are 8-15 (the base-2 logarithm of the LZ77 window); 15 when not negotiated.
    """

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int = 15
    client_max_window_bits: int = 15

    def __post_init__(self) -> None:
        for bits in (self.server_max_window_bits, self.client_max_window_bits):
            if not 8 <= bits <= 15:
                raise ValueError(f"window bits must be 8-15, got {bits}")


# ---------------------------------------------------------------------------------------------
# Negotiation


def negotiate(offer: Optional[str]) -> Optional[Tuple[str, DeflateParams]]:
    """Accept the first acceptable permessage-deflate offer of a ``Sec-WebSocket-Extensions`` value.

    Returns ``(response value, params)``, or ``None`` when nothing acceptable was offered. An
    offer with an unknown parameter, a repeated parameter or an invalid value is declined and
    the next one tried (RFC 7692 5, 7.1). The response:

    * agrees to ``server_no_context_takeover`` and ``client_no_context_takeover`` when offered
      (the latter lets us drop the inflater between messages);
    * echoes ``server_max_window_bits=N`` when offered (the server must then use at most N);
    * echoes ``client_max_window_bits=N`` when the offer carries a value (the client announced
      it uses at most N, so a smaller inflater window suffices); a bare ``client_max_window_bits``
      only says the client would accept a limit, and we set none, so the client may use 15.
    """
    if not offer:
        return None
    for element in _split_quoted(offer, ","):
        parsed = _parse_element(element)
        if parsed is None:
            continue
        name, params = parsed
        if name.lower() != EXTENSION_NAME:
            continue
        accepted = _accept(params)
        if accepted is not None:
            return accepted
    return None


def _accept(params: List[Tuple[str, Optional[str]]]) -> Optional[Tuple[str, DeflateParams]]:
    """The response and parameters for one offer, or ``None`` to decline it."""
    seen: set[str] = set()
    server_nct = client_nct = False
    server_bits = client_bits = 15
    client_bits_value = False
    for raw_name, value in params:
        name = raw_name.lower()
        if name in seen:
            return None
        seen.add(name)
        if name == "server_no_context_takeover" or name == "client_no_context_takeover":
            if value is not None:
                return None
            if name[0] == "s":
                server_nct = True
            else:
                client_nct = True
        elif name == "server_max_window_bits":
            # The value is mandatory in an offer (RFC 7692 7.1.2.1).
            if value is None or not _WINDOW_BITS.fullmatch(value):
                return None
            server_bits = int(value)
        elif name == "client_max_window_bits":
            # Optional value (RFC 7692 7.1.2.2).
            if value is not None:
                if not _WINDOW_BITS.fullmatch(value):
                    return None
                client_bits = int(value)
                client_bits_value = True
        else:
            return None
    response = [EXTENSION_NAME]
    if server_nct:
        response.append("server_no_context_takeover")
    if client_nct:
        response.append("client_no_context_takeover")
    if "server_max_window_bits" in seen:
        response.append(f"server_max_window_bits={server_bits}")
    if client_bits_value:
        response.append(f"client_max_window_bits={client_bits}")
    return "; ".join(response), DeflateParams(server_nct, client_nct, server_bits, client_bits)


def _split_quoted(text: str, sep: str) -> List[str]:
    """``text`` split at ``sep`` outside double-quoted strings (which may contain ``\\`` escapes)."""
    parts: List[str] = []
    start = 0
    quoted = escaped = False
    for i, char in enumerate(text):
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == sep:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _parse_element(element: str) -> Optional[Tuple[str, List[Tuple[str, Optional[str]]]]]:
    """``name; param[=value]; ...`` as ``(name, [(param, value or None)])``; ``None`` when malformed."""
    pieces = _split_quoted(element, ";")
    name = pieces[0].strip(" \t")
    if not _TOKEN.fullmatch(name):
        return None
    params: List[Tuple[str, Optional[str]]] = []
    for piece in pieces[1:]:
        key, eq, value = piece.partition("=")
        key = key.strip(" \t")
        if not _TOKEN.fullmatch(key):
            return None
        if not eq:
            params.append((key, None))
            continue
        value = value.strip(" \t")
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            # RFC 7692 7.1: after unescaping, a quoted value must still be a token.
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        if not _TOKEN.fullmatch(value):
            return None
        params.append((key, value))
    return name, params


# ---------------------------------------------------------------------------------------------
# Compression


class PerMessageDeflate:
    """Compression state of one connection with agreed :class:`DeflateParams`.

    Server side by default: outgoing messages follow the ``server_*`` parameters and incoming
    ones the ``client_*`` parameters; ``client_side=True`` swaps the roles.
    """

    __slots__ = ("params", "_out_bits", "_out_reset", "_in_bits", "_in_reset",
                 "_compressor", "_decompressor")

    def __init__(self, params: DeflateParams, *, client_side: bool = False) -> None:
        self.params = params
        if client_side:
            out_bits, self._out_reset = params.client_max_window_bits, params.client_no_context_takeover
            in_bits, self._in_reset = params.server_max_window_bits, params.server_no_context_takeover
        else:
            out_bits, self._out_reset = params.server_max_window_bits, params.server_no_context_takeover
            in_bits, self._in_reset = params.client_max_window_bits, params.client_no_context_takeover
        # zlib refuses a 256-byte window for raw deflate streams (since 1.2.9), so when we
        # agreed to compress with 8 bits we use 9. The output still suits the peer's 256-byte
        # window: zlib never matches further back than the window size minus MIN_LOOKAHEAD
        # (262 bytes), i.e. 250 bytes with 9 bits (test_deflate checks this by inflating with
        # an 8-bit window). That is why negotiate() accepts server_max_window_bits=8.
        self._out_bits = 9 if out_bits == 8 else out_bits
        # Inflating with a larger window than the peer compressed with is always safe; at least
        # 9 bits tolerates zlib-based peers that were asked for 8 and, like us, had to use 9.
        self._in_bits = max(in_bits, 9)
        self._compressor: Optional[zlib._Compress] = None
        self._decompressor: Optional[zlib._Decompress] = None

    def compress(self, data: bytes) -> bytes:
        """The compressed payload of a whole message (RFC 7692 7.2.1), without the trailing
        ``00 00 ff ff``. The compression context carries over to the next message unless our
        side's ``*_no_context_takeover`` was agreed."""
        compressor = self._compressor
        if compressor is None:
            compressor = zlib.compressobj(_LEVEL, zlib.DEFLATED, -self._out_bits, _MEM_LEVEL)
        out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
        # Without context takeover, a fresh compressor per message (creating one costs ~2 us)
        # also frees its ~256 KiB of state while the connection is idle.
        self._compressor = None if self._out_reset else compressor
        return out[:-4] if out.endswith(_TAIL) else out

    def decompress(self, data: bytes, fin: bool, max_size: int) -> bytes:
        """Inflate the next piece of an incoming compressed message.

        Call with each frame's payload (or any part of it, in order), ``fin=True`` with the last
        piece of the message. Produces at most ``max_size`` bytes for this call, or raises
        :class:`DeflateError` (1009) instead of inflating further, so a small "zip bomb" never
        expands in memory; raises :class:`DeflateError` (1007) on corrupt data.
        """
        inflater = self._decompressor
        if inflater is None:
            inflater = self._decompressor = zlib.decompressobj(-self._in_bits)
        if max_size < 0:
            max_size = 0
        limit = max_size + 1  # one byte more than allowed tells "too big" from "exactly full"
        out = b""
        try:
            # After a block with BFINAL set the deflate stream is over; RFC 7692 7.2.3.4 allows
            # a sender to end a message that way, and whatever follows it is ignored.
            if data and not inflater.eof:
                out = inflater.decompress(data, limit)
                if len(out) > max_size:
                    raise DeflateError(1009, "message too big")
            if fin:
                if not inflater.eof:
                    rest = inflater.decompress(_TAIL, limit - len(out))
                    if rest:
                        out += rest
                        if len(out) > max_size:
                            raise DeflateError(1009, "message too big")
                if self._in_reset or inflater.eof:
                    self._decompressor = None
        except zlib.error as exc:
            raise DeflateError(1007, f"invalid compressed data: {exc}") from None
        return out
