"""The server side of the WebSocket opening handshake (RFC 6455 4.2): checks and response headers."""
from __future__ import annotations

import base64
import binascii
import hashlib
from typing import List, Mapping, Optional, Tuple

from ..http.errors import HandshakeError

__all__ = ["GUID", "accept_key", "is_websocket_upgrade", "check_handshake", "response_headers"]

#: The fixed GUID of RFC 6455 1.3, appended to the client's key for Sec-WebSocket-Accept.
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_key(key: str) -> str:
    """The ``Sec-WebSocket-Accept`` value for a ``Sec-WebSocket-Key``: base64(SHA-1(key + GUID))."""
    digest = hashlib.sha1((key + GUID).encode("latin-1")).digest()
    return base64.b64encode(digest).decode("ascii")


def _has_token(value: Optional[str], token: str) -> bool:
    """Whether the comma-separated header ``value`` lists ``token`` (ASCII case-insensitive)."""
    if not value:
        return False
    return any(item.strip(" \t").lower() == token for item in value.split(","))


def is_websocket_upgrade(method: str, headers: Mapping[str, str]) -> bool:
    """Whether a request asks for a WebSocket upgrade: ``GET`` with ``Upgrade: websocket`` and
    ``Connection`` listing ``upgrade`` (both compared case-insensitively, as token lists).

    Only says which requests to route to the handshake; :func:`check_handshake` then validates
    the WebSocket-specific headers.
    """
    return (
        method == "GET"
        and _has_token(headers.get("Upgrade"), "websocket")
        and _has_token(headers.get("Connection"), "upgrade")
    )


def check_handshake(headers: Mapping[str, str]) -> Tuple[str, Optional[str]]:
    """Validate an upgrade request's headers (a case-insensitive mapping).

    Returns ``(Sec-WebSocket-Accept value, Sec-WebSocket-Extensions request value or None)``.
    Raises :class:`HandshakeError` with 426 and ``Upgrade: websocket``, ``Sec-WebSocket-Version: 13``
    unless the client speaks version 13 (RFC 6455 4.2.2), and with 400 unless ``Sec-WebSocket-Key`` is the
    base64 encoding of exactly 16 bytes (RFC 6455 4.1). The version is checked first: a client
    of another version has no reason to send a valid key, and 426 tells it what to retry with.
    """
    version = headers.get("Sec-WebSocket-Version")
    if version is None or version.strip(" \t") != "13":
        # A 426 response must name the protocol to upgrade to (RFC 7231 6.5.15).
        raise HandshakeError(426, "Unsupported WebSocket version",
                             [("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")])
    key = headers.get("Sec-WebSocket-Key")
    if key is None:
        raise HandshakeError(400, "Missing Sec-WebSocket-Key")
    key = key.strip(" \t")
    try:
        raw = base64.b64decode(key.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise HandshakeError(400, "Invalid Sec-WebSocket-Key") from None
    if len(raw) != 16:
        raise HandshakeError(400, "Invalid Sec-WebSocket-Key")
    return accept_key(key), headers.get("Sec-WebSocket-Extensions")


def response_headers(accept: str, extensions: Optional[str], protocol: Optional[str] = None) -> List[Tuple[str, str]]:
    """The headers of the ``101 Switching Protocols`` response: ``Upgrade``, ``Connection``,
    ``Sec-WebSocket-Accept``, then ``Sec-WebSocket-Extensions`` and ``Sec-WebSocket-Protocol``
    when given (the agreed extension response, e.g. from :func:`~.deflate.negotiate`, and the
    chosen subprotocol)."""
    headers = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", accept)]
    if extensions:
        headers.append(("Sec-WebSocket-Extensions", extensions))
    if protocol:
        headers.append(("Sec-WebSocket-Protocol", protocol))
    return headers
