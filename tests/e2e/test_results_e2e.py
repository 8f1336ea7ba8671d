"""End to end: what a controller may return: dict, str, bytes, StaticFile,
Response, Redirect, tuples, HttpError, streamed ``write_bytes``; and keep-alive; over real
sockets, on both drivers."""

import asyncio
import datetime
import os
from typing import Any, Callable

import pytest

from naja_atra import (
    Application,
    Cookie,
    Cookies,
    Header,
    Headers,
    HttpError,
    Redirect,
    Request,
    Response,
    StaticFile,
)

from ..support import exchange

Serve = Callable[..., Any]


def split_response(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    """Status line, headers (lower-case names) and body of one raw response."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    assert sep, raw[:200]
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers, body


def dechunk(body: bytes) -> tuple[bytes, bytes]:
    """Decode a chunked body; returns (payload, bytes after the last chunk)."""
    payload = b""
    while True:
        size_line, sep, rest = body.partition(b"\r\n")
        assert sep, f"truncated chunk framing: {body!r}"
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            assert rest.startswith(b"\r\n"), f"bad trailer: {rest!r}"
            return payload, rest[2:]
        payload += rest[:size]
        assert rest[size:size + 2] == b"\r\n", f"chunk not terminated: {rest!r}"
        body = rest[size + 2:]


# -- bodies ---------------------------------------------------------------------------------


def bodies_app(static_path: str) -> Application:
    app = Application()

    @app.route("/dict")
    def as_dict() -> dict[str, Any]:
        return {"code": 0, "message": "success", "中文": [1, 2]}

    @app.route("/str")
    def as_str() -> str:
        return "<!DOCTYPE html><html><body>hello, 世界</body></html>"

    @app.route("/bytes")
    def as_bytes() -> bytes:
        return b"\x00\x01binary\xff"

    @app.route("/static")
    def static() -> StaticFile:
        return StaticFile(static_path, "text/plain; charset=utf-8")

    @app.route("/static/missing")
    def static_missing() -> StaticFile:
        return StaticFile(static_path + ".nope", "text/plain")

    @app.route("/error")
    def my_ctrl3() -> Response:
        return Response(status_code=500)

    @app.route("/response")
    def full_response() -> Response:
        return Response(status_code=201, headers={"X-Made": "yes", "Content-Type": "text/plain; charset=utf-8"},
                        body="created")

    @app.route("/response/json")
    def json_response() -> Response:
        return Response(status_code=202, body={"accepted": True})

    @app.route("/redirect")
    def redirect() -> Redirect:
        return Redirect("/index")

    @app.route("/redirect/absolute")
    def redirect_absolute() -> Redirect:
        return Redirect("https://example.com/a?b=c")

    @app.route("/index")
    def index() -> dict[str, Any]:
        return {"index": True}

    return app


@pytest.fixture
def static_file(tmp_path: Any) -> Any:
    path = tmp_path / "hello.txt"
    path.write_bytes("static 文件\n".encode() * 50)
    return path


def test_dict_is_json(serve: Serve, static_file: Any) -> None:
    client = serve(bodies_app(str(static_file)))
    r = client.get("/dict")
    assert r.status == 200
    assert r.header("Content-Type") == "application/json; charset=utf-8"
    assert r.json() == {"code": 0, "message": "success", "中文": [1, 2]}
    assert r.header("Content-Length") == str(len(r.body))


def test_str_is_html(serve: Serve, static_file: Any) -> None:
    client = serve(bodies_app(str(static_file)))
    r = client.get("/str")
    assert r.status == 200
    assert r.header("Content-Type") == "text/html; charset=utf-8"
    assert r.body == "<!DOCTYPE html><html><body>hello, 世界</body></html>".encode()
    assert r.header("Content-Length") == str(len(r.body))


def test_bytes(serve: Serve, static_file: Any) -> None:
    client = serve(bodies_app(str(static_file)))
    r = client.get("/bytes")
    assert r.status == 200
    assert r.header("Content-Type") == "application/octet-stream"
    assert r.body == b"\x00\x01binary\xff"


def test_static_file_and_conditional_requests(serve: Serve, static_file: Any) -> None:
    client = serve(bodies_app(str(static_file)))
    r = client.get("/static")
    assert r.status == 200
    assert r.header("Content-Type") == "text/plain; charset=utf-8"
    assert r.body == static_file.read_bytes()
    assert r.header("Content-Length") == str(static_file.stat().st_size)
    etag, last_modified = r.header("ETag"), r.header("Last-Modified")
    assert etag and etag.endswith('"')
    assert last_modified and last_modified.endswith("GMT")

    by_etag = client.get("/static", headers={"If-None-Match": etag})
    assert by_etag.status == 304
    assert by_etag.body == b""
    assert by_etag.header("ETag") == etag

    by_date = client.get("/static", headers={"If-Modified-Since": last_modified})
    assert by_date.status == 304
    assert by_date.body == b""

    other = client.get("/static", headers={"If-None-Match": '"something-else"'})
    assert other.status == 200
    assert other.body == static_file.read_bytes()

    head = client.request("HEAD", "/static")
    assert head.status == 200
    assert head.body == b""
    assert head.header("Content-Length") == str(static_file.stat().st_size)


def test_static_file_changed_is_sent_again(serve: Serve, static_file: Any) -> None:
    client = serve(bodies_app(str(static_file)))
    first = client.get("/static")
    static_file.write_bytes(b"new content")
    stat = static_file.stat()
    os.utime(static_file, (stat.st_atime, stat.st_mtime + 10))
    r = client.get("/static", headers={"If-None-Match": first.header("ETag") or ""})
    assert (r.status, r.body) == (200, b"new content")
    assert r.header("ETag") != first.header("ETag")


def test_missing_static_file_is_404(serve: Serve, static_file: Any) -> None:
    client = serve(bodies_app(str(static_file)))
    assert client.get("/static/missing").status == 404


def test_response_objects(serve: Serve, static_file: Any) -> None:
    client = serve(bodies_app(str(static_file)))
    r = client.get("/error")
    assert r.status == 500
    r = client.get("/response")
    assert (r.status, r.text) == (201, "created")
    assert r.header("X-Made") == "yes"
    assert r.header("Content-Type") == "text/plain; charset=utf-8"
    r = client.get("/response/json")
    assert r.status == 202
    assert r.header("Content-Type") == "application/json; charset=utf-8"
    assert r.json() == {"accepted": True}


def test_redirect(serve: Serve, static_file: Any) -> None:
    client = serve(bodies_app(str(static_file)))
    r = client.get("/redirect")
    assert r.status == 302
    assert r.header("Location") == "/index"
    r = client.get("/redirect/absolute")
    assert r.status == 302
    assert r.header("Location") == "https://example.com/a?b=c"


# -- tuples ---------------------------------------------------------------------------------


def tuples_app() -> Application:
    app = Application()

    @app.route("/tuple")
    def tuple_results() -> Any:
        return 200, Headers({"my-header": "headers"}), {"success": True}

    @app.route("/tuple/reversed")
    def reversed_order() -> Any:
        return {"created": 1}, Headers({"x-one": "1"}), 201, Headers({"x-two": "2"})

    @app.route("/tuple/status-and-str")
    def status_and_str() -> Any:
        return "<html><body>accepted</body></html>", 202

    @app.route("/tuple/first-int-wins")
    def first_int() -> Any:
        return 418, "teapot", 500

    @app.route("/tuple/no-body")
    def no_body() -> Any:
        return 204, Headers({"X-Empty": "yes"})

    @app.request_map("tuple_cookie")
    def tuple_with_cookies(all_cookies: Any = Cookies(), cookie_sc: Any = Cookie("sc")) -> Any:
        assert cookie_sc.value == all_cookies["sc"].value == "1"
        expires = datetime.datetime(2018, 12, 31)
        cks = Cookies()
        cks["ck1"] = "keijack"
        cks["ck1"]["path"] = "/"
        cks["ck1"]["expires"] = expires.strftime(Cookies.EXPIRE_DATE_FORMAT)
        return Headers({"xx": "yyy"}), cks, "<html><body>OK</body></html>"

    @app.request_map("tuple_cookie_spec")
    def spec_tuple_with_cookies() -> Any:
        # 1.x code spells it ``Header({...})`` (singular): the body must still be the html.
        cks = Cookies()
        cks["ck1"] = "keijack"
        cks["ck1"]["path"] = "/"
        return Header({"xx": "yyy"}), cks, "<html><body>OK</body></html>"

    return app


def test_tuple_status_headers_body(serve: Serve) -> None:
    client = serve(tuples_app())
    r = client.get("/tuple")
    assert r.status == 200
    assert r.header("my-header") == "headers"
    assert r.header("Content-Type") == "application/json; charset=utf-8"
    assert r.json() == {"success": True}


def test_tuple_in_any_order(serve: Serve) -> None:
    client = serve(tuples_app())
    r = client.get("/tuple/reversed")
    assert r.status == 201
    assert (r.header("x-one"), r.header("x-two")) == ("1", "2")
    assert r.json() == {"created": 1}
    r = client.get("/tuple/status-and-str")
    assert (r.status, r.text) == (202, "<html><body>accepted</body></html>")
    assert r.header("Content-Type") == "text/html; charset=utf-8"
    r = client.get("/tuple/first-int-wins")
    assert (r.status, r.text) == (418, "teapot")


def test_tuple_without_body(serve: Serve) -> None:
    client = serve(tuples_app())
    r = client.get("/tuple/no-body")
    assert (r.status, r.body) == (204, b"")
    assert r.header("X-Empty") == "yes"


def test_tuple_with_cookies_sets_cookies(serve: Serve) -> None:
    client = serve(tuples_app())
    r = client.get("/tuple_cookie", headers={"Cookie": "sc=1"})
    assert r.status == 200
    assert r.text == "<html><body>OK</body></html>"
    assert r.header("xx") == "yyy"
    cookies = r.headers.get_all("Set-Cookie")
    assert cookies is not None and len(cookies) == 1
    parts = [p.strip() for p in cookies[0].split(";")]
    assert parts[0] == "ck1=keijack"
    assert "Path=/" in parts
    assert "expires=Mon, 31 Dec 2018 00:00:00 GMT" in parts


def test_spec_tuple_with_header_marker_keeps_the_body(serve: Serve) -> None:
    client = serve(tuples_app())
    r = client.get("/tuple_cookie_spec")
    assert r.status == 200
    assert r.text == "<html><body>OK</body></html>"
    assert (r.header("Set-Cookie") or "").startswith("ck1=keijack")


# -- HttpError ------------------------------------------------------------------------------


def errors_app() -> Application:
    app = Application()

    @app.request_map("/exception")
    def exception_ctrl() -> str:
        raise HttpError(400, "Exception")

    @app.route("/raised")
    def raised() -> str:
        raise HttpError(403, "Forbidden Here", "You may not see this page.")

    @app.route("/returned")
    def returned() -> HttpError:
        return HttpError(409, "Conflict Here", "It clashed.")

    @app.route("/raised/async")
    async def raised_async() -> str:
        await asyncio.sleep(0)
        raise HttpError(451, "Unavailable Here", "Legal reasons.")

    @app.route("/crash")
    def crash() -> str:
        raise RuntimeError("boom")

    @app.route("/ok")
    def ok() -> str:
        return "ok"

    return app


@pytest.mark.parametrize(("path", "code", "message", "explain"), [
    ("/exception", 400, "Exception", ""),
    ("/raised", 403, "Forbidden Here", "You may not see this page."),
    ("/returned", 409, "Conflict Here", "It clashed."),
    ("/raised/async", 451, "Unavailable Here", "Legal reasons."),
])
def test_http_error(serve: Serve, path: str, code: int, message: str, explain: str) -> None:
    client = serve(errors_app())
    r = client.get(path)
    assert r.status == code
    assert message in r.text
    assert explain in r.text


def test_unhandled_exception_is_500_and_server_keeps_serving(serve: Serve) -> None:
    client = serve(errors_app())
    r = client.get("/crash")
    assert r.status == 500
    assert b"boom" not in r.body  # internals are not leaked
    assert client.get("/ok").text == "ok"


# -- streaming with write_bytes ---------------------------------------------------------------


def stream_app() -> Application:
    app = Application()

    @app.route("/res/write/bytes")
    def res_writer(response: Response) -> None:
        response.status_code = 200
        response.add_header("Content-Type", "application/octet-stream")
        response.write_bytes(b"abcd")
        response.write_bytes(bytearray(b"efg"))
        response.close()

    @app.route("/res/write/async")
    async def res_writer_async(response: Response) -> None:
        response.add_header("Content-Type", "text/plain")
        for part in (b"one ", b"two ", b"three"):
            response.write_bytes(part)
            await asyncio.sleep(0)
        response.close()

    @app.route("/res/write/no-close")
    def res_writer_no_close(response: Response) -> None:
        response.write_bytes(b"not closed")

    @app.route("/index")
    def index() -> dict[str, Any]:
        return {"index": True}

    return app


def test_write_bytes_is_chunked_on_http_1_1(serve: Serve) -> None:
    client = serve(stream_app())
    raw, closed = exchange(
        client.port, b"GET /res/write/bytes HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert closed
    status, headers, body = split_response(raw)
    assert status.startswith("HTTP/1.1 200")
    assert headers["transfer-encoding"] == "chunked"
    assert "content-length" not in headers
    assert headers["content-type"] == "application/octet-stream"
    payload, rest = dechunk(body)
    assert payload == b"abcdefg"
    assert rest == b""


def test_write_bytes_through_http_client(serve: Serve) -> None:
    client = serve(stream_app())
    r = client.get("/res/write/bytes")
    assert (r.status, r.body) == (200, b"abcdefg")
    r = client.get("/res/write/async")
    assert (r.status, r.body) == (200, b"one two three")
    r = client.get("/res/write/no-close")
    assert (r.status, r.body) == (200, b"not closed")


def test_write_bytes_on_http_1_0_is_unframed_and_closes(serve: Serve) -> None:
    client = serve(stream_app())
    raw, closed = exchange(client.port, b"GET /res/write/bytes HTTP/1.0\r\nHost: t\r\n\r\n")
    assert closed, "the end of an unframed body must be the end of the connection"
    status, headers, body = split_response(raw)
    assert status.split(" ")[1] == "200"
    assert "transfer-encoding" not in headers
    assert "content-length" not in headers
    assert body == b"abcdefg"


def test_write_bytes_then_keep_alive(serve: Serve) -> None:
    client = serve(stream_app())
    conn = client.connection()
    try:
        assert client.request("GET", "/res/write/bytes", conn=conn).body == b"abcdefg"
        sock = conn.sock
        assert sock is not None
        assert client.request("GET", "/res/write/async", conn=conn).body == b"one two three"
        assert client.request("GET", "/index", conn=conn).json() == {"index": True}
        assert conn.sock is sock
    finally:
        conn.close()


# -- keep-alive -----------------------------------------------------------------------------


def test_keep_alive_serves_several_requests_on_one_connection(serve: Serve) -> None:
    app = Application()

    @app.route("/whoami", method=["GET", "POST"])
    def whoami(req: Request, n: int = 0) -> dict[str, Any]:
        assert req.client_address is not None
        return {"port": req.client_address[1], "n": n, "body": req.body.decode()}

    client = serve(app)
    conn = client.connection()
    try:
        first = client.request("GET", "/whoami?n=1", conn=conn)
        sock = conn.sock
        assert sock is not None
        replies = [first]
        replies.append(client.request("POST", "/whoami?n=2", body=b"payload", conn=conn))
        replies.append(client.request("GET", "/nope", conn=conn))
        replies.append(client.request("GET", "/whoami?n=4", conn=conn))
        assert conn.sock is sock, "the server closed a keep-alive connection"
    finally:
        conn.close()
    assert [r.status for r in replies] == [200, 200, 404, 200]
    ports = {replies[i].json()["port"] for i in (0, 1, 3)}
    assert len(ports) == 1
    assert [replies[i].json()["n"] for i in (0, 1, 3)] == [1, 2, 4]
    assert replies[1].json()["body"] == "payload"


def test_pipelined_requests_are_answered_in_order(serve: Serve) -> None:
    app = Application()

    @app.route("/echo")
    def echo(v: str) -> str:
        return v

    client = serve(app)
    raw, closed = exchange(client.port, b"GET /echo?v=first HTTP/1.1\r\nHost: t\r\n\r\n"
                                                b"GET /echo?v=second HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert closed
    first_end = raw.index(b"first") + len(b"first")
    assert raw[:first_end].startswith(b"HTTP/1.1 200")
    assert raw[first_end:].startswith(b"HTTP/1.1 200")
    assert raw.endswith(b"second")
