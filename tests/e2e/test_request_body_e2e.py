"""Request bodies on both built-in servers: streamed to a controller that takes a
``RequestBodyReader``, read whole (spooled past a threshold) for the others, limited per
route, and never parsed as the next request when left unread."""
from __future__ import annotations

import socket
from typing import Any, BinaryIO, Optional

import pytest

from naja_atra import Application, MultipartFile, Request, RequestBodyReader
from naja_atra.testing.encoding import multipart

from ..support import DRIVERS, HOST, serving

KIB = 1024


def build_app(**options: Any) -> tuple[Application, dict[str, Any]]:
    seen: dict[str, Any] = {}
    app = Application(load_entry_points=False, max_body_size=4 * KIB, **options)

    @app.route("/echo", method="POST")
    def echo(request: Request) -> bytes:
        return request.body

    @app.route("/count", method="POST")
    async def count(reader: RequestBodyReader) -> dict[str, int]:
        size = 0
        while True:
            piece = await reader.read(1000)
            if not piece:
                return {"size": size}
            size += len(piece)

    @app.route("/ignore", method="POST")
    def ignore(reader: RequestBodyReader) -> str:
        return "not read"

    @app.route("/first", method="POST")
    def first(reader: RequestBodyReader) -> bytes:
        return reader.read_sync(3)

    @app.route("/big", method="POST", max_body_size=64 * KIB)
    def big(request: Request) -> dict[str, int]:
        return {"size": len(request.body)}

    @app.route("/upload", method="POST", max_body_size=1024 * KIB)
    def upload(file: MultipartFile = MultipartFile("file", required=True), note: str = "") -> dict[str, Any]:
        seen["file"] = file
        seen["on_disk"] = file.on_disk
        seen["budget_used"] = app.body_budget.used
        return {"size": file.size, "note": note, "on_disk": file.on_disk}

    @app.route("/form", method="POST", max_body_size=64 * KIB)
    def form(name: str, request: Request) -> dict[str, Any]:
        seen["budget_used"] = app.body_budget.used
        return {"name": name}

    @app.route("/get")
    def get() -> str:
        return "got"

    return app, seen


def raw_request(method: str, path: str, body: bytes = b"", headers: Optional[dict[str, str]] = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}"]
    for name, value in (headers or {"Content-Length": str(len(body))}).items():
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def read_response(stream: BinaryIO) -> tuple[int, dict[str, str], bytes]:
    """One response with a Content-Length body from ``stream`` (a socket's ``makefile("rb")``;
    bounded by the socket's timeout)."""
    status_line = stream.readline()
    assert status_line, "the connection closed before a response"
    headers: dict[str, str] = {}
    while True:
        line = stream.readline().decode("latin-1").strip()
        if not line:
            break
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, stream.read(int(headers.get("content-length", "0")))


@pytest.mark.parametrize("driver", DRIVERS)
def test_bodies_buffered_streamed_and_limited_per_route(driver: str) -> None:
    app, _ = build_app()
    with serving(app, driver) as client:
        assert client.post("/echo", b"hello").body == b"hello"
        assert client.post("/count", b"x" * 3000).json() == {"size": 3000}
        # The application's limit is 4 KiB; /big allows 64 KiB, /echo does not.
        assert client.post("/big", b"x" * 50 * KIB).json() == {"size": 50 * KIB}
        # Refused before a byte is read; the body had arrived whole, so it was dropped and
        # the connection could have gone on.
        assert client.post("/echo", b"x" * 5 * KIB).status == 413
        assert client.post("/big", b"x" * 65 * KIB).status == 413


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_chunked_body_over_the_limit_is_cut_off_mid_stream(driver: str) -> None:
    app, _ = build_app()
    with serving(app, driver) as client:
        chunk = b"%x\r\n%s\r\n" % (1000, b"y" * 1000)
        with socket.create_connection((HOST, client.port), timeout=5) as sock, sock.makefile("rb") as stream:
            sock.sendall(raw_request("POST", "/count", headers={"Transfer-Encoding": "chunked"}))
            sock.sendall(chunk * 5)  # 5000 bytes, past the 4 KiB limit; the body never ends
            status, headers, _ = read_response(stream)
            assert status == 413 and headers["connection"] == "close"
            sock.settimeout(5)
            assert sock.recv(65536) == b""  # closed: the rest is never read as a request


@pytest.mark.parametrize("driver", DRIVERS)
def test_an_unread_body_is_never_parsed_as_the_next_request(driver: str) -> None:
    app, _ = build_app()
    with serving(app, driver) as client:
        # Small and already here: dropped, and the connection goes on.
        with socket.create_connection((HOST, client.port), timeout=5) as sock, sock.makefile("rb") as stream:
            body = b"GET /get HTTP/1.1\r\nHost: x\r\n\r\n"  # a body that looks like a request
            sock.sendall(raw_request("POST", "/ignore", body) + raw_request("GET", "/get"))
            status, headers, content = read_response(stream)
            assert (status, content) == (200, b"not read") and headers.get("connection") != "close"
            status, _, content = read_response(stream)
            assert (status, content) == (200, b"got")
        # Still arriving when the answer is ready: the answer closes the connection.
        with socket.create_connection((HOST, client.port), timeout=5) as sock, sock.makefile("rb") as stream:
            sock.sendall(raw_request("POST", "/ignore", headers={"Content-Length": "3000"}) + b"GET /get")
            status, headers, content = read_response(stream)
            assert (status, content) == (200, b"not read") and headers["connection"] == "close"
            assert sock.recv(65536) == b""
        # A controller that reads part of the body: the same.
        with socket.create_connection((HOST, client.port), timeout=5) as sock, sock.makefile("rb") as stream:
            sock.sendall(raw_request("POST", "/first", headers={"Content-Length": "3000"}) + b"abcdef")
            status, headers, content = read_response(stream)
            assert (status, content) == (200, b"abc") and headers["connection"] == "close"


@pytest.mark.parametrize("driver", DRIVERS)
def test_expect_continue_is_answered_only_when_the_body_is_wanted(driver: str) -> None:
    app, _ = build_app()
    with serving(app, driver) as client:
        with socket.create_connection((HOST, client.port), timeout=5) as sock, sock.makefile("rb") as stream:
            sock.sendall(raw_request("POST", "/count", headers={"Content-Length": "5", "Expect": "100-continue"}))
            assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
            sock.sendall(b"12345")
            status, _, content = read_response(stream)
            assert (status, content) == (200, b'{"size": 5}')
        with socket.create_connection((HOST, client.port), timeout=5) as sock, sock.makefile("rb") as stream:
            # Over the route's limit: refused without asking for the body.
            sock.sendall(raw_request("POST", "/echo", headers={"Content-Length": "5000", "Expect": "100-continue"}))
            status, headers, _ = read_response(stream)
            assert status == 413 and headers["connection"] == "close"


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_multipart_file_past_the_spool_threshold_is_on_disk_and_gone_after(driver: str) -> None:
    app, seen = build_app(spool_threshold=16 * KIB)
    payload = bytes(range(256)) * 400  # 100 KiB
    body, content_type = multipart([("note", "n")], {"file": ("f.bin", payload, "application/octet-stream")})
    with serving(app, driver) as client:
        reply = client.post("/upload", body, headers={"Content-Type": content_type})
        assert reply.json() == {"size": len(payload), "note": "n", "on_disk": True}
    upload: MultipartFile = seen["file"]
    assert seen["on_disk"]
    assert seen["budget_used"] <= 16 * KIB  # the body went to its file, not to memory
    assert app.body_budget.used == 0  # released with the request
    with pytest.raises(ValueError):  # its temporary file is closed, so gone (it had no name)
        list(upload.chunks())


@pytest.mark.parametrize("driver", DRIVERS)
def test_the_memory_budget_sends_bodies_to_disk_when_spent(driver: str) -> None:
    app, seen = build_app(body_memory_budget=0)
    with serving(app, driver) as client:
        reply = client.post("/form", b"name=spooled", headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert reply.json() == {"name": "spooled"}
        assert seen["budget_used"] == 0
    app, seen = build_app()
    with serving(app, driver) as client:
        client.post("/form", b"name=in+memory", headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert seen["budget_used"] == len(b"name=in+memory")
    assert app.body_budget.used == 0


def test_the_test_client_applies_the_route_limits() -> None:
    app, _ = build_app()
    client = app.test_client()
    assert client.post("/big", content=b"x" * 50 * KIB).json() == {"size": 50 * KIB}
    assert client.post("/echo", content=b"x" * 5 * KIB).status_code == 413
    assert client.post("/count", content=b"z" * 100).json() == {"size": 100}
