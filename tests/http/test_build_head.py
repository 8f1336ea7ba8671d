"""One request-head builder for every entry: the byte parser (built-in servers, test
client), an ASGI scope and a WSGI environ decide the same head, or refuse with the same
status, because all three end in ``parser.build_head``."""
from __future__ import annotations

import io
from typing import Any, Optional, Union

import pytest

from naja_atra.adapters.asgi.scope import request_head
from naja_atra.adapters.wsgi import build_request
from naja_atra.http.errors import ProtocolError
from naja_atra.http.limits import Limits
from naja_atra.http.parser import RequestHead, parse_head

LIMITS = Limits(max_headers=6, max_header_size=600, max_body_size=100)
Decision = Union[int, tuple[Any, ...]]

CASES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "plain": ("HTTP/1.1", [("Host", "h"), ("Accept", "*/*")]),
    "body": ("HTTP/1.1", [("Host", "h"), ("Content-Length", "5")]),
    "chunked": ("HTTP/1.1", [("Host", "h"), ("Transfer-Encoding", "chunked")]),
    "close": ("HTTP/1.1", [("Host", "h"), ("Connection", "close")]),
    "http10": ("HTTP/1.0", [("Host", "h")]),
    "http10 keep-alive": ("HTTP/1.0", [("Host", "h"), ("Connection", "keep-alive")]),
    "upgrade": ("HTTP/1.1", [("Host", "h"), ("Connection", "Upgrade"), ("Upgrade", "WebSocket")]),
    "upgrade without Connection": ("HTTP/1.1", [("Host", "h"), ("Upgrade", "websocket")]),
    "expect": ("HTTP/1.1", [("Host", "h"), ("Content-Length", "1"), ("Expect", "100-continue")]),
    "both framings": ("HTTP/1.1", [("Host", "h"), ("Content-Length", "3"), ("Transfer-Encoding", "chunked")]),
    "bad length": ("HTTP/1.1", [("Host", "h"), ("Content-Length", "-1")]),
    "length over the limit": ("HTTP/1.1", [("Host", "h"), ("Content-Length", "101")]),
    "unknown coding": ("HTTP/1.1", [("Host", "h"), ("Transfer-Encoding", "gzip")]),
    "two hosts": ("HTTP/1.1", [("Host", "h"), ("Host", "i")]),
    "too many headers": ("HTTP/1.1", [("Host", "h")] + [(f"X-{i}", "v") for i in range(6)]),
    "too large": ("HTTP/1.1", [("Host", "h"), ("X-Big", "v" * 600)]),
    "control character": ("HTTP/1.1", [("Host", "h"), ("X-Bad", "a\x01b")]),
    "host with a space": ("HTTP/1.1", [("Host", "a b")]),
    "host with userinfo": ("HTTP/1.1", [("Host", "x@evil")]),
    "host with a port past 65535": ("HTTP/1.1", [("Host", "a:99999")]),
    "empty host": ("HTTP/1.1", [("Host", "")]),
    "ipv6 host": ("HTTP/1.1", [("Host", "[2001:db8::1]:8080")]),
}


def decision(head: RequestHead) -> tuple[Any, ...]:
    headers = {name.lower(): value for name, value in head.headers.items()}
    return (head.path, head.query_string, head.keep_alive, head.upgrade, head.content_length, head.chunked,
            head.expect_continue, headers)


def decide(build: Any) -> Decision:
    try:
        return decision(build())
    except ProtocolError as error:
        return error.code


def from_bytes(version: str, fields: list[tuple[str, str]]) -> Decision:
    raw = (f"POST /a/./b%20c?x=1 {version}\r\n" + "".join(f"{n}: {v}\r\n" for n, v in fields) + "\r\n")

    def build() -> RequestHead:
        parsed = parse_head(raw.encode("latin-1"), LIMITS)
        assert parsed is not None
        return parsed[0]
    return decide(build)


def from_asgi(version: str, fields: list[tuple[str, str]]) -> Decision:
    scope = {"type": "http", "method": "POST", "http_version": version[5:], "path": "/a/b c",
             "raw_path": b"/a/./b%20c", "query_string": b"x=1",
             "headers": [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in fields]}
    return decide(lambda: request_head(scope, LIMITS, websocket=False))


def from_wsgi(version: str, fields: list[tuple[str, str]]) -> Decision:
    environ: dict[str, Any] = {"REQUEST_METHOD": "POST", "PATH_INFO": "/a/./b c", "QUERY_STRING": "x=1",
                               "RAW_URI": "/a/./b%20c?x=1", "SERVER_PROTOCOL": version,
                               "wsgi.input": io.BytesIO(b"x" * 5), "wsgi.url_scheme": "http"}
    hosts = 0
    for name, value in fields:
        key = name.upper().replace("-", "_")
        key = key if key in ("CONTENT_LENGTH", "CONTENT_TYPE") else "HTTP_" + key
        if key == "HTTP_HOST":
            hosts += 1
        if key in environ:  # a WSGI server joins repeated headers with a comma
            environ[key] += "," + value
        else:
            environ[key] = value
    if hosts > 1:
        pytest.skip("a WSGI server cannot pass on two Host headers")

    def build() -> RequestHead:
        request = build_request(environ, LIMITS)
        head = RequestHead(request.method, "", request.path, request.raw_path, request.query_string,
                           request.version, request.headers, request.keep_alive,
                           _length(request.headers.get("Content-Length")),
                           "chunked" in (request.headers.get("Transfer-Encoding") or ""), False, request.upgrade)
        return head
    result = decide(build)
    return result


def _length(value: Optional[str]) -> Optional[int]:
    return int(value) if value else None


@pytest.mark.parametrize("name", sorted(CASES))
def test_bytes_and_asgi_decide_alike(name: str) -> None:
    version, fields = CASES[name]
    assert from_asgi(version, fields) == from_bytes(version, fields)


@pytest.mark.parametrize("name", sorted(set(CASES) - {"expect", "chunked"}))
def test_wsgi_decides_alike(name: str) -> None:
    """WSGI reads the body itself (no ``Expect`` handshake, no chunked framing to decode),
    so those two decisions are left out; every other one, refusals included, matches."""
    version, fields = CASES[name]
    expected = from_bytes(version, fields)
    got = from_wsgi(version, fields)
    if isinstance(expected, tuple) and isinstance(got, tuple):
        expected, got = expected[:-2] + expected[-1:], got[:-2] + got[-1:]  # expect_continue: n/a
    assert got == expected
