"""gzip under one policy for controller bodies and static files, on every path.

Static files of a type in ``gzip_content_types`` go out gzip-coded to a client that accepts
it, compressed piece by piece, so with no Content-Length: chunked on HTTP/1.1 and until the
close on HTTP/1.0 on both socket drivers, framed by the server under ASGI (uvicorn) and WSGI
(wsgiref), and read back whole by the test client. The gzip representation has its own
ETag (``-gzip`` inside the quotes) and ``Vary: Accept-Encoding``, on its 304 too. Bodies are
gzipped whatever their size unless ``gzip_min_size`` says otherwise (naja-atra 1.2.2 had no
minimum). And an exception's text reaches an application's error page as ``explain``, never
the default page.
"""
from __future__ import annotations

import asyncio
import contextlib
import gzip
import http.client
import io
import threading
import wsgiref.simple_server
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, MutableMapping, Optional

import pytest

from naja_atra import Application, HttpError, StaticFile
from naja_atra.http.compression import GzipPieces
from naja_atra.http.file_response import FileChunks, gzip_etag
from naja_atra.testing.exchange import exchange

from ..support import STOP_TIMEOUT, WAIT, Client, uvicorn_serving

Serve = Callable[..., Client]

PAGE = "".join(f"line {i}: a static page worth compressing\n" for i in range(12000)).encode()  # ~500 KiB
TINY = b"hello, world"  # 12 bytes
BINARY = bytes(range(256)) * 64
GZIP = {"Accept-Encoding": "gzip"}
TYPES = {"text/plain", "text/html"}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "page.txt").write_bytes(PAGE)
    (folder / "tiny.txt").write_bytes(TINY)
    (folder / "data.bin").write_bytes(BINARY)
    return folder


def make_app(site: Path, **options: Any) -> Application:
    options.setdefault("gzip_content_types", TYPES)
    app = Application(load_entry_points=False, resources={"/static/*": str(site)}, **options)

    @app.route("/tiny")
    def tiny() -> str:
        return TINY.decode()

    @app.route("/file")
    def file() -> StaticFile:
        return StaticFile(str(site / "page.txt"), "text/plain; charset=utf-8")

    @app.route("/crash")
    def crash() -> str:
        raise Exception("some error occurs!")

    @app.route("/refused")
    def refused() -> str:
        raise HttpError(403, "Forbidden", "own explain")

    return app


def dechunk(data: bytes) -> tuple[bytes, bytes]:
    """A chunked body decoded, strictly; and the bytes after its end."""
    body = b""
    while True:
        line, sep, data = data.partition(b"\r\n")
        assert sep, "a chunk-size line ends with CRLF"
        size = int(line.split(b";")[0], 16)
        if size == 0:
            assert data.startswith(b"\r\n"), "the last chunk ends the body"
            return body, data[2:]
        assert data[size:size + 2] == b"\r\n"
        body += data[:size]
        data = data[size + 2:]


def split_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, sep, rest = raw.partition(b"\r\n\r\n")
    assert sep, raw[:200]
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split(" ")[1]), headers, rest


def identity_etag(site: Path, name: str = "page.txt") -> str:
    stat = (site / name).stat()
    return f'W/"{stat.st_size:x}-{stat.st_mtime_ns:x}"'


# -- the socket drivers ---------------------------------------------------------------------------
def test_static_file_is_gzipped_when_accepted(serve: Serve, site: Path) -> None:
    client = serve(make_app(site))
    reply = client.get("/static/page.txt", headers=GZIP)
    assert reply.status == 200
    assert reply.header("Content-Encoding") == "gzip"
    assert reply.header("Vary") == "Accept-Encoding"
    assert reply.header("Content-Length") is None
    assert reply.header("Transfer-Encoding") == "chunked"
    assert reply.header("Content-Type") == "text/plain; charset=utf-8"
    assert reply.header("ETag") == gzip_etag(identity_etag(site)) == identity_etag(site)[:-1] + '-gzip"'
    assert reply.header("Last-Modified") and reply.header("Cache-Control") == "no-cache"
    assert len(reply.body) < len(PAGE) // 10
    assert gzip.decompress(reply.body) == PAGE
    # A StaticFile returned by a controller is under the same policy.
    reply = client.get("/file", headers=GZIP)
    assert reply.header("Content-Encoding") == "gzip"
    assert gzip.decompress(reply.body) == PAGE


def test_gzipped_static_file_is_chunked_on_http11(serve: Serve, site: Path) -> None:
    client = serve(make_app(site))
    raw = client.raw(b"GET /static/page.txt HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n"
                     b"Connection: close\r\n\r\n")
    status, headers, rest = split_response(raw)
    assert status == 200
    assert headers["transfer-encoding"] == "chunked"
    assert "content-length" not in headers
    assert headers["content-encoding"] == "gzip"
    body, after = dechunk(rest)
    assert after == b""
    assert gzip.decompress(body) == PAGE


def test_gzipped_static_file_is_close_delimited_on_http10(serve: Serve, site: Path) -> None:
    client = serve(make_app(site))
    # Even when the HTTP/1.0 client asks to keep the connection: the body ends with it.
    for extra in (b"", b"Connection: keep-alive\r\n"):
        raw = client.raw(b"GET /static/page.txt HTTP/1.0\r\nAccept-Encoding: gzip\r\n" + extra + b"\r\n")
        status, headers, body = split_response(raw)
        assert status == 200
        assert "transfer-encoding" not in headers
        assert "content-length" not in headers
        assert headers["connection"] == "close"
        assert headers["content-encoding"] == "gzip"
        assert gzip.decompress(body) == PAGE


def test_keep_alive_goes_on_after_a_gzipped_file_and_its_head(serve: Serve, site: Path) -> None:
    client = serve(make_app(site))
    conn = client.connection()
    try:
        first = client.request("GET", "/static/page.txt", headers=GZIP, conn=conn)
        head = client.request("HEAD", "/static/page.txt", headers=GZIP, conn=conn)
        second = client.request("GET", "/tiny", conn=conn)
        third = client.request("GET", "/static/page.txt", headers=GZIP, conn=conn)
    finally:
        conn.close()
    assert gzip.decompress(first.body) == PAGE
    assert head.body == b""
    assert second.body == TINY
    assert gzip.decompress(third.body) == PAGE


def test_head_of_a_gzipped_static_file(serve: Serve, site: Path) -> None:
    client = serve(make_app(site))
    get = client.get("/static/page.txt", headers=GZIP)
    head = client.request("HEAD", "/static/page.txt", headers=GZIP)
    assert head.status == 200
    assert head.body == b""
    for name in ("Content-Type", "Content-Encoding", "Vary", "ETag", "Last-Modified", "Cache-Control",
                 "Transfer-Encoding", "Content-Length"):
        assert head.header(name) == get.header(name), name
    # On the wire: the head and nothing after it (no last chunk).
    raw = client.raw(b"HEAD /static/page.txt HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n"
                     b"Connection: close\r\n\r\n")
    status, headers, rest = split_response(raw)
    assert (status, rest) == (200, b"")
    assert headers["content-encoding"] == "gzip"


def test_conditional_get_of_a_gzipped_file(serve: Serve, site: Path) -> None:
    client = serve(make_app(site))
    plain_tag = identity_etag(site)
    gzip_tag = gzip_etag(plain_tag)
    # The gzip representation's own validator: 304, with that ETag and Vary.
    reply = client.get("/static/page.txt", headers={**GZIP, "If-None-Match": gzip_tag})
    assert (reply.status, reply.body) == (304, b"")
    assert reply.header("ETag") == gzip_tag
    assert reply.header("Vary") == "Accept-Encoding"
    assert reply.header("Content-Encoding") is None
    assert reply.header("Content-Length") is None
    # Strong form of the same tag (weak comparison), and in a list.
    strong = gzip_tag[2:]
    assert client.get("/static/page.txt", headers={**GZIP, "If-None-Match": strong}).status == 304
    listed = f'"other", {plain_tag}, {gzip_tag}'
    assert client.get("/static/page.txt", headers={**GZIP, "If-None-Match": listed}).status == 304
    # The identity validator for a client that gets identity: 304, identity ETag, no Vary.
    reply = client.get("/static/page.txt", headers={"If-None-Match": plain_tag})
    assert reply.status == 304
    assert reply.header("ETag") == plain_tag
    assert reply.header("Vary") is None
    # A validator of the other representation does not match the chosen one: the full answer.
    reply = client.get("/static/page.txt", headers={**GZIP, "If-None-Match": plain_tag})
    assert reply.status == 200
    assert reply.header("ETag") == gzip_tag
    assert gzip.decompress(reply.body) == PAGE
    reply = client.get("/static/page.txt", headers={"If-None-Match": gzip_tag})
    assert reply.status == 200
    assert reply.header("ETag") == plain_tag
    assert reply.header("Content-Length") == str(len(PAGE))
    assert reply.body == PAGE
    # If-Modified-Since: 304 for the gzip representation carries its ETag and Vary.
    last_modified = client.get("/static/page.txt").header("Last-Modified")
    assert last_modified
    reply = client.get("/static/page.txt", headers={**GZIP, "If-Modified-Since": last_modified})
    assert reply.status == 304
    assert (reply.header("ETag"), reply.header("Vary")) == (gzip_tag, "Accept-Encoding")


def test_static_file_without_gzip_stays_identity(serve: Serve, site: Path) -> None:
    client = serve(make_app(site))
    # A type the policy does not name.
    reply = client.get("/static/data.bin", headers=GZIP)
    assert reply.status == 200
    assert reply.header("Content-Encoding") is None
    assert reply.header("Vary") is None
    assert reply.header("Transfer-Encoding") is None
    assert reply.header("Content-Length") == str(len(BINARY))
    assert reply.header("ETag") == identity_etag(site, "data.bin")
    assert reply.body == BINARY
    # A client that does not accept gzip, or refuses it.
    for headers in ({}, {"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip;q=0"}):
        reply = client.get("/static/page.txt", headers=headers)
        assert reply.header("Content-Encoding") is None
        assert reply.header("Content-Length") == str(len(PAGE))
        assert reply.header("ETag") == identity_etag(site)
        assert reply.body == PAGE


def test_static_files_are_not_gzipped_without_a_policy(serve: Serve, site: Path) -> None:
    client = serve(make_app(site, gzip_content_types=()))
    reply = client.get("/static/page.txt", headers=GZIP)
    assert reply.header("Content-Encoding") is None
    assert reply.header("Content-Length") == str(len(PAGE))
    assert reply.body == PAGE


def test_a_12_byte_body_is_gzipped(serve: Serve, site: Path) -> None:
    client = serve(make_app(site))
    reply = client.get("/tiny", headers=GZIP)
    assert reply.header("Content-Encoding") == "gzip"
    assert reply.header("Vary") == "Accept-Encoding"
    assert reply.header("Content-Length") == str(len(reply.body))
    assert gzip.decompress(reply.body) == TINY
    reply = client.get("/static/tiny.txt", headers=GZIP)
    assert reply.header("Content-Encoding") == "gzip"
    assert gzip.decompress(reply.body) == TINY
    assert client.get("/tiny").body == TINY


def test_gzip_min_size_as_a_start_option(serve: Serve, site: Path) -> None:
    client = serve(make_app(site), gzip_min_size=100)
    reply = client.get("/tiny", headers=GZIP)
    assert reply.header("Content-Encoding") is None
    assert reply.body == TINY
    reply = client.get("/static/tiny.txt", headers=GZIP)
    assert reply.header("Content-Encoding") is None
    assert reply.header("Content-Length") == str(len(TINY))
    assert reply.header("ETag") == identity_etag(site, "tiny.txt")
    # At or above the minimum: gzipped.
    reply = client.get("/static/page.txt", headers=GZIP)
    assert reply.header("Content-Encoding") == "gzip"
    assert gzip.decompress(reply.body) == PAGE


def test_an_exception_text_reaches_a_user_page_as_explain(serve: Serve, site: Path) -> None:
    app = make_app(site)

    @app.error_message
    def page(code: int, message: str, explain: str = "") -> str:
        return f"{code}-{message}-{explain}"

    client = serve(app)
    reply = client.get("/crash")
    assert (reply.status, reply.text) == (500, "500-Internal Server Error-some error occurs!")
    # An HttpError keeps its own explain.
    assert client.get("/refused").text == "403-Forbidden-own explain"


def test_a_static_error_page_is_under_the_gzip_policy(serve: Serve, site: Path) -> None:
    app = make_app(site)
    (site / "404.html").write_bytes(b"<h1>gone</h1>" * 100)

    @app.error_message("404")
    def not_found() -> StaticFile:
        return StaticFile(str(site / "404.html"), "text/html")

    client = serve(app)
    reply = client.get("/nowhere", headers=GZIP)
    assert reply.status == 404
    assert reply.header("Content-Encoding") == "gzip"
    assert gzip.decompress(reply.body) == b"<h1>gone</h1>" * 100
    reply = client.get("/nowhere")
    assert (reply.status, reply.header("Content-Encoding")) == (404, None)
    assert reply.body == b"<h1>gone</h1>" * 100


def test_the_default_page_never_shows_an_exception_text(serve: Serve, site: Path) -> None:
    client = serve(make_app(site))
    for headers in ({}, {"Accept": "application/json"}):
        reply = client.get("/crash", headers=headers)
        assert reply.status == 500
        assert "some error occurs" not in reply.text
    assert client.get("/refused", headers={"Accept": "application/json"}).json()["explain"] == "own explain"


# -- the test client --------------------------------------------------------------------------------
def test_test_client_reads_a_gzipped_static_file(site: Path) -> None:
    client = make_app(site).test_client()
    r = client.get("/static/page.txt", headers=GZIP)
    assert r.status_code == 200
    assert r.headers["Content-Encoding"] == "gzip"
    assert r.headers["Transfer-Encoding"] == "chunked"
    assert r.headers.get("Content-Length") is None
    assert r.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(r.content) == PAGE
    assert r.text == PAGE.decode()
    assert not r.connection_close
    etag = r.headers["ETag"]
    assert etag == gzip_etag(identity_etag(site))
    r = client.get("/static/page.txt", headers={**GZIP, "If-None-Match": etag})
    assert (r.status_code, r.content, r.headers["ETag"], r.headers["Vary"]) == (304, b"", etag, "Accept-Encoding")
    r = client.head("/static/page.txt", headers=GZIP)
    assert (r.status_code, r.content) == (200, b"")
    assert r.headers["Content-Encoding"] == "gzip" and r.headers.get("Content-Length") is None
    r = client.get("/static/data.bin", headers=GZIP)
    assert r.headers.get("Content-Encoding") is None
    assert r.headers["Content-Length"] == str(len(BINARY))
    r = client.get("/tiny", headers=GZIP)
    assert r.headers["Content-Encoding"] == "gzip" and r.text == TINY.decode()


def test_test_client_frames_as_a_socket_on_http10(site: Path) -> None:
    app = make_app(site)
    raw = b"GET /static/page.txt HTTP/1.0\r\nAccept-Encoding: gzip\r\nConnection: keep-alive\r\n\r\n"
    r = exchange(app, raw, "http", "testserver", ("127.0.0.1", 1))
    assert r.status_code == 200
    assert r.connection_close
    assert r.headers["Connection"] == "close"
    assert r.headers.get("Transfer-Encoding") is None and r.headers.get("Content-Length") is None
    assert gzip.decompress(r.content) == PAGE


def test_test_client_min_size_and_explain(site: Path) -> None:
    app = make_app(site, gzip_min_size=13)
    assert app.gzip_min_size == 13

    @app.error_message("500")
    def page(code: int, message: str, explain: str = "") -> str:
        return f"{code}-{message}-{explain}"

    client = app.test_client()
    assert client.get("/tiny", headers=GZIP).headers.get("Content-Encoding") is None
    assert client.get("/static/tiny.txt", headers=GZIP).headers.get("Content-Encoding") is None
    assert client.get("/static/page.txt", headers=GZIP).headers["Content-Encoding"] == "gzip"
    assert client.get("/crash").text == "500-Internal Server Error-some error occurs!"
    assert make_app(site).test_client().get("/tiny", headers=GZIP).headers["Content-Encoding"] == "gzip"


# -- the compressed body itself ----------------------------------------------------------------------
def test_gzip_pieces_close_the_file(site: Path) -> None:
    chunks = FileChunks(str(site / "page.txt"), chunk_size=16 * 1024)
    pieces = GzipPieces(chunks, 6)
    first = next(pieces)
    assert first and not chunks.closed
    pieces.close()
    assert chunks.closed and pieces.closed
    assert list(pieces) == []
    # Read to the end: the file closes by itself; every piece is non-empty.
    chunks = FileChunks(str(site / "page.txt"), chunk_size=16 * 1024)
    out = list(GzipPieces(chunks, 6))
    assert chunks.closed
    assert all(out)
    assert gzip.decompress(b"".join(out)) == PAGE


# -- WSGI ---------------------------------------------------------------------------------------------
class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def wsgiref_serving(app: Application) -> Iterator[Client]:
    server = wsgiref.simple_server.make_server("127.0.0.1", 0, app.wsgi, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Client(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(STOP_TIMEOUT)
        app.wsgi.close()
    assert not thread.is_alive()


def test_wsgi_under_wsgiref(site: Path) -> None:
    app = make_app(site)

    @app.error_message
    def page(code: int, message: str, explain: str = "") -> str:
        return f"{code}-{message}-{explain}"

    with wsgiref_serving(app) as client:
        reply = client.get("/static/page.txt", headers=GZIP)
        assert reply.status == 200
        assert reply.header("Content-Encoding") == "gzip"
        assert reply.header("Vary") == "Accept-Encoding"
        assert reply.header("Content-Length") is None  # wsgiref: HTTP/1.0, until the close
        assert gzip.decompress(reply.body) == PAGE
        etag = reply.header("ETag")
        assert etag == gzip_etag(identity_etag(site))
        reply = client.get("/static/page.txt", headers={**GZIP, "If-None-Match": etag})
        assert (reply.status, reply.header("ETag"), reply.header("Vary")) == (304, etag, "Accept-Encoding")
        reply = client.get("/static/data.bin", headers=GZIP)
        assert reply.header("Content-Encoding") is None
        assert reply.header("Content-Length") == str(len(BINARY))
        assert reply.body == BINARY
        reply = client.get("/tiny", headers=GZIP)
        assert gzip.decompress(reply.body) == TINY
        assert client.get("/crash").text == "500-Internal Server Error-some error occurs!"


def _environ(method: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": io.BytesIO(b""), "wsgi.url_scheme": "http", "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
        "HTTP_HOST": "testserver",
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def test_wsgi_body_is_an_iterable_that_closes_the_file(site: Path) -> None:
    app = make_app(site)
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], Any]:
        started.append((status, headers))
        return lambda data: None

    result = app.wsgi(_environ("GET", "/static/page.txt", GZIP), start_response)
    status, headers = started[-1]
    names = {name.lower(): value for name, value in headers}
    assert status.startswith("200")
    assert names["content-encoding"] == "gzip" and "content-length" not in names
    assert "transfer-encoding" not in names  # the WSGI server frames it
    assert isinstance(result, GzipPieces)
    first = next(iter(result))
    assert first
    result.close()  # the server gives up early: the file is closed
    assert result.closed
    # HEAD: the headers of the GET, no body.
    body = app.wsgi(_environ("HEAD", "/static/page.txt", GZIP), start_response)
    status, headers = started[-1]
    assert b"".join(body) == b""
    names = {name.lower(): value for name, value in headers}
    assert names["content-encoding"] == "gzip" and "content-length" not in names
    app.wsgi.close()


# -- ASGI -----------------------------------------------------------------------------------------
class _Peer:
    """The server's side of one ASGI request, in memory."""

    def __init__(self) -> None:
        self.sent: list[MutableMapping[str, Any]] = []
        self._asked = False

    async def receive(self) -> dict[str, Any]:
        if not self._asked:
            self._asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(WAIT * 2)  # the client stays
        return {"type": "http.disconnect"}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        self.sent.append(message)

    def headers(self) -> dict[str, str]:
        start = self.sent[0]
        assert start["type"] == "http.response.start"
        return {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]}

    def status(self) -> int:
        return int(self.sent[0]["status"])

    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent[1:])


def _asgi(app: Application, method: str, path: str, headers: Iterable[tuple[str, str]] = ()) -> _Peer:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
        "headers": [(b"host", b"testserver")] + [(k.lower().encode(), v.encode()) for k, v in headers],
    }
    peer = _Peer()

    async def main() -> None:
        await asyncio.wait_for(app(scope, peer.receive, peer.send), WAIT)

    asyncio.run(main())
    return peer


def test_asgi_adapter_sends_a_gzipped_file_without_a_length(site: Path) -> None:
    app = make_app(site)
    peer = _asgi(app, "GET", "/static/page.txt", GZIP.items())
    headers = peer.headers()
    assert peer.status() == 200
    assert headers["content-encoding"] == "gzip" and headers["vary"] == "Accept-Encoding"
    assert "content-length" not in headers and "transfer-encoding" not in headers
    assert all(m["type"] == "http.response.body" for m in peer.sent[1:])
    assert [m.get("more_body", False) for m in peer.sent[1:]][-1] is False
    assert len(peer.sent) > 2  # piece by piece
    assert gzip.decompress(peer.body()) == PAGE
    etag = headers["etag"]
    peer = _asgi(app, "GET", "/static/page.txt", [*GZIP.items(), ("If-None-Match", etag)])
    assert peer.status() == 304 and peer.body() == b""
    assert peer.headers()["etag"] == etag and peer.headers()["vary"] == "Accept-Encoding"
    peer = _asgi(app, "HEAD", "/static/page.txt", GZIP.items())
    assert peer.status() == 200 and peer.body() == b""
    assert peer.headers()["content-encoding"] == "gzip" and "content-length" not in peer.headers()
    peer = _asgi(app, "GET", "/static/data.bin", GZIP.items())
    assert "content-encoding" not in peer.headers()
    assert peer.headers()["content-length"] == str(len(BINARY)) and peer.body() == BINARY
    peer = _asgi(app, "GET", "/tiny", GZIP.items())
    assert gzip.decompress(peer.body()) == TINY


def test_asgi_under_uvicorn(site: Path) -> None:
    with uvicorn_serving(make_app(site)) as port:
        client = Client(port)
        reply = client.get("/static/page.txt", headers=GZIP)
        assert reply.status == 200
        assert reply.header("Content-Encoding") == "gzip"
        assert reply.header("Content-Length") is None
        assert reply.header("Transfer-Encoding") == "chunked"  # uvicorn frames it
        assert gzip.decompress(reply.body) == PAGE
        etag: Optional[str] = reply.header("ETag")
        assert etag is not None
        assert client.get("/static/page.txt", headers={**GZIP, "If-None-Match": etag}).status == 304
        conn = client.connection()
        try:  # keep-alive across the chunked body
            assert gzip.decompress(client.request("GET", "/static/page.txt", headers=GZIP, conn=conn).body) == PAGE
            assert gzip.decompress(client.request("GET", "/tiny", headers=GZIP, conn=conn).body) == TINY
        finally:
            conn.close()


def test_http_client_reads_the_chunked_gzip_body_of_both_drivers_identically(serve: Serve, site: Path) -> None:
    """What a plain ``http.client`` user sees: the same bytes as the test client."""
    client = serve(make_app(site))
    conn = http.client.HTTPConnection("127.0.0.1", client.port, timeout=WAIT)
    try:
        conn.request("GET", "/static/page.txt", headers=GZIP)
        response = conn.getresponse()
        assert response.chunked
        over_socket = response.read()
    finally:
        conn.close()
    in_process = make_app(site).test_client().get("/static/page.txt", headers=GZIP).content
    assert gzip.decompress(over_socket) == gzip.decompress(in_process) == PAGE


# -- the pieces, unit by unit -------------------------------------------------------------------------
@pytest.mark.parametrize(("etag", "expected"), [
    ('W/"1a-2b"', 'W/"1a-2b-gzip"'),
    ('"v1"', '"v1-gzip"'),
    ('  "v1" ', '"v1-gzip"'),
    ("bare", "bare-gzip"),
])
def test_gzip_etag(etag: str, expected: str) -> None:
    assert gzip_etag(etag) == expected


def test_an_unsized_outgoing_is_framed_as_a_stream() -> None:
    from naja_atra.http.outgoing import Outgoing

    chunked = Outgoing(200, [("Content-Encoding", "gzip")], [b"x"], version="HTTP/1.1", unsized=True)
    framer = chunked.framer()
    assert framer is not None and framer.chunked and not chunked.close
    assert ("Transfer-Encoding", "chunked") in framer.headers(chunked.headers)
    http10 = Outgoing(200, [], [b"x"], version="HTTP/1.0", unsized=True)
    assert http10.close  # the body ends with the connection
    head = Outgoing(200, [], [], version="HTTP/1.1", unsized=True, head_only=True)
    framer = head.framer()
    assert framer is not None and framer.end() == b"" and framer.piece(b"x") == b""
    sized = Outgoing(200, [("Content-Length", "1")], [b"x"])
    assert sized.framer() is None and not sized.close


def test_gzip_policy_min_size_and_vary() -> None:
    from naja_atra.http.compression import GzipPolicy, vary_accept_encoding
    from naja_atra.http.response import ResponseHeaders

    class _Request:
        headers = {"Accept-Encoding": "gzip"}

    request: Any = _Request()
    assert GzipPolicy({"text/plain"}).wants(request, "text/plain; charset=utf-8", 1)
    assert not GzipPolicy({"text/plain"}).wants(request, "text/plain", 0)  # nothing to compress
    assert not GzipPolicy({"text/plain"}, min_size=10).wants(request, "text/plain", 9)
    assert GzipPolicy({"text/plain"}, min_size=10).wants(request, "text/plain", 10)
    assert GzipPolicy({"text/plain"}, min_size=10).wants(request, "text/plain")  # a stream: no size
    headers = ResponseHeaders({"Vary": "Origin"})
    vary_accept_encoding(headers)
    vary_accept_encoding(headers)
    assert headers["Vary"] == ["Origin", "Accept-Encoding"]
