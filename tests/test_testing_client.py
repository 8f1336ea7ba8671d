"""The in-process test client (``naja_atra.testing``) against real applications: the whole
request path (filters, routing, injection, sessions, error pages, streaming) without a socket."""
from __future__ import annotations

import asyncio
import contextlib
import gzip
import io
from typing import Any, Iterator, Optional

import pytest

from naja_atra import (
    SESSION_COOKIE_NAME,
    Application,
    Header,
    JSONBody,
    MultipartFile,
    Parameter,
    PathValue,
    Request,
    Response,
    Session,
    hookimpl,
)
from naja_atra.app.context import FilterContext
from naja_atra.http.wire import error_bytes
from naja_atra.testing import IncompleteResponse, TestClient, TooManyRedirects


def _client(app: Application, **options: Any) -> TestClient:
    return TestClient(app, **options)


# -- requests and their arguments --------------------------------------------------------------
def test_get_sends_params_headers_and_the_test_client_address() -> None:
    app = Application()

    @app.route("/echo/{name}")
    def echo(request: Request, name: PathValue,
             tag: str = Header("X-Tag", default="")) -> dict[str, Any]:
        return {"name": name, "params": request.parameters, "tag": tag, "host": request.host,
                "client": list(request.client_address or ()), "scheme": request.scheme,
                "path": request.path, "ua": request.headers.get("User-Agent")}

    r = _client(app).get("/echo/caf\u00e9?z=\u00e9+1", params={"a": "1", "b": ["x", "y z"]},
                         headers={"X-Tag": "t1"})
    assert r.status_code == 200 and r.reason == "OK"
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["name"] == "caf\u00e9" and body["path"] == "/echo/caf\u00e9"
    assert body["params"] == {"z": ["\u00e9 1"], "a": ["1"], "b": ["x", "y z"]}
    assert body["tag"] == "t1"
    assert body["host"] == "testserver" and body["scheme"] == "http"
    assert body["client"] == ["testclient", 50000]
    assert body["ua"] == "naja-atra-testclient"
    assert r.url == "http://testserver/echo/caf%C3%A9?z=%C3%A9+1&a=1&b=x&b=y+z"


def test_base_url_sets_scheme_host_and_path_prefix() -> None:
    app = Application()

    @app.route("/api/where")
    def where(request: Request) -> str:
        return f"{request.scheme} {request.host} {request.path}"

    r = TestClient(app, base_url="https://example.org:8443/api").get("/where")
    assert r.text == "https example.org:8443 /api/where"


def test_json_post_reaches_a_json_body() -> None:
    app = Application()

    @app.route("/json", method="POST")
    def json_body(data: JSONBody, request: Request) -> dict[str, Any]:
        return {"got": data, "type": request.content_type}

    r = _client(app).post("/json", json={"a": 1, "b": "\u4e2d\u6587", "c": [1, 2]})
    assert r.status_code == 200
    assert r.json() == {"got": {"a": 1, "b": "\u4e2d\u6587", "c": [1, 2]}, "type": "application/json"}


def test_form_post_is_urlencoded() -> None:
    app = Application()

    @app.route("/form", method="POST")
    def form(request: Request, user: str = Parameter("user"), n: int = 0) -> dict[str, Any]:
        return {"user": user, "n": n, "type": request.content_type, "all": request.parameters}

    r = _client(app).post("/form", data={"user": "k & \u00e9", "n": "3", "multi": ["1", "2"]})
    assert r.json() == {"user": "k & \u00e9", "n": 3, "type": "application/x-www-form-urlencoded",
                        "all": {"user": ["k & \u00e9"], "n": ["3"], "multi": ["1", "2"]}}


def test_multipart_upload_with_a_non_ascii_filename_reaches_a_multipart_file() -> None:
    app = Application()

    @app.route("/upload", method="POST")
    def upload(request: Request, doc: Any = MultipartFile("doc"), title: str = "") -> dict[str, Any]:
        raw = request.body.decode("utf-8", "replace")
        return {"filename": doc.filename, "type": doc.content_type, "content": doc.content.decode("utf-8"),
                "title": title, "files": sorted(request.files), "star": "filename*=UTF-8''" in raw}

    client = _client(app)
    files = {"doc": ("r\u00e9sum\u00e9 \u4e2d.txt", b"hello \r\n--not-a-boundary", "text/plain"),
             "raw": b"\x00\x01"}
    r = client.post("/upload", data={"title": "\u00e9t\u00e9"}, files=files)
    assert r.status_code == 200, r.text
    assert r.json() == {"filename": "r\u00e9sum\u00e9 \u4e2d.txt", "type": "text/plain",
                        "content": "hello \r\n--not-a-boundary", "title": "\u00e9t\u00e9",
                        "files": ["doc", "raw"], "star": True}


def test_several_files_per_field_and_file_objects() -> None:
    app = Application()

    @app.route("/many", method="POST")
    def many(request: Request) -> list[list[str]]:
        return [[f.name, f.filename, f.content_type, (f.content or b"").decode()]
                for files in request.files.values() for f in files]

    files = {"docs": [("a.txt", b"1"), ("b.json", io.BytesIO(b"{}"))], "note": ("n.bin", "text", "x/y")}
    r = _client(app).post("/many", files=files)
    assert r.json() == [["docs", "a.txt", "text/plain", "1"], ["docs", "b.json", "application/json", "{}"],
                        ["note", "n.bin", "x/y", "text"]]


def test_conflicting_body_arguments_are_refused() -> None:
    client = _client(Application())
    with pytest.raises(TypeError):
        client.post("/x", json={"a": 1}, data={"b": "2"})
    with pytest.raises(TypeError):
        client.post("/x", json={"a": 1}, files={"f": b"1"})
    with pytest.raises(ValueError):
        client.get("/x", headers={"X-Evil": "a\r\nInjected: yes"})


# -- sessions and cookies ----------------------------------------------------------------------
def _session_app() -> Application:
    app = Application()

    @app.route("/set")
    def set_value(v: str, session: Session = Session()) -> str:
        session.set_attribute("value", v)
        return "set"

    @app.route("/get")
    def get_value(request: Request) -> str:
        session = request.get_session()
        return f"value={session.get_attribute('value') if session else None}"

    @app.route("/invalidate")
    def invalidate(session: Session) -> str:
        session.invalidate()
        return "invalidated"

    return app


def test_a_session_round_trips_through_the_cookie_jar_and_invalidate_clears_it() -> None:
    client = _client(_session_app())
    r = client.get("/set", params={"v": "blue"})
    assert r.status_code == 200
    session_id = r.cookies[SESSION_COOKIE_NAME]
    assert session_id and client.cookies[SESSION_COOKIE_NAME] == session_id
    assert len(r.headers.get_all("Set-Cookie")) == 1
    assert client.get("/get").text == "value=blue"
    r = client.get("/invalidate")
    assert r.cookies[SESSION_COOKIE_NAME] == ""  # Max-Age=0: the deletion
    assert SESSION_COOKIE_NAME not in client.cookies
    assert client.get("/get").text == "value=None"


def test_without_a_jar_the_session_is_not_kept() -> None:
    client = _client(_session_app(), cookies=False)
    assert client.get("/set", params={"v": "red"}).cookies[SESSION_COOKIE_NAME]
    assert not client.cookies
    assert client.get("/get").text == "value=None"


def test_cookie_jar_honours_max_age_expires_secure_and_per_request_cookies() -> None:
    app = Application()

    @app.route("/set")
    def set_cookies(response: Response) -> str:
        response.add_header("Set-Cookie", "keep=1; Path=/")
        response.add_header("Set-Cookie", "secret=s; Secure")
        response.add_header("Set-Cookie", "gone=x; Max-Age=0")
        response.add_header("Set-Cookie", "old=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
        response.add_header("Set-Cookie", "later=y; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=60")
        return "ok"

    @app.route("/show")
    def show(request: Request) -> str:
        return request.headers.get("Cookie") or ""

    client = _client(app)
    client.cookies["gone"] = "before"
    client.cookies["old"] = "before"
    r = client.get("/set")
    assert r.cookies == {"keep": "1", "secret": "s", "gone": "x", "old": "x", "later": "y"}
    assert dict(client.cookies) == {"keep": "1", "secret": "s", "later": "y"}
    # Secure cookies stay home over http; per-request cookies ride along once.
    assert client.get("/show", cookies={"extra": "e"}).text == "keep=1; later=y; extra=e"
    assert client.get("/show").text == "keep=1; later=y"
    secure = TestClient(app, base_url="https://testserver")
    secure.get("/set")
    assert secure.get("/show").text == "keep=1; secret=s; later=y"


# -- filters, redirects, errors ----------------------------------------------------------------
def _redirect_app() -> Application:
    app = Application()

    @app.request_filter("/private/**")
    def guard(ctx: FilterContext) -> None:
        if "user" not in ctx.request.parameter:
            ctx.response.send_redirect("/login")
        else:
            ctx.do_chain()

    @app.route("/private/page")
    def page(user: str) -> str:
        return f"page for {user}"

    @app.route("/login")
    def login(request: Request) -> str:
        return f"login via {request.method}"

    @app.route("/submit", method="POST")
    def submit() -> Response:
        return Response(303, headers={"Location": "/login"})

    @app.route("/keep", method="POST")
    def keep() -> Response:
        return Response(307, headers={"Location": "/echo-body"})

    @app.route("/echo-body", method="POST")
    def echo_body(request: Request) -> str:
        return f"{request.method} {request.body.decode()}"

    @app.route("/loop")
    def loop() -> Response:
        return Response(302, headers={"Location": "http://testserver/loop"})

    return app


def test_a_filter_redirect_is_returned_and_followed_on_request() -> None:
    client = _client(_redirect_app())
    r = client.get("/private/page")
    assert r.status_code == 302 and r.is_redirect
    assert r.headers["Location"] == "/login"
    assert client.get("/private/page", params={"user": "k"}).text == "page for k"
    r = client.get("/private/page", follow_redirects=True)
    assert r.status_code == 200 and r.text == "login via GET"
    assert [h.status_code for h in r.history] == [302]
    assert r.url == "http://testserver/login"


def test_follow_redirects_changes_or_keeps_the_method_and_stops_after_ten_hops() -> None:
    client = _client(_redirect_app(), follow_redirects=True)
    r = client.post("/submit", data={"a": "1"})
    assert (r.status_code, r.text, r.method) == (200, "login via GET", "GET")
    r = client.post("/keep", content=b"payload")
    assert r.text == "POST payload"
    assert r.history[0].status_code == 307
    with pytest.raises(TooManyRedirects) as raised:
        client.get("/loop")
    assert raised.value.response.status_code == 302
    assert client.get("/loop", follow_redirects=False).status_code == 302


def test_default_error_pages_404_and_405() -> None:
    app = Application()

    @app.route("/only-get", method="GET")
    def only_get() -> str:
        return "x"

    client = _client(app)
    r = client.get("/missing")
    assert r.status_code == 404 and "404" in r.text
    r = client.post("/only-get")
    assert r.status_code == 405
    assert "GET" in (r.headers.get("Allow") or "")


def test_custom_error_message_page() -> None:
    app = Application()

    @app.error_message("404")
    def not_found(code: int, message: str) -> dict[str, Any]:
        return {"code": code, "message": message}

    r = _client(app).get("/nothing")
    assert r.status_code == 404
    assert r.json() == {"code": 404, "message": "Not Found"}


def test_malformed_json_body_is_a_400() -> None:
    app = Application()

    @app.route("/json", method="POST")
    def json_body(data: JSONBody) -> str:
        return "unreachable"

    r = _client(app).request("POST", "/json", content=b'{"a": ', headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert "JSON" in r.text


def test_input_the_parser_refuses_gets_the_servers_answer() -> None:
    app = Application()

    @app.route("/")
    def index() -> str:
        return "index"

    client = _client(app)
    r = client.request("POST", "/", content=b"abc", headers={"Content-Length": "x3"})
    assert r.status_code == 400 and r.connection_close
    assert r.content == error_bytes(400, "Bad Request").split(b"\r\n\r\n", 1)[1]
    assert client.get("/", headers={"Host": None}).status_code == 400
    r = client.send_raw(b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
    assert (r.status_code, r.text) == (200, "index")
    assert client.send_raw(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n").status_code == 505


# -- response shapes -----------------------------------------------------------------------------
def _stream_app() -> Application:
    app = Application()

    @app.route("/stream")
    def stream(response: Response) -> None:
        response.set_header("Content-Type", "text/plain; charset=utf-8")
        for piece in (b"one ", b"", b"two ", "tr\u00e9s".encode()):
            response.write_bytes(piece)
        response.close()

    @app.route("/broken")
    def broken(response: Response) -> None:
        response.write_bytes(b"partial")
        raise RuntimeError("boom")

    @app.route("/page")
    def page() -> str:
        return "<p>hello</p>"

    return app


def test_a_streamed_response_is_de_chunked() -> None:
    r = _client(_stream_app()).get("/stream")
    assert r.status_code == 200
    assert r.headers["Transfer-Encoding"] == "chunked"
    assert r.content == "one two tr\u00e9s".encode()
    assert r.text == "one two tr\u00e9s"
    # HTTP/1.0 has no chunks: the body runs until the connection closes.
    r = _client(_stream_app()).send_raw(b"GET /stream HTTP/1.0\r\n\r\n")
    assert "Transfer-Encoding" not in r.headers and r.connection_close
    assert r.text == "one two tr\u00e9s"


def test_a_stream_that_fails_midway_is_an_incomplete_response() -> None:
    with pytest.raises(IncompleteResponse) as raised:
        _client(_stream_app()).get("/broken")
    assert raised.value.response.content == b"partial"
    assert raised.value.response.connection_close


def test_head_has_the_headers_and_no_body() -> None:
    client = _client(_stream_app())
    get = client.get("/page")
    head = client.head("/page")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == get.headers["Content-Length"] == str(len(get.content))
    streamed = client.head("/stream")
    assert streamed.status_code == 200 and streamed.content == b""


def test_gzip_content_is_kept_raw_and_text_is_decoded() -> None:
    app = Application(gzip_content_types={"text/plain"})

    @app.route("/big")
    def big() -> Response:
        return Response(headers={"Content-Type": "text/plain"}, body="z" * 1000)

    client = _client(app)
    r = client.get("/big", headers={"Accept-Encoding": "gzip"})
    assert r.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(r.content) == b"z" * 1000
    assert r.text == "z" * 1000
    assert client.get("/big").content == b"z" * 1000


# -- async controllers and the application's lifecycle -------------------------------------------
def _async_app() -> Application:
    app = Application()

    @app.route("/async")
    async def slow(n: int = 1) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"double": n * 2}

    return app


def test_an_async_controller() -> None:
    assert _client(_async_app()).get("/async", params={"n": 21}).json() == {"double": 42}


def test_the_client_works_inside_a_running_event_loop() -> None:
    client = _client(_async_app())

    async def main() -> Any:
        return client.get("/async", params={"n": 2}).json()

    assert asyncio.run(main()) == {"double": 4}


def test_context_manager_enters_the_lifespan_and_routes_added_later_are_served() -> None:
    events: list[str] = []

    class Plugin:
        @hookimpl
        def naja_atra_lifespan(self, app: Application) -> Optional[contextlib.AbstractContextManager[None]]:
            @contextlib.contextmanager
            def span() -> Iterator[None]:
                events.append("start")
                yield
                events.append("stop")
            return span()

    app = Application(load_entry_points=False)
    app.register(Plugin())

    @app.route("/a")
    def a() -> str:
        return "a"

    with TestClient(app) as client:
        assert events == ["start"]
        assert client.get("/a").text == "a"

        @app.route("/b")
        def b() -> str:
            return "b"

        assert client.get("/b").text == "b"
    assert events == ["start", "stop"]
