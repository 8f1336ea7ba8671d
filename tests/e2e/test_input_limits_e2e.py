"""Input limits over real sockets, on both built-in servers: an invalid Host (RFC 9112 3.2),
forms with more fields than ``max_form_fields``, JSON nested deeper than ``max_json_depth``
(400s, not 500s), and the server still serving afterwards."""
from __future__ import annotations

import json
from typing import Any, Callable
from urllib.parse import urlencode

import pytest

from naja_atra import Application, JSONBody, Request

from ..support import Client

Serve = Callable[..., Client]

BOUNDARY = "b0undary"


def _app() -> Application:
    app = Application()

    @app.route("/echo", method=["GET", "POST"])
    def echo(request: Request) -> dict[str, Any]:
        return {"host": request.host, "fields": len(request.parameters)}

    @app.route("/json", method="POST")
    def post_json(request: Request) -> dict[str, Any]:
        return {"type": type(request.json).__name__}

    @app.route("/bound", method="POST")
    def bound(data: JSONBody) -> dict[str, Any]:
        return {"keys": sorted(data)}

    @app.route("/param")
    def param(data: dict[str, Any]) -> dict[str, Any]:
        return {"keys": sorted(data)}

    return app


def status(reply: bytes) -> int:
    assert reply.startswith(b"HTTP/1.1 "), reply[:100]
    return int(reply[9:12])


def raw_get(client: Client, host_lines: str, version: str = "HTTP/1.1") -> bytes:
    """A GET of /echo with exactly ``host_lines`` as its Host header lines, on a new connection."""
    return client.raw(f"GET /echo {version}\r\n{host_lines}Connection: close\r\n\r\n".encode("latin-1"))


def multipart(count: int) -> bytes:
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nv\r\n' for i in range(count)]
    return ("".join(parts) + f"--{BOUNDARY}--\r\n").encode()


def nested_object(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize("host", ["a b", "<script>", "", "x@evil", "a:99999", "a:65536", "[::1", "[zz::1]"])
def test_an_invalid_host_is_400(serve: Serve, host: str) -> None:
    client = serve(_app())
    assert status(raw_get(client, f"Host: {host}\r\n")) == 400
    assert client.get("/echo").status == 200  # the server goes on


def test_missing_or_repeated_host(serve: Serve) -> None:
    client = serve(_app())
    assert status(raw_get(client, "")) == 400
    assert status(raw_get(client, "Host: a\r\nHost: a\r\n")) == 400
    assert status(raw_get(client, "Host: a\r\nHost: a\r\n", "HTTP/1.0")) == 400
    reply = raw_get(client, "", "HTTP/1.0")  # HTTP/1.0 may leave Host out
    assert reply.startswith(b"HTTP/1.") and b" 200 " in reply.split(b"\r\n", 1)[0]


@pytest.mark.parametrize("host", ["example.com", "[::1]:8080", "127.0.0.1:65535", "[2001:db8::1]"])
def test_a_valid_host_reaches_the_controller(serve: Serve, host: str) -> None:
    client = serve(_app())
    reply = raw_get(client, f"Host: {host}\r\n")
    assert status(reply) == 200
    assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["host"] == host


def test_a_form_over_max_form_fields_is_400(serve: Serve) -> None:
    client = serve(_app(), max_form_fields=10)
    form = "application/x-www-form-urlencoded"
    at_cap = urlencode([(f"f{i}", "v") for i in range(10)])
    over = urlencode([(f"f{i}", "v") for i in range(11)])
    assert client.post("/echo", at_cap, content_type=form).json() == {"host": f"127.0.0.1:{client.port}",
                                                                       "fields": 10}
    assert client.post("/echo", over, content_type=form).status == 400
    kind = f"multipart/form-data; boundary={BOUNDARY}"
    assert client.post("/echo", multipart(10), content_type=kind).json()["fields"] == 10
    assert client.post("/echo", multipart(11), content_type=kind).status == 400
    assert client.get("/echo?" + at_cap).json()["fields"] == 10
    assert client.get("/echo?" + over).status == 400
    assert client.get("/echo").status == 200


def test_a_form_of_a_hundred_thousand_fields_is_400(serve: Serve) -> None:
    client = serve(_app())  # the default cap: 1000 fields
    body = b"&".join(b"f%d=v" % i for i in range(100_000))
    reply = client.post("/echo", body, content_type="application/x-www-form-urlencoded")
    assert reply.status == 400
    assert client.get("/echo").status == 200


def test_json_1000_deep_is_400_not_500(serve: Serve) -> None:
    client = serve(_app())
    deep = "[" * 1000 + "]" * 1000
    for path in ("/json", "/bound"):
        reply = client.post(path, deep, content_type="application/json")
        assert reply.status == 400, (path, reply.body[:200])
    assert client.post("/bound", nested_object(1000), content_type="application/json").status == 400
    assert client.get("/param?" + urlencode({"data": nested_object(1000)})).status == 400
    assert client.post("/bound", nested_object(3), content_type="application/json").json() == {"keys": ["a"]}


def test_json_at_max_json_depth_and_one_over(serve: Serve) -> None:
    client = serve(_app(), max_json_depth=20)
    assert client.post("/json", nested_object(20), content_type="application/json").json() == {"type": "dict"}
    assert client.post("/json", nested_object(21), content_type="application/json").status == 400
    assert client.post("/bound", nested_object(21), content_type="application/json").status == 400
