"""Static files over real sockets (both drivers): every mapping form, validators and 304s,
traversal attempts on the wire, symlinks, HEAD, filters on static paths."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest

from naja_atra import Application, StaticFile
from naja_atra.app.context import FilterContext

from ..support import Client, exchange

Serve = Callable[..., Client]
SECRET = b"TOP-SECRET-CONTENT-42"
BIG = bytes(range(256)) * 1200  # 300 KiB, binary


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """``tmp_path/secret.txt`` next to the served folders; ``tmp_path/www`` is the main root."""
    (tmp_path / "secret.txt").write_bytes(SECRET)
    www = tmp_path / "www"
    (www / "css").mkdir(parents=True)
    (www / "sub" / "deep").mkdir(parents=True)
    (www / "private").mkdir()
    (www / "index.html").write_text("<h1>index</h1>")
    (www / "css" / "site.css").write_text("body{}")
    (www / "sub" / "deep" / "file.txt").write_text("deep file")
    (www / "private" / "p.txt").write_text("private")
    (www / "big.bin").write_bytes(BIG)
    (www / "hello world.txt").write_text("spaced")
    (www / "\u4e2d\u6587.txt").write_text("unicode name", encoding="utf-8")
    (www / "data.unknownext").write_bytes(b"?")
    one = tmp_path / "one"
    one.mkdir()
    (one / "a.txt").write_text("one-a")
    (one / "nested").mkdir()
    (one / "nested" / "b.txt").write_text("one-nested-b")
    styles = tmp_path / "styles"
    (styles / "x").mkdir(parents=True)
    (styles / "top.css").write_text("top-css")
    (styles / "x" / "inner.css").write_text("inner-css")
    scripts = tmp_path / "scripts"
    (scripts / "lib").mkdir(parents=True)
    (scripts / "app.js").write_text("app-js")
    (scripts / "lib" / "util.js").write_text("util-js")
    (scripts / "lib" / "notes.txt").write_text("not js")
    plain = tmp_path / "plain"
    (plain / "d").mkdir(parents=True)
    (plain / "p.txt").write_text("plain-p")
    (plain / "d" / "q.txt").write_text("plain-q")
    return tmp_path


def _app(site: Path) -> Application:
    app = Application()

    @app.route("/api/hello")
    def hello() -> str:
        return "hello"

    @app.route("/download")
    def download() -> StaticFile:
        return StaticFile(str(site / "www" / "sub" / "deep" / "file.txt"), "text/plain; charset=utf-8")

    return app


def _resources(site: Path) -> dict[str, str]:
    return {
        "/static/**": str(site / "www"),
        "/one/*": str(site / "one"),
        "*.css": str(site / "styles"),
        "**.js": str(site / "scripts"),
        "/plain": str(site / "plain"),
    }


def _raw_get(client: Client, target: str, method: str = "GET") -> bytes:
    return client.raw(f"{method} {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode("latin-1"))


def _status(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1])


def test_deep_prefix_mapping(serve: Serve, site: Path) -> None:
    client = serve(_app(site), resources=_resources(site))
    reply = client.get("/static/index.html")
    assert (reply.status, reply.text) == (200, "<h1>index</h1>")
    assert reply.header("Content-Type") == "text/html; charset=utf-8"
    assert reply.header("Content-Length") == str(len("<h1>index</h1>"))
    reply = client.get("/static/sub/deep/file.txt")
    assert (reply.status, reply.text) == (200, "deep file")
    assert (reply.header("Content-Type") or "").startswith("text/plain")
    reply = client.get("/static/big.bin")
    assert reply.status == 200
    assert reply.body == BIG
    # Routes still win and still work.
    assert client.get("/api/hello").text == "hello"


def test_one_segment_mapping(serve: Serve, site: Path) -> None:
    client = serve(_app(site), resources=_resources(site))
    assert client.get("/one/a.txt").text == "one-a"
    assert client.get("/one/nested/b.txt").status == 404


def test_suffix_mapping(serve: Serve, site: Path) -> None:
    client = serve(_app(site), resources=_resources(site))
    reply = client.get("/top.css")
    assert (reply.status, reply.text) == (200, "top-css")
    assert (reply.header("Content-Type") or "").startswith("text/css")
    assert client.get("/x/inner.css").status == 404  # "*.css" is one segment deep


def test_deep_suffix_mapping(serve: Serve, site: Path) -> None:
    client = serve(_app(site), resources=_resources(site))
    assert client.get("/app.js").text == "app-js"
    reply = client.get("/lib/util.js")
    assert (reply.status, reply.text) == (200, "util-js")
    assert (reply.header("Content-Type") or "").startswith("text/javascript")
    assert client.get("/lib/notes.txt").status == 404


def test_plain_prefix_mapping(serve: Serve, site: Path) -> None:
    client = serve(_app(site), resources=_resources(site))
    assert client.get("/plain/p.txt").text == "plain-p"
    assert client.get("/plain/d/q.txt").text == "plain-q"


def test_names_with_spaces_and_unicode(serve: Serve, site: Path) -> None:
    client = serve(_app(site), resources=_resources(site))
    assert client.get("/static/hello%20world.txt").text == "spaced"
    assert client.get("/static/%E4%B8%AD%E6%96%87.txt").text == "unicode name"
    reply = client.get("/static/data.unknownext")
    assert (reply.status, reply.body) == (200, b"?")
    assert reply.header("Content-Type") == "application/octet-stream"


def test_missing_files_and_directories_are_404(serve: Serve, site: Path) -> None:
    client = serve(_app(site), resources=_resources(site))
    for path in ("/static/nope.html", "/static/sub", "/static/sub/", "/static/", "/static",
                 "/one/", "/nothing.css"):
        reply = client.get(path)
        assert reply.status == 404, path
    # Repeated slashes are merged before routing (filters must see the same path), so this
    # is the same file as /static/index.html rather than a way around the mapping.
    assert client.get("/static//index.html").body == client.get("/static/index.html").body


def test_etag_last_modified_and_304(serve: Serve, site: Path) -> None:
    client = serve(_app(site), resources=_resources(site))
    reply = client.get("/static/index.html")
    etag = reply.header("ETag")
    last_modified = reply.header("Last-Modified")
    assert etag and last_modified
    assert etag.endswith('"')
    reply = client.get("/static/index.html", headers={"If-None-Match": etag})
    assert (reply.status, reply.body) == (304, b"")
    assert reply.header("ETag") == etag
    reply = client.get("/static/index.html", headers={"If-None-Match": f'"other", {etag}'})
    assert reply.status == 304
    reply = client.get("/static/index.html", headers={"If-None-Match": '"not-the-tag"'})
    assert (reply.status, reply.text) == (200, "<h1>index</h1>")
    reply = client.get("/static/index.html", headers={"If-Modified-Since": last_modified})
    assert (reply.status, reply.body) == (304, b"")
    reply = client.get("/static/index.html", headers={"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"})
    assert (reply.status, reply.text) == (200, "<h1>index</h1>")
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.1.3).
    reply = client.get("/static/index.html", headers={"If-None-Match": '"not-the-tag"',
                                                      "If-Modified-Since": last_modified})
    assert reply.status == 200


def test_a_changed_file_gets_a_new_etag(serve: Serve, site: Path) -> None:
    client = serve(_app(site), resources=_resources(site))
    etag = client.get("/static/index.html").header("ETag")
    target = site / "www" / "index.html"
    target.write_text("<h1>changed, longer</h1>")
    stat = target.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    reply = client.get("/static/index.html", headers={"If-None-Match": etag or ""})
    assert (reply.status, reply.text) == (200, "<h1>changed, longer</h1>")
    assert reply.header("ETag") != etag


def test_static_file_returned_by_a_controller(serve: Serve, site: Path) -> None:
    client = serve(_app(site))
    reply = client.get("/download")
    assert (reply.status, reply.text) == (200, "deep file")
    assert reply.header("Content-Type") == "text/plain; charset=utf-8"
    etag = reply.header("ETag")
    assert etag
    assert client.get("/download", headers={"If-None-Match": etag}).status == 304


TRAVERSALS = [
    "/static/../secret.txt",
    "/static/../../secret.txt",
    "/static/%2e%2e/secret.txt",
    "/static/%2E%2E/secret.txt",
    "/static/..%2fsecret.txt",
    "/static/%2e%2e%2fsecret.txt",
    "/static/sub/../../secret.txt",
    "/static/..%5csecret.txt",
    "/static/%5c..%5csecret.txt",
    "/static/..\\secret.txt",
    "/static/%00../secret.txt",
    "/static/index.html%00",
    "/static/..%00/secret.txt",
    "/static/.%2e/secret.txt",
    "/plain/../secret.txt",
    "/one/..%2fsecret.txt",
    "/..%2fsecret.txt",
    "/%2e%2e/secret.txt.js",
    "/static/%252e%252e/secret.txt",
    "/static/%2fetc%2fpasswd",
    "/static/%2f" + "..%2f" * 8 + "etc%2fpasswd",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_traversal_over_the_wire_never_serves_the_secret(serve: Serve, site: Path, target: str) -> None:
    # A file the "**.js" rule would serve if ".." escaped its root.
    (site / "secret.txt.js").write_bytes(SECRET)
    client = serve(_app(site), resources=_resources(site))
    raw = _raw_get(client, target)
    assert raw.startswith(b"HTTP/1.1 "), raw[:100]
    assert _status(raw) in (400, 404), (target, raw[:200])
    assert SECRET not in raw
    assert b"root:" not in raw


def test_symlink_inside_the_root_pointing_outside_is_404(serve: Serve, site: Path) -> None:
    www = site / "www"
    try:
        os.symlink(site / "secret.txt", www / "leak.txt")
        os.symlink(site, www / "up")
        os.symlink(www / "index.html", www / "alias.html")
    except (OSError, NotImplementedError):
        pytest.skip("symlinks are not available here")
    client = serve(_app(site), resources=_resources(site))
    for path in ("/static/leak.txt", "/static/up/secret.txt"):
        reply = client.get(path)
        assert reply.status == 404, path
        assert SECRET not in reply.body
    # A link that stays inside the root is fine.
    assert client.get("/static/alias.html").text == "<h1>index</h1>"


def test_head_on_a_static_file(serve: Serve, site: Path) -> None:
    client = serve(_app(site), resources=_resources(site))
    raw = _raw_get(client, "/static/big.bin", method="HEAD")
    head, sep, body = raw.partition(b"\r\n\r\n")
    assert sep
    assert head.startswith(b"HTTP/1.1 200 ")
    assert f"content-length: {len(BIG)}".encode() in head.lower()
    assert body == b""
    reply = client.request("HEAD", "/static/index.html")
    assert (reply.status, reply.body) == (200, b"")
    assert reply.header("Content-Length") == str(len("<h1>index</h1>"))


def test_keep_alive_after_a_static_file(serve: Serve, site: Path) -> None:
    client = serve(_app(site), resources=_resources(site))
    conn = client.connection()
    try:
        assert client.request("GET", "/static/big.bin", conn=conn).body == BIG
        assert client.request("GET", "/static/index.html", conn=conn).text == "<h1>index</h1>"
        assert client.request("GET", "/api/hello", conn=conn).text == "hello"
    finally:
        conn.close()


def test_a_filter_on_static_paths_runs_for_static_files(serve: Serve, site: Path) -> None:
    app = _app(site)
    seen: list[str] = []

    @app.request_filter("/static/**")
    def static_filter(ctx: FilterContext) -> None:
        seen.append(ctx.request.path)
        if ctx.request.path.startswith("/static/private/"):
            ctx.response.send_error(403, "private")
            return
        ctx.response.add_header("X-Static-Filter", "yes")
        ctx.do_chain()

    client = serve(app, resources=_resources(site))
    reply = client.get("/static/index.html")
    assert (reply.status, reply.text) == (200, "<h1>index</h1>")
    assert reply.header("X-Static-Filter") == "yes"
    reply = client.get("/static/private/p.txt")
    assert reply.status == 403
    assert b"private" != reply.body
    assert client.get("/one/a.txt").header("X-Static-Filter") is None
    assert seen == ["/static/index.html", "/static/private/p.txt"]


def test_post_to_a_static_file_is_not_served(serve: Serve, site: Path) -> None:
    client = serve(_app(site), resources=_resources(site))
    reply = client.post("/static/index.html", body=b"x")
    assert reply.status in (404, 405)
    assert b"<h1>index</h1>" not in reply.body


def test_static_file_deleted_between_requests(serve: Serve, site: Path) -> None:
    client = serve(_app(site), resources=_resources(site))
    assert client.get("/plain/p.txt").status == 200
    (site / "plain" / "p.txt").unlink()
    assert client.get("/plain/p.txt").status == 404


def test_raw_socket_helper_sanity(serve: Serve, site: Path) -> None:
    """The traversal test relies on raw requests reaching the static files at all."""
    client = serve(_app(site), resources=_resources(site))
    raw = _raw_get(client, "/static/%69ndex.html")
    assert _status(raw) == 200
    assert raw.endswith(b"<h1>index</h1>")
    data, closed = exchange(client.port, b"GET /static/index.html HTTP/1.0\r\n\r\n")
    assert closed  # an HTTP/1.0 response ends with the connection
    assert data.startswith(b"HTTP/1.0 200 ") or data.startswith(b"HTTP/1.1 200 ")
