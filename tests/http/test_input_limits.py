"""Unit tests of the input limits applied while parsing (no sockets): form fields
(``max_form_fields``: query strings, URL-encoded and multipart bodies), JSON nesting
(``max_json_depth``) and the percent-decoding of form fields."""
from __future__ import annotations

import json
import random
from typing import Any, Optional
from urllib.parse import unquote_to_bytes

import pytest

from naja_atra.http.errors import HttpError
from naja_atra.http.forms import parse_multipart
from naja_atra.http.json_body import JsonTooDeep, check_json_depth, loads_json
from naja_atra.http.limits import Limits
from naja_atra.http.parser import parse_head
from naja_atra.http.request import Request
from naja_atra.http.urlencoded import parse_query, parse_urlencoded, percent_decode
from naja_atra.injection.convert import ConversionError, string_converter

BOUNDARY = "b0undary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def fields(count: int) -> str:
    return "&".join(f"f{i}=v{i}" for i in range(count))


def multipart(count: int) -> bytes:
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nv{i}\r\n' for i in range(count)]
    return ("".join(parts) + f"--{BOUNDARY}--\r\n").encode()


def request(target: str = "/", body: bytes = b"", content_type: Optional[str] = None, **limits: Any) -> Request:
    """A Request parsed from bytes under ``Limits(**limits)``, as a server would make it."""
    head = f"POST {target} HTTP/1.1\r\nHost: h\r\nContent-Length: {len(body)}\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    parsed = parse_head((head + "\r\n").encode(), Limits(**limits))
    assert parsed is not None
    return Request(parsed[0], body)


def status_of(action: Any) -> int:
    with pytest.raises(HttpError) as info:
        action()
    return info.value.code


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# --- form fields -------------------------------------------------------------------------


def test_query_fields_at_the_cap_and_one_over() -> None:
    assert len(parse_query(fields(5), max_fields=5)) == 5
    assert status_of(lambda: parse_query(fields(6), max_fields=5)) == 400
    assert len(parse_query("&&&" + "&".join(["a=1"] * 5) + "&&", max_fields=5)["a"]) == 5  # empty fields: not fields


def test_urlencoded_fields_at_the_cap_and_one_over() -> None:
    assert len(parse_urlencoded(fields(5).encode(), max_fields=5)) == 5
    assert status_of(lambda: parse_urlencoded(fields(6).encode(), max_fields=5)) == 400


def test_multipart_parts_at_the_cap_and_one_over() -> None:
    assert len(parse_multipart(multipart(5), MULTIPART, max_parts=5)[0]) == 5
    assert status_of(lambda: parse_multipart(multipart(6), MULTIPART, max_parts=5)) == 400


def test_the_default_cap_is_the_limits_default() -> None:
    assert Limits().max_form_fields == 1000
    assert len(parse_urlencoded(fields(1000).encode())) == 1000
    assert status_of(lambda: parse_urlencoded(fields(1001).encode())) == 400
    assert status_of(lambda: parse_query(fields(1001))) == 400
    assert status_of(lambda: parse_multipart(multipart(1001), MULTIPART)) == 400


def test_a_huge_form_is_refused() -> None:
    body = b"&".join(b"f%d=v" % i for i in range(1_500_000))  # 14.7 MiB
    assert status_of(lambda: parse_urlencoded(body)) == 400


def test_a_request_applies_its_limits_to_each_source() -> None:
    assert len(request("/?" + fields(3), max_form_fields=3).parameters) == 3
    assert status_of(lambda: request("/?" + fields(4), max_form_fields=3).parameters) == 400
    form = "application/x-www-form-urlencoded"
    assert len(request(body=fields(3).encode(), content_type=form, max_form_fields=3).parameters) == 3
    assert status_of(lambda: request(body=fields(4).encode(), content_type=form, max_form_fields=3).parameter) == 400
    assert len(request(body=multipart(3), content_type=MULTIPART, max_form_fields=3).parameters) == 3
    assert status_of(lambda: request(body=multipart(4), content_type=MULTIPART, max_form_fields=3).files) == 400
    # The query and the body are each held to the cap.
    both = request("/?" + fields(3), body=fields(3).encode().replace(b"f", b"g"), content_type=form,
                   max_form_fields=3)
    assert len(both.parameters) == 6


def test_the_fields_keep_their_meaning() -> None:
    assert parse_urlencoded(b"a=1&b=%41%2B&a=x+y&c&=e&d=%zz%4&f=a=b") == {
        "a": ["1", "x y"], "b": ["A+"], "c": [""], "": ["e"], "d": ["%zz%4"], "f": ["a=b"]}
    assert parse_urlencoded(b"k=%E9", charset="latin-1") == {"k": ["\u00e9"]}
    assert parse_urlencoded("k=%41\u00e9".encode("utf-16"), charset="utf-16") == {"k": ["A\u00e9"]}
    assert parse_query("k=\u4e2d%E6%96%87") == {"k": ["\u4e2d\u6587"]}


def test_percent_decode_matches_the_standard_library() -> None:
    rng = random.Random(7)
    alphabet = b"%=aAfFgG09 \r\n\t_\x00\xff+&?3D"
    for _ in range(20_000):
        raw = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        assert percent_decode(raw) == unquote_to_bytes(raw), raw
    every_byte = bytes(range(256)) + b"%" + bytes(range(256))
    assert percent_decode(every_byte) == unquote_to_bytes(every_byte)
    escaped = "".join(f"%{b:02X}" for b in range(256)).encode()
    assert percent_decode(escaped) == bytes(range(256))
    assert percent_decode(b"%41" * 100_000 + b"%zz") == b"A" * 100_000 + b"%zz"


# --- JSON depth --------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1, 2, 10, 100])
def test_json_at_the_depth_limit_and_one_over(depth: int) -> None:
    check_json_depth(nested(depth), depth)
    assert loads_json('{"a": ' * depth + "1" + "}" * depth, depth) is not None
    with pytest.raises(JsonTooDeep):
        check_json_depth(nested(depth + 1), depth)
    with pytest.raises(JsonTooDeep):
        loads_json('{"a": ' * (depth + 1) + "1" + "}" * (depth + 1), depth)


def test_json_1000_deep_is_refused_before_decoding() -> None:
    with pytest.raises(JsonTooDeep):
        loads_json(nested(1000), 100)
    with pytest.raises(JsonTooDeep):
        loads_json(nested(100_000).encode(), 100)


def test_json_brackets_inside_strings_are_not_nesting() -> None:
    data = json.dumps({"a": ["[[[[[", "\\\"[{", "]]]]"], "b": {"c": "\"[[[["}})
    assert loads_json(data, 2)["b"] == {"c": "\"[[[["}  # two levels, whatever the strings hold
    with pytest.raises(JsonTooDeep):
        check_json_depth(data, 1)
    assert loads_json(json.dumps(["[" * 500]), 1) == ["[" * 500]


def test_json_unbalanced_brackets_are_refused() -> None:
    for data in ("[" * 200, "]" * 200 + "[" * 200, "[" * 150 + "]" * 149, "[]]" + "[" * 150):
        with pytest.raises(JsonTooDeep):
            check_json_depth(data, 100)


def test_json_in_other_encodings() -> None:
    for encoding in ("utf-16", "utf-32", "utf-8-sig"):
        assert loads_json(json.dumps([["\u00e9"]]).encode(encoding), 2) == [["\u00e9"]]
        with pytest.raises(JsonTooDeep):
            loads_json(nested(3).encode(encoding), 2)


def test_json_depth_of_varied_documents() -> None:
    rng = random.Random(11)
    scalars = [1, "a[b{", '"\\"[[', None, "\\", "\u00fc[", "\\\\\"]", '""[', "[]"]

    def make(level: int) -> Any:
        if level == 0 or rng.random() < 0.2:
            return rng.choice(scalars)
        if rng.random() < 0.5:
            return [make(level - 1) for _ in range(rng.randint(0, 3))]
        return {rng.choice(["k[", "x", "\\\"{", ""]): make(level - 1) for _ in range(rng.randint(0, 3))}

    def depth(value: Any) -> int:
        if isinstance(value, list):
            return 1 + max([depth(v) for v in value] or [0])
        if isinstance(value, dict):
            return 1 + max([depth(v) for v in value.values()] or [0])
        return 0

    for _ in range(3000):
        value = make(8)
        data = json.dumps(value, ensure_ascii=rng.random() < 0.5).encode()
        actual = depth(value)
        check_json_depth(data, actual)
        if actual:
            with pytest.raises(JsonTooDeep):
                check_json_depth(data, actual - 1)


def test_request_json_applies_max_json_depth() -> None:
    kind = "application/json"
    assert request(body=nested(100).encode(), content_type=kind).json == json.loads(nested(100))
    assert status_of(lambda: request(body=nested(101).encode(), content_type=kind).json) == 400
    assert status_of(lambda: request(body=nested(1000).encode(), content_type=kind).json) == 400
    assert request(body=nested(5).encode(), content_type=kind, max_json_depth=5).json is not None
    assert status_of(lambda: request(body=nested(6).encode(), content_type=kind, max_json_depth=5).json) == 400


def test_a_parameter_holding_json_is_depth_limited() -> None:
    convert = string_converter(dict)
    assert convert('{"a": ' * 100 + "1" + "}" * 100) is not None
    with pytest.raises(ConversionError):
        convert('{"a": ' * 1000 + "1" + "}" * 1000)


def test_the_adapters_requests_carry_the_limits_they_were_given() -> None:
    import io

    from naja_atra.adapters.asgi.scope import make_request, request_head
    from naja_atra.adapters.wsgi import build_request

    limits = Limits(max_form_fields=2)
    scope = {"type": "http", "method": "GET", "http_version": "1.1", "path": "/", "raw_path": b"/",
             "query_string": b"a=1&b=2&c=3", "headers": [(b"host", b"h")]}
    head = request_head(scope, limits, websocket=False)
    assert head.limits is limits
    assert status_of(lambda: make_request(scope, head, b"").parameters) == 400
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "QUERY_STRING": "a=1&b=2&c=3", "SERVER_PROTOCOL": "HTTP/1.1",
               "HTTP_HOST": "h", "wsgi.input": io.BytesIO(b""), "wsgi.url_scheme": "http"}
    assert status_of(lambda: build_request(environ, limits).parameters) == 400
    environ["HTTP_HOST"] = "bad host"
    assert status_of(lambda: build_request(environ, limits)) == 400
