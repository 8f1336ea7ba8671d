"""gzip content coding and TLS over real sockets (both drivers)."""
from __future__ import annotations

import gzip
import http.client
import ssl
from pathlib import Path
from typing import Callable

from naja_atra import SESSION_COOKIE_NAME, Application, Request, Response, Session

from ..support import Client, Reply

Serve = Callable[..., Client]
PAGE = "<!DOCTYPE html><html><body>" + "".join(f"<p>line {i}: hello, gzip</p>" for i in range(200)) + "</body></html>"
PIECES = [b"<html><body>", b"first piece " * 50, b"second piece " * 50, b"</body></html>"]


def _app() -> Application:
    app = Application()

    @app.route("/page")
    def page() -> str:
        return PAGE

    @app.route("/data")
    def data() -> dict[str, list[int]]:
        return {"numbers": list(range(500))}

    @app.route("/stream")
    def stream(response: Response) -> None:
        response.status_code = 200
        response.set_header("Content-Type", "text/html; charset=utf-8")
        for piece in PIECES:
            response.write_bytes(piece)
        response.close()

    @app.route("/pre-encoded")
    def pre_encoded() -> Response:
        return Response(200, {"Content-Type": "text/html", "Content-Encoding": "gzip"},
                        gzip.compress(PAGE.encode()))

    @app.route("/scheme")
    def scheme(request: Request) -> str:
        return request.scheme

    @app.route("/session")
    def session_id(session: Session) -> str:
        session.set_attribute("seen", True)
        return "ok"

    return app


GZIP = {"Accept-Encoding": "gzip"}


def test_gzip_when_accepted(serve: Serve) -> None:
    client = serve(_app(), gzip_content_types={"text/html"})
    reply = client.get("/page", headers=GZIP)
    assert reply.status == 200
    assert reply.header("Content-Encoding") == "gzip"
    assert reply.header("Content-Length") == str(len(reply.body))
    assert len(reply.body) < len(PAGE)
    assert gzip.decompress(reply.body).decode("utf-8") == PAGE
    assert "accept-encoding" in (reply.header("Vary") or "").lower()


def test_no_gzip_without_accept_encoding(serve: Serve) -> None:
    client = serve(_app(), gzip_content_types={"text/html"})
    reply = client.get("/page")
    assert reply.status == 200
    assert reply.header("Content-Encoding") is None
    assert reply.text == PAGE
    for refusal in ("identity", "gzip;q=0", "br", "*;q=0"):
        reply = client.get("/page", headers={"Accept-Encoding": refusal})
        assert reply.header("Content-Encoding") is None, refusal
        assert reply.text == PAGE


def test_gzip_by_alias_and_wildcard(serve: Serve) -> None:
    client = serve(_app(), gzip_content_types={"text/html"})
    for accept in ("deflate, gzip;q=0.5", "*", "GZIP", "br, *;q=0.1"):
        reply = client.get("/page", headers={"Accept-Encoding": accept})
        assert reply.header("Content-Encoding") == "gzip", accept
        assert gzip.decompress(reply.body).decode("utf-8") == PAGE


def test_only_the_configured_types_are_compressed(serve: Serve) -> None:
    client = serve(_app(), gzip_content_types={"text/html"})
    reply = client.get("/data", headers=GZIP)
    assert reply.header("Content-Encoding") is None
    assert reply.json() == {"numbers": list(range(500))}


def test_no_gzip_when_not_configured(serve: Serve) -> None:
    client = serve(_app())
    reply = client.get("/page", headers=GZIP)
    assert reply.header("Content-Encoding") is None
    assert reply.text == PAGE


def test_head_with_gzip_has_no_body(serve: Serve) -> None:
    client = serve(_app(), gzip_content_types={"text/html"})
    reply = client.request("HEAD", "/page", headers=GZIP)
    assert reply.status == 200
    assert reply.body == b""


def test_streamed_response_with_gzip(serve: Serve) -> None:
    client = serve(_app(), gzip_content_types={"text/html"})
    reply = client.get("/stream", headers=GZIP)
    assert reply.status == 200
    assert reply.header("Content-Encoding") == "gzip"
    assert reply.header("Transfer-Encoding") == "chunked"
    assert reply.header("Content-Length") is None
    assert gzip.decompress(reply.body) == b"".join(PIECES)


def test_streamed_response_without_gzip(serve: Serve) -> None:
    client = serve(_app(), gzip_content_types={"text/html"})
    reply = client.get("/stream")
    assert reply.status == 200
    assert reply.header("Content-Encoding") is None
    assert reply.body == b"".join(PIECES)


def test_keep_alive_across_gzip_and_stream(serve: Serve) -> None:
    client = serve(_app(), gzip_content_types={"text/html"})
    conn = client.connection()
    try:
        first = client.request("GET", "/stream", headers=GZIP, conn=conn)
        second = client.request("GET", "/page", headers=GZIP, conn=conn)
        third = client.request("GET", "/page", conn=conn)
    finally:
        conn.close()
    assert gzip.decompress(first.body) == b"".join(PIECES)
    assert gzip.decompress(second.body).decode() == PAGE
    assert third.text == PAGE


def test_a_body_already_encoded_is_not_compressed_again(serve: Serve) -> None:
    client = serve(_app(), gzip_content_types={"text/html"})
    reply = client.get("/pre-encoded", headers=GZIP)
    assert reply.headers.get_all("Content-Encoding") == ["gzip"]
    assert gzip.decompress(reply.body).decode() == PAGE


def test_streamed_gzip_to_an_http10_client(serve: Serve) -> None:
    client = serve(_app(), gzip_content_types={"text/html"})
    raw = client.raw(b"GET /stream HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].split(b" ")[1] == b"200"
    assert b"content-encoding: gzip" in head.lower()
    assert b"transfer-encoding" not in head.lower()
    assert gzip.decompress(body) == b"".join(PIECES)


# -- TLS ---------------------------------------------------------------------------------------------
# ``cert_files``: the session's self-signed certificate (tests/conftest.py).


def _tls_get(port: int, path: str, headers: dict[str, str] | None = None) -> Reply:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=context)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return Reply(r.status, r.headers, r.read())
    finally:
        conn.close()


def test_get_over_tls(serve: Serve, cert_files: tuple[Path, Path]) -> None:
    cert, key = cert_files
    client = serve(_app(), ssl=True, certfile=str(cert), keyfile=str(key))
    reply = _tls_get(client.port, "/page")
    assert (reply.status, reply.text) == (200, PAGE)
    assert _tls_get(client.port, "/scheme").text == "https"


def test_keep_alive_over_tls(serve: Serve, cert_files: tuple[Path, Path]) -> None:
    cert, key = cert_files
    client = serve(_app(), ssl=True, certfile=str(cert), keyfile=str(key))
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection("127.0.0.1", client.port, timeout=5, context=context)
    try:
        texts = []
        for path in ("/scheme", "/page", "/stream", "/scheme"):
            conn.request("GET", path)
            texts.append(conn.getresponse().read())
    finally:
        conn.close()
    assert texts == [b"https", PAGE.encode(), b"".join(PIECES), b"https"]


def test_gzip_over_tls(serve: Serve, cert_files: tuple[Path, Path]) -> None:
    cert, key = cert_files
    client = serve(_app(), ssl=True, certfile=str(cert), keyfile=str(key), gzip_content_types=["text/html"])
    reply = _tls_get(client.port, "/stream", GZIP)
    assert reply.header("Content-Encoding") == "gzip"
    assert gzip.decompress(reply.body) == b"".join(PIECES)


def test_session_cookie_over_tls_is_secure(serve: Serve, cert_files: tuple[Path, Path]) -> None:
    cert, key = cert_files
    client = serve(_app(), ssl=True, certfile=str(cert), keyfile=str(key))
    reply = _tls_get(client.port, "/session")
    assert reply.status == 200
    cookies = [c for c in reply.headers.get_all("Set-Cookie") or [] if c.startswith(SESSION_COOKIE_NAME + "=")]
    assert len(cookies) == 1
    attributes = [a.strip().lower() for a in cookies[0].split(";")[1:]]
    assert "secure" in attributes
    assert "httponly" in attributes
    assert "samesite=lax" in attributes


def test_plain_http_scheme_and_no_secure_flag(serve: Serve) -> None:
    client = serve(_app())
    assert client.get("/scheme").text == "http"
    cookie = client.get("/session").header("Set-Cookie") or ""
    assert cookie.startswith(SESSION_COOKIE_NAME + "=")
    assert "secure" not in [a.strip().lower() for a in cookie.split(";")[1:]]
