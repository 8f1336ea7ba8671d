"""Unit tests of the request-head parser (no sockets)."""
from __future__ import annotations

from typing import Union

import pytest

from naja_atra.http.errors import HttpError, ProtocolError
from naja_atra.http.limits import Limits
from naja_atra.http.parser import RequestHead, is_token, parse_head, parse_header_field

LIMITS = Limits()

GET = (
    b"GET /index.html?a=1&b=2 HTTP/1.1\r\n"
    b"Host: example.com\r\n"
    b"User-Agent: test/1.0\r\n"
    b"Accept: */*\r\n"
    b"Accept-Encoding: gzip\r\n"
    b"X-Custom:   padded value \t\r\n"
    b"\r\n"
)


def parse(raw: Union[bytes, bytearray], limits: Limits = LIMITS) -> RequestHead:
    """Parse a buffer holding exactly one complete head."""
    result = parse_head(raw, limits)
    assert result is not None
    head, consumed = result
    assert consumed == len(raw)
    return head


def request(line: str, *headers: str, host: bool = True) -> bytes:
    """A head with CRLF endings from a request line and header lines."""
    lines = [line]
    if host:
        lines.append("Host: h")
    lines.extend(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def rejected(raw: Union[bytes, bytearray], limits: Limits = LIMITS) -> int:
    """The status code of the ProtocolError raised for ``raw``."""
    with pytest.raises(ProtocolError) as info:
        parse_head(raw, limits)
    assert isinstance(info.value, HttpError)
    return info.value.code


# --- well-formed heads -------------------------------------------------------------------


def test_simple_get() -> None:
    head = parse(GET)
    assert head.method == "GET"
    assert head.target == "/index.html?a=1&b=2"
    assert head.path == head.raw_path == "/index.html"
    assert head.query_string == "a=1&b=2"
    assert head.version == "HTTP/1.1"
    assert head.headers["host"] == "example.com"
    assert head.headers["x-custom"] == "padded value"
    assert list(head.headers) == ["Host", "User-Agent", "Accept", "Accept-Encoding", "X-Custom"]
    assert head.keep_alive is True
    assert head.content_length is None
    assert head.chunked is False
    assert head.expect_continue is False
    assert head.upgrade is None


def test_request_head_uses_slots() -> None:
    head = parse(GET)
    assert not hasattr(head, "__dict__")
    assert "GET" in repr(head)


def test_post_with_body_consumes_only_the_head() -> None:
    raw = request("POST /submit HTTP/1.1", "Content-Type: text/plain", "Content-Length: 5")
    result = parse_head(raw + b"hello", LIMITS)
    assert result is not None
    head, consumed = result
    assert consumed == len(raw)
    assert head.method == "POST"
    assert head.content_length == 5
    assert head.headers["content-type"] == "text/plain"


def test_pipelined_heads() -> None:
    second = request("GET /two HTTP/1.1")
    buf = GET + second
    result = parse_head(buf, LIMITS)
    assert result is not None
    first, consumed = result
    assert consumed == len(GET)
    assert first.path == "/index.html"
    result = parse_head(buf[consumed:], LIMITS)
    assert result is not None
    head, consumed2 = result
    assert head.path == "/two"
    assert consumed + consumed2 == len(buf)


@pytest.mark.parametrize("raw", [GET, GET.replace(b"\r\n", b"\n"), b"\r\n" + GET])
def test_split_at_every_offset(raw: bytes) -> None:
    for i in range(len(raw)):
        assert parse_head(raw[:i], LIMITS) is None, i
        assert parse_head(bytearray(raw[:i]), LIMITS) is None, i
    assert parse(bytearray(raw)).path == "/index.html"


def test_empty_lines_before_request_line_are_skipped() -> None:
    raw = b"\r\n\r\n\n" + GET
    head = parse(raw)
    assert head.method == "GET"
    assert parse_head(b"\r\n\r", LIMITS) is None
    assert parse_head(b"", LIMITS) is None


def test_bare_lf_line_endings() -> None:
    head = parse(b"GET /x HTTP/1.1\nHost: h\nAccept: a\n\n")
    assert head.headers["accept"] == "a"
    mixed = parse(b"GET /x HTTP/1.1\r\nHost: h\nAccept: a\r\n\n")
    assert mixed.headers["accept"] == "a"
    assert mixed.headers["host"] == "h"


def test_header_values_are_latin1() -> None:
    head = parse(b"GET / HTTP/1.1\r\nHost: h\r\nX-Name: caf\xe9 \xff\r\n\r\n")
    assert head.headers["x-name"] == "caf\xe9 \xff"
    assert head.headers["x-name"].encode("latin-1") == b"caf\xe9 \xff"


def test_tab_inside_value_is_allowed() -> None:
    assert parse(request("GET / HTTP/1.1", "X-A: a\tb")).headers["x-a"] == "a\tb"


def test_repeated_headers_are_kept() -> None:
    head = parse(request("GET / HTTP/1.1", "Accept: a", "accept: b"))
    assert head.headers.get_all("Accept") == ["a", "b"]


# --- keep-alive, expect, upgrade ---------------------------------------------------------


@pytest.mark.parametrize(
    "version, connection, expected",
    [
        ("HTTP/1.1", None, True),
        ("HTTP/1.1", "close", False),
        ("HTTP/1.1", "Keep-Alive, CLOSE", False),
        ("HTTP/1.1", "keep-alive", True),
        ("HTTP/1.0", None, False),
        ("HTTP/1.0", "keep-alive", True),
        ("HTTP/1.0", "Keep-Alive", True),
        ("HTTP/1.0", "foo,  keep-alive ", True),
        ("HTTP/1.0", "close", False),
        ("HTTP/1.0", "keep-alive, close", False),
    ],
)
def test_keep_alive(version: str, connection: Union[str, None], expected: bool) -> None:
    extra = () if connection is None else (f"Connection: {connection}",)
    assert parse(request(f"GET / {version}", *extra)).keep_alive is expected


def test_expect_continue() -> None:
    assert parse(request("POST / HTTP/1.1", "Content-Length: 3", "Expect: 100-Continue")).expect_continue
    assert not parse(request("POST / HTTP/1.1", "Content-Length: 3", "Expect: other")).expect_continue
    # RFC 9110 10.1.1: ignored in an HTTP/1.0 request.
    assert not parse(request("POST / HTTP/1.0", "Content-Length: 3", "Expect: 100-continue")).expect_continue


def test_upgrade() -> None:
    ws = parse(request("GET /ws HTTP/1.1", "Connection: keep-alive, Upgrade", "Upgrade: WebSocket"))
    assert ws.upgrade == "websocket"
    assert parse(request("GET /ws HTTP/1.1", "Upgrade: websocket")).upgrade is None
    assert parse(request("GET /ws HTTP/1.1", "Connection: upgrade")).upgrade is None


# --- request-target forms ----------------------------------------------------------------


def test_absolute_form() -> None:
    head = parse(request("GET http://example.com:8080/p/q?x=1 HTTP/1.1"))
    assert head.path == "/p/q"
    assert head.raw_path == "/p/q"
    assert head.query_string == "x=1"
    assert head.target == "http://example.com:8080/p/q?x=1"
    # RFC 9112 3.2.2: the target's authority wins over the Host header.
    assert head.headers["host"] == "example.com:8080"


def test_absolute_form_without_path() -> None:
    head = parse(request("GET HTTPS://example.com HTTP/1.1"))
    assert head.path == "/"
    assert head.query_string == ""
    head = parse(request("GET http://example.com?a=b HTTP/1.0", host=False))
    assert head.path == "/"
    assert head.query_string == "a=b"
    assert head.headers["host"] == "example.com"


def test_asterisk_form() -> None:
    head = parse(request("OPTIONS * HTTP/1.1"))
    assert head.path == "*"
    assert head.raw_path == "*"
    assert head.query_string == ""


def test_authority_form() -> None:
    head = parse(request("CONNECT example.com:443 HTTP/1.1"))
    assert head.path == "example.com:443"
    assert head.target == "example.com:443"


@pytest.mark.parametrize(
    "line",
    [
        "GET * HTTP/1.1",
        "GET example.com:443 HTTP/1.1",
        "CONNECT /path HTTP/1.1",
        "CONNECT example.com HTTP/1.1",
        "CONNECT http://example.com/ HTTP/1.1",
        "GET index.html HTTP/1.1",
        "GET ftp://example.com/ HTTP/1.1",
        "GET http:// HTTP/1.1",
        "GET http:///path HTTP/1.1",
        "GET http://user:pw@example.com/ HTTP/1.1",
        "GET /a#frag HTTP/1.1",
        "GET /a\tb HTTP/1.1",
        "GET /a\x01b HTTP/1.1",
        "GET /a\x7fb HTTP/1.1",
    ],
)
def test_invalid_targets(line: str) -> None:
    assert rejected(request(line)) == 400


# --- percent-decoding --------------------------------------------------------------------


def test_path_is_percent_decoded() -> None:
    head = parse(request("GET /a%20b/%E4%B8%AD+c%2f?q=%20 HTTP/1.1"))
    assert head.path == "/a b/\u4e2d+c/"
    assert head.raw_path == "/a%20b/%E4%B8%AD+c%2f"
    assert head.query_string == "q=%20"


def test_raw_utf8_target_is_tolerated() -> None:
    raw = b"GET /\xe4\xb8\xad?k=\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n"
    head = parse(raw)
    assert head.path == "/\u4e2d"
    assert head.target == "/\u4e2d?k=\u00e9"
    assert head.query_string == "k=\u00e9"


@pytest.mark.parametrize("target", ["/%zz", "/%4", "/a%", "/%FF", "/%C3%28", "/a%00b", "/%e4%b8"])
def test_bad_percent_escapes(target: str) -> None:
    assert rejected(request(f"GET {target} HTTP/1.1")) == 400


def test_invalid_raw_utf8_target() -> None:
    assert rejected(b"GET /\xff HTTP/1.1\r\nHost: h\r\n\r\n") == 400


# --- versions ----------------------------------------------------------------------------


def test_http_2_preface_is_505() -> None:
    assert rejected(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") == 505


@pytest.mark.parametrize("version", ["HTTP/2.0", "HTTP/3.0", "HTTP/0.9"])
def test_other_major_versions_are_505(version: str) -> None:
    assert rejected(request(f"GET / {version}")) == 505


def test_later_minor_version_is_treated_as_1_1() -> None:
    head = parse(request("GET / HTTP/1.2"))
    assert head.version == "HTTP/1.1"
    assert head.keep_alive


@pytest.mark.parametrize(
    "line",
    [
        "GET / http/1.1",
        "GET / HTTP/1",
        "GET / HTTP/1.10",
        "GET / HTTP/a.b",
        "GET / HTTPS/1.1",
        "GET  / HTTP/1.1",
        "GET / HTTP/1.1 ",
        " GET / HTTP/1.1",
        "GET / HTTP/1.1 extra",
        "G(T / HTTP/1.1",
        "GET",
        "GET /",
    ],
)
def test_malformed_request_lines(line: str) -> None:
    assert rejected(request(line)) == 400


def test_http_09_line_is_refused_before_the_blank_line() -> None:
    assert rejected(b"GET /\r\n") == 400
    assert rejected(b"GET /\n") == 400


def test_bad_request_line_is_refused_early() -> None:
    assert rejected(b"GET / HTTP/2.0\r\nHost: x\r\n") == 505
    assert rejected(b"G@T / HTTP/1.1\r\n") == 400
    # A complete, valid request line waits for the headers.
    assert parse_head(b"GET / HTTP/1.1\r\nHost: x\r\n", LIMITS) is None


def test_custom_method_token() -> None:
    assert parse(request("PROPFIND /dav HTTP/1.1")).method == "PROPFIND"
    # Methods are case-sensitive: kept as sent.
    assert parse(request("get / HTTP/1.1")).method == "get"


# --- bare CR -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\r\n\r\n",
        b"GET /\r HTTP/1.1\r\nHost: h\r\n\r\n",
        b"\rGET / HTTP/1.1\r\nHost: h\r\n\r\n",
        b"\r\n\r\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\rHost: h\r\n",
    ],
)
def test_bare_cr_is_400(raw: bytes) -> None:
    assert rejected(raw) == 400


# --- size limits -------------------------------------------------------------------------


def test_incomplete_head_over_limit_is_431() -> None:
    limits = Limits(max_header_size=100)
    partial = b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 76
    assert parse_head(partial, limits) is None
    assert rejected(partial + b"a" * 10, limits) == 431


def test_complete_head_over_limit_is_431() -> None:
    raw = request("GET / HTTP/1.1", "X-Long: " + "a" * 100)
    assert parse(raw, Limits(max_header_size=len(raw))).headers["x-long"] == "a" * 100
    assert rejected(raw, Limits(max_header_size=len(raw) - 1)) == 431


def test_flood_of_empty_lines_is_431() -> None:
    assert rejected(b"\r\n" * 100, Limits(max_header_size=100)) == 431


def test_too_many_headers_is_431() -> None:
    limits = Limits(max_headers=3)
    assert parse(request("GET / HTTP/1.1", "A: 1", "B: 2"), limits).headers["b"] == "2"
    assert rejected(request("GET / HTTP/1.1", "A: 1", "B: 2", "C: 3"), limits) == 431


# --- header lines ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        " X-Folded: yes",
        "\tX-Folded: yes",
        "Host : x",
        "Bad Name: x",
        ": empty name",
        "NoColon",
        "X-A: a\x00b",
        "X-A: a\x01b",
        "X-A: a\x7fb",
        "X-A: a\x1bb",
        "X\x00: a",
        "X(: a",
    ],
)
def test_bad_header_lines(line: str) -> None:
    assert rejected(request("GET / HTTP/1.1", line)) == 400


def test_obs_fold_is_400() -> None:
    assert rejected(b"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n  continued\r\n\r\n") == 400


def test_parse_header_field_and_is_token() -> None:
    assert parse_header_field("Name:  v a l  ") == ("Name", "v a l")
    assert parse_header_field("Empty:") == ("Empty", "")
    assert is_token("X-Custom_1.2~!")
    assert not is_token("")
    assert not is_token("a b")
    assert not is_token("a:b")
    with pytest.raises(ProtocolError) as info:
        parse_header_field(" folded")
    assert "fold" in info.value.explain.lower()


# --- Host --------------------------------------------------------------------------------


def test_host_rules() -> None:
    assert rejected(request("GET / HTTP/1.1", host=False)) == 400
    assert rejected(request("GET / HTTP/1.1", "Host: other")) == 400
    assert rejected(request("GET / HTTP/1.0", "Host: a", "Host: b", host=False)) == 400
    head = parse(request("GET / HTTP/1.0", host=False))
    assert "host" not in head.headers


@pytest.mark.parametrize(
    "value",
    [
        "a b", "<script>", "", "x@evil", "a:99999", "a:65536", "a:123456", "a:-1", "a:8o", "a:80:80",
        "[::1", "::1", "[::1]x", "[::1]:99999", "[not-an-ip]", "[1:2:3:4:5:6:7:8:9]", "[fe80::1%25eth0]",
        "a/b", "a?b", "a#b", "a\\b", "caf\u00e9", "a%zz", "a%4", '"a"', "a,b c", "\t",
    ],
)
def test_invalid_host_values_are_400(value: str) -> None:
    raw = ("GET / HTTP/1.1\r\nHost: " + value + "\r\n\r\n").encode("latin-1")
    assert rejected(raw) == 400
    raw10 = ("GET / HTTP/1.0\r\nHost: " + value + "\r\n\r\n").encode("latin-1")
    assert rejected(raw10) == 400  # optional in HTTP/1.0, but never invalid


@pytest.mark.parametrize(
    "value",
    [
        "example.com", "EXAMPLE.com:80", "a:0", "a:65535", "a:00080", "a:", "127.0.0.1", "127.0.0.1:8080",
        "[::1]", "[::1]:8080", "[2001:db8::ff00:42:8329]", "[::ffff:192.0.2.1]:443", "[v1.fe80::a+en1]",
        "xn--bcher-kva.example", "under_score.local", "a%20b", "!$&'()*+,;=.-~",
    ],
)
def test_valid_host_values(value: str) -> None:
    head = parse(("GET / HTTP/1.1\r\nHost: " + value + "\r\n\r\n").encode("latin-1"))
    assert head.headers["Host"] == value


def test_host_port_bounds() -> None:
    assert parse(request("GET / HTTP/1.1", "Host: h:65535", host=False)).headers["host"] == "h:65535"
    assert rejected(request("GET / HTTP/1.1", "Host: h:65536", host=False)) == 400


def test_missing_host_is_400_in_http11_only() -> None:
    assert rejected(request("GET / HTTP/1.1", host=False)) == 400
    assert "host" not in parse(request("GET / HTTP/1.0", host=False)).headers


@pytest.mark.parametrize("version", ["HTTP/1.1", "HTTP/1.0"])
def test_duplicate_host_is_400(version: str) -> None:
    assert rejected(request(f"GET / {version}", "Host: a", "Host: a", host=False)) == 400
    assert rejected(request(f"GET / {version}", "Host: a", "host: b", host=False)) == 400


def test_an_absolute_form_authority_must_be_a_valid_host() -> None:
    assert parse(request("GET http://[::1]:8080/x HTTP/1.1")).headers["host"] == "[::1]:8080"
    assert rejected(request("GET http://a:99999/x HTTP/1.1")) == 400
    assert rejected(request("GET http://<x>/x HTTP/1.1")) == 400


def test_valid_hosts_are_remembered_within_bounds() -> None:
    from naja_atra.http import parser

    long_name = "a" * 300
    parse(request("GET / HTTP/1.1", f"Host: {long_name}", host=False))
    assert long_name not in parser._KNOWN_HOSTS  # only short values are cached
    for i in range(parser._HOST_CACHE_MAX * 2):
        parse(request("GET / HTTP/1.1", f"Host: h{i}.example", host=False))
        assert len(parser._KNOWN_HOSTS) <= parser._HOST_CACHE_MAX
    parse(request("GET / HTTP/1.1", "Host: cached.example", host=False))
    assert "cached.example" in parser._KNOWN_HOSTS  # a full cache starts again
    assert rejected(request("GET / HTTP/1.1", "Host: cached example", host=False)) == 400


# --- Content-Length ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "values, expected",
    [(["0"], 0), (["42"], 42), (["007"], 7), (["5", "5"], 5), (["5, 5"], 5), (["1" * 8], 11111111)],
)
def test_content_length(values: list[str], expected: int) -> None:
    raw = request("POST / HTTP/1.1", *(f"Content-Length: {v}" for v in values))
    assert parse(raw).content_length == expected


@pytest.mark.parametrize(
    "values",
    [["abc"], ["-1"], ["+1"], ["1 2"], [""], ["1.0"], ["0x10"], ["5", "6"], ["5, 6"], ["5,"],
     ["1" * 19], ["\u00b2"]],
)
def test_invalid_content_length_is_400(values: list[str]) -> None:
    raw = request("POST / HTTP/1.1", *(f"Content-Length: {v}" for v in values))
    assert rejected(raw) == 400


def test_content_length_over_the_body_limit_is_the_routes_decision() -> None:
    """The head parses; the route's body limit refuses it (413) before a byte is read."""
    limits = Limits(max_body_size=10)
    assert parse(request("POST / HTTP/1.1", "Content-Length: 11"), limits).content_length == 11
    assert parse(request("POST / HTTP/1.1", "Content-Length: " + "9" * 18)).content_length == int("9" * 18)
    assert rejected(request("POST / HTTP/1.1", "Content-Length: " + "9" * 19)) == 400


# --- Transfer-Encoding -------------------------------------------------------------------


@pytest.mark.parametrize("value", ["chunked", "Chunked", " chunked ", "chunked,"])
def test_chunked(value: str) -> None:
    head = parse(request("POST / HTTP/1.1", f"Transfer-Encoding: {value}"))
    assert head.chunked
    assert head.content_length is None


@pytest.mark.parametrize(
    "values",
    [["gzip"], ["deflate"], ["compress"], ["identity"], ["x-unknown"], ["gzip, chunked"],
     ["gzip", "chunked"]],
)
def test_unknown_transfer_coding_is_501(values: list[str]) -> None:
    raw = request("POST / HTTP/1.1", *(f"Transfer-Encoding: {v}" for v in values))
    assert rejected(raw) == 501


@pytest.mark.parametrize("values", [["chunked, gzip"], ["chunked", "gzip"], ["chunked, chunked"], [""]])
def test_chunked_not_last_is_400(values: list[str]) -> None:
    raw = request("POST / HTTP/1.1", *(f"Transfer-Encoding: {v}" for v in values))
    assert rejected(raw) == 400


def test_transfer_encoding_with_content_length_is_400() -> None:
    raw = request("POST / HTTP/1.1", "Content-Length: 5", "Transfer-Encoding: chunked")
    assert rejected(raw) == 400


def test_transfer_encoding_in_http_10_is_400() -> None:
    assert rejected(request("POST / HTTP/1.0", "Transfer-Encoding: chunked")) == 400
