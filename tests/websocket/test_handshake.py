"""Unit tests of the WebSocket opening handshake checks (RFC 6455 4.2)."""
from __future__ import annotations

import base64
from typing import Dict

import pytest

from naja_atra.http.errors import HandshakeError
from naja_atra.http.headers import HeaderMap
from naja_atra.websocket.handshake import (
    GUID,
    accept_key,
    check_handshake,
    is_websocket_upgrade,
    response_headers,
)

RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def headers(**overrides: str) -> HeaderMap:
    values: Dict[str, str] = {
        "Host": "example.com",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": RFC_KEY,
        "Sec-WebSocket-Version": "13",
    }
    for name, value in overrides.items():
        name = name.replace("_", "-")
        if value is None:
            values.pop(name, None)
        else:
            values[name] = value
    return HeaderMap(values.items())


def test_accept_key_of_the_rfc_example() -> None:
    assert GUID == "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
    assert accept_key(RFC_KEY) == RFC_ACCEPT


@pytest.mark.parametrize("method, upgrade, connection, expected", [
    ("GET", "websocket", "Upgrade", True),
    ("GET", "WebSocket", "keep-alive, upgrade", True),
    ("GET", "foo, websocket", "Keep-Alive,Upgrade", True),
    ("GET", " websocket ", " UPGRADE ", True),
    ("POST", "websocket", "Upgrade", False),
    ("get", "websocket", "Upgrade", False),
    ("GET", "h2c", "Upgrade", False),
    ("GET", "websockets", "Upgrade", False),
    ("GET", "websocket", "keep-alive", False),
    ("GET", "websocket", "upgraded", False),
    ("GET", None, "Upgrade", False),
    ("GET", "websocket", None, False),
])
def test_is_websocket_upgrade(method: str, upgrade: str, connection: str, expected: bool) -> None:
    hdrs = headers(Upgrade=upgrade, Connection=connection)  # type: ignore[arg-type]
    assert is_websocket_upgrade(method, hdrs) is expected


def test_check_handshake_accepts() -> None:
    assert check_handshake(headers()) == (RFC_ACCEPT, None)
    offer = "permessage-deflate; client_max_window_bits"
    assert check_handshake(headers(Sec_WebSocket_Extensions=offer)) == (RFC_ACCEPT, offer)


def test_check_handshake_joins_repeated_extension_headers() -> None:
    hdrs = headers()
    hdrs.add("sec-websocket-extensions", "foo")
    hdrs.add("Sec-WebSocket-Extensions", "permessage-deflate")
    assert check_handshake(hdrs)[1] == "foo, permessage-deflate"


@pytest.mark.parametrize("version", [None, "", "8", "12", "13, 8", "130"])
def test_unsupported_version_is_426(version: str) -> None:
    with pytest.raises(HandshakeError) as info:
        check_handshake(headers(Sec_WebSocket_Version=version))  # type: ignore[arg-type]
    assert info.value.status == 426
    assert info.value.headers == [("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")]
    assert info.value.message


@pytest.mark.parametrize("key", [
    None,
    "",
    "not base64!",
    base64.b64encode(b"x" * 15).decode(),
    base64.b64encode(b"x" * 17).decode(),
    RFC_KEY.rstrip("="),
    RFC_KEY + ", " + RFC_KEY,
    "dGhlIHNhbXBsZSBub25jZQ==é",
])
def test_invalid_key_is_400(key: str) -> None:
    with pytest.raises(HandshakeError) as info:
        check_handshake(headers(Sec_WebSocket_Key=key))  # type: ignore[arg-type]
    assert info.value.status == 400
    assert info.value.headers == []


def test_key_with_surrounding_whitespace() -> None:
    assert check_handshake(headers(Sec_WebSocket_Key=f" {RFC_KEY} "))[0] == RFC_ACCEPT


def test_response_headers() -> None:
    assert response_headers(RFC_ACCEPT, None) == [
        ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", RFC_ACCEPT)]
    assert response_headers(RFC_ACCEPT, "permessage-deflate", "chat") == [
        ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", RFC_ACCEPT),
        ("Sec-WebSocket-Extensions", "permessage-deflate"), ("Sec-WebSocket-Protocol", "chat")]
