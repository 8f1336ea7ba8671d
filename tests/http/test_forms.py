"""Unit tests of query, urlencoded and multipart form parsing."""
from __future__ import annotations

from pathlib import Path

import pytest

from naja_atra.http.errors import HttpError
from naja_atra.http.forms import (
    MAX_PART_HEADER_SIZE,
    MultipartFile,
    parse_content_type,
    parse_multipart,
    parse_query,
    parse_urlencoded,
)

BOUNDARY = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def part(disposition: str, content: bytes, *headers: str) -> bytes:
    """One part: delimiter line, headers, blank line, content (the next delimiter adds the CRLF)."""
    lines = [f"--{BOUNDARY}", f"Content-Disposition: {disposition}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + content + b"\r\n"


def multipart(*parts: bytes, boundary: str = BOUNDARY) -> bytes:
    return b"".join(parts) + f"--{boundary}--\r\n".encode("ascii")


def bad_multipart(body: bytes, content_type: str = CONTENT_TYPE, max_parts: int = 1000) -> str:
    with pytest.raises(HttpError) as info:
        parse_multipart(body, content_type, max_parts)
    assert info.value.code == 400
    return info.value.explain


# --- MultipartFile -----------------------------------------------------------------------


def test_multipart_file_properties(tmp_path: Path) -> None:
    upload = MultipartFile("img", filename="a.png", content_type="image/png", content=b"\x89PNG")
    assert (upload.name, upload.filename, upload.content_type) == ("img", "a.png", "image/png")
    assert upload.content == b"\x89PNG"
    assert not upload.required
    assert not upload.is_empty
    target = tmp_path / "out.png"
    upload.save_to_file(str(target))
    assert target.read_bytes() == b"\x89PNG"
    with pytest.raises(AttributeError):
        upload.name = "other"  # type: ignore[misc]


def test_multipart_file_as_marker() -> None:
    marker = MultipartFile("doc", required=True)
    assert marker.required
    assert marker.content is None
    assert marker.is_empty
    assert MultipartFile("x", content=b"").is_empty


# --- query strings -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "qs, expected",
    [
        ("", {}),
        ("a=1&b=2&a=3", {"a": ["1", "3"], "b": ["2"]}),
        ("a=&b", {"a": [""], "b": [""]}),
        ("&&a=1&", {"a": ["1"]}),
        ("a+b=c+d", {"a b": ["c d"]}),
        ("x=%2B%20+", {"x": ["+  "]}),
        ("k=%E4%B8%AD%E6%96%87", {"k": ["\u4e2d\u6587"]}),
        ("k=%FF", {"k": ["\ufffd"]}),
        ("k=%zz%4", {"k": ["%zz%4"]}),
        ("=x", {"": ["x"]}),
        ("a=b=c", {"a": ["b=c"]}),
        ("a;b=1", {"a;b": ["1"]}),
        ("%61=%62", {"a": ["b"]}),
    ],
)
@pytest.mark.parametrize("path", ["short", "long"])
def test_parse_query(qs: str, expected: dict[str, list[str]], path: str) -> None:
    """Both ways of parsing (a short ASCII query, and everything else) agree."""
    if path == "long":  # past the short-query length, and not ASCII: the bytes path
        parsed = parse_query(qs + "&pad=" + "\u00e9" * 3000)
        assert parsed.pop("pad") == ["\u00e9" * 3000]
        assert parsed == expected
    else:
        assert parse_query(qs) == expected


def test_parse_query_cap_applies_on_both_paths() -> None:
    assert parse_query("a&b&c", max_fields=3) == {"a": [""], "b": [""], "c": [""]}
    assert parse_query("a&&b&c", max_fields=3) == {"a": [""], "b": [""], "c": [""]}  # empty fields do not count
    with pytest.raises(HttpError):
        parse_query("a&b&c&d", max_fields=3)
    with pytest.raises(HttpError):
        parse_query("a=1&" * 3000)  # long


def test_parse_query_keeps_order() -> None:
    assert list(parse_query("z=1&a=2&m=3&a=4")) == ["z", "a", "m"]


def test_parse_urlencoded() -> None:
    parsed = parse_urlencoded(b"name=J%C3%B6rg&tags=a&tags=b+c")
    assert parsed == {"name": ["J\u00f6rg"], "tags": ["a", "b c"]}
    assert parse_urlencoded(b"name=J%F6rg", charset="iso-8859-1") == {"name": ["J\u00f6rg"]}
    assert parse_urlencoded(b"a=%C3%A9", charset="no-such-charset") == {"a": ["\u00e9"]}
    assert parse_urlencoded(b"") == {}


# --- Content-Type parameters -------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("text/html", ("text/html", {})),
        ("Text/HTML; Charset=UTF-8", ("text/html", {"charset": "UTF-8"})),
        ("multipart/form-data; boundary=abc", ("multipart/form-data", {"boundary": "abc"})),
        ('multipart/form-data; boundary="a;b=c"', ("multipart/form-data", {"boundary": "a;b=c"})),
        ('form-data; name="a\\"b"; filename="c\\\\d"', ("form-data", {"name": 'a"b', "filename": "c\\d"})),
        ('form-data; filename="C:\\dir\\f.txt"', ("form-data", {"filename": "C:\\dir\\f.txt"})),
        ("a/b; junk; x = 1 ;", ("a/b", {"x": "1"})),
        ("", ("", {})),
    ],
)
def test_parse_content_type(value: str, expected: tuple[str, dict[str, str]]) -> None:
    assert parse_content_type(value) == expected


# --- multipart ---------------------------------------------------------------------------


def test_fields_and_files() -> None:
    body = multipart(
        part('form-data; name="title"', "h\u00e9llo".encode()),
        part('form-data; name="file"; filename="a.txt"', b"file content", "Content-Type: text/plain"),
        part('form-data; name="title"', b"second"),
    )
    fields, files = parse_multipart(body, CONTENT_TYPE)
    assert fields == {"title": ["h\u00e9llo", "second"]}
    upload = files["file"][0]
    assert (upload.name, upload.filename, upload.content_type) == ("file", "a.txt", "text/plain")
    assert upload.content == b"file content"


def test_binary_content_with_crlf_and_boundary_like_text() -> None:
    content = (
        b"\r\n\x00\xff--" + BOUNDARY.encode() + b"X\r\n"  # boundary followed by other text
        + b"\r\n--" + BOUNDARY.encode()[:-1] + b"\r\n"  # a prefix of the boundary
        + b"mid-line --" + BOUNDARY.encode() + b"\r\n"  # not preceded by CRLF
        + b"\r\n\r\n"  # ends with CRLFs that belong to the content
    )
    body = multipart(part('form-data; name="bin"; filename="b.bin"', content))
    fields, files = parse_multipart(body, CONTENT_TYPE)
    assert fields == {}
    assert files["bin"][0].content == content


def test_crlf_before_delimiter_is_not_content() -> None:
    body = multipart(part('form-data; name="a"', b"abc"), part('form-data; name="b"', b""))
    assert parse_multipart(body, CONTENT_TYPE)[0] == {"a": ["abc"], "b": [""]}


def test_quoted_boundary() -> None:
    boundary = "with space;and=equals"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="k"\r\n\r\nv\r\n--{boundary}--').encode()
    fields, _ = parse_multipart(body, f'multipart/form-data; boundary="{boundary}"')
    assert fields == {"k": ["v"]}


def test_preamble_epilogue_and_padding() -> None:
    body = (
        b"This is the preamble.\r\n"
        + f"--{BOUNDARY} \t\r\n".encode()
        + b'Content-Disposition: form-data; name="k"\r\n\r\nv\r\n'
        + f"--{BOUNDARY}--\r\nThis is the epilogue --{BOUNDARY}\r\n".encode()
    )
    assert parse_multipart(body, CONTENT_TYPE)[0] == {"k": ["v"]}


def test_filename_star_takes_precedence() -> None:
    body = multipart(
        part("form-data; name=\"f\"; filename=\"fallback.txt\"; filename*=UTF-8''%E4%B8%AD.txt", b"x")
    )
    upload = parse_multipart(body, CONTENT_TYPE)[1]["f"][0]
    assert upload.filename == "\u4e2d.txt"


def test_filename_star_alone_and_latin1() -> None:
    body = multipart(part("form-data; name=\"f\"; filename*=iso-8859-1'en'%E9t%E9.txt", b"x"))
    assert parse_multipart(body, CONTENT_TYPE)[1]["f"][0].filename == "\u00e9t\u00e9.txt"


def test_raw_utf8_filename() -> None:
    body = multipart(part('form-data; name="f"; filename="\u4e2d\u6587 \u00e9.txt"', b"x"))
    assert parse_multipart(body, CONTENT_TYPE)[1]["f"][0].filename == "\u4e2d\u6587 \u00e9.txt"


def test_escaped_quote_in_filename() -> None:
    body = multipart(part('form-data; name="f"; filename="say \\"hi\\"; ok.txt"', b"x"))
    assert parse_multipart(body, CONTENT_TYPE)[1]["f"][0].filename == 'say "hi"; ok.txt'


def test_empty_file_input() -> None:
    body = multipart(part('form-data; name="f"; filename=""', b"", "Content-Type: application/octet-stream"))
    upload = parse_multipart(body, CONTENT_TYPE)[1]["f"][0]
    assert upload.filename == ""
    assert upload.is_empty


def test_text_part_charset() -> None:
    latin1 = "caf\u00e9".encode("latin-1")
    body = multipart(part('form-data; name="t"', latin1, "Content-Type: text/plain; charset=latin-1"))
    assert parse_multipart(body, CONTENT_TYPE)[0] == {"t": ["caf\u00e9"]}


def test_several_files_with_one_name() -> None:
    body = multipart(
        part('form-data; name="f"; filename="1"', b"one"),
        part('form-data; name="f"; filename="2"', b"two"),
    )
    files = parse_multipart(body, CONTENT_TYPE)[1]["f"]
    assert [(f.filename, f.content) for f in files] == [("1", b"one"), ("2", b"two")]


def test_header_names_are_case_insensitive() -> None:
    body = multipart(
        f"--{BOUNDARY}\r\n".encode()
        + b'content-disposition: form-data; name="a"\r\nCONTENT-TYPE: text/x\r\n\r\nv\r\n'
    )
    assert parse_multipart(body, CONTENT_TYPE)[0] == {"a": ["v"]}


def test_max_parts() -> None:
    body = multipart(*(part(f'form-data; name="p{i}"', b"v") for i in range(3)))
    assert len(parse_multipart(body, CONTENT_TYPE, max_parts=3)[0]) == 3
    assert "more than" in bad_multipart(body, max_parts=2)


@pytest.mark.parametrize(
    "content_type", ["multipart/form-data", "multipart/form-data; boundary=", "text/plain"]
)
def test_missing_boundary_is_400(content_type: str) -> None:
    bad_multipart(multipart(part('form-data; name="a"', b"v")), content_type)


def test_no_closing_boundary_is_400() -> None:
    bad_multipart(part('form-data; name="a"', b"v"))
    bad_multipart(part('form-data; name="a"', b"v") + f"--{BOUNDARY}".encode())
    bad_multipart(part('form-data; name="a"', b"v")[:-2])


def test_body_without_boundary_is_400() -> None:
    bad_multipart(b"just some text")
    bad_multipart(b"")


def test_part_without_disposition_is_400() -> None:
    body = multipart(f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nv\r\n".encode())
    bad_multipart(body)
    bad_multipart(multipart(f"--{BOUNDARY}\r\n\r\nv\r\n".encode()))


def test_part_without_name_is_400() -> None:
    bad_multipart(multipart(part('form-data; filename="a.txt"', b"v")))


def test_part_without_header_end_is_400() -> None:
    bad_multipart(multipart(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n'.encode()))


def test_malformed_part_header_is_400() -> None:
    bad_multipart(multipart(part('form-data; name="a"', b"v", "not a header")))


def test_part_headers_over_16k_is_400() -> None:
    filler = "X-Filler: " + "a" * (MAX_PART_HEADER_SIZE - 200)
    body = multipart(part('form-data; name="a"', b"v", filler))
    assert parse_multipart(body, CONTENT_TYPE)[0] == {"a": ["v"]}
    big = "X-Filler: " + "a" * MAX_PART_HEADER_SIZE
    assert "too large" in bad_multipart(multipart(part('form-data; name="a"', b"v", big)))
