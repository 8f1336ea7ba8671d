"""End to end: routing (urls, methods, 404/405, HEAD, path values, wildcards,
regular expressions, ``params=``/``headers=`` narrowing, non-ASCII paths) over real sockets,
on both drivers."""

import asyncio
from typing import Any, Callable

import pytest

from naja_atra import Application, PathValue, RegGroup, RegGroups

from ..support import exchange

Serve = Callable[..., Any]


def allowed(reply: Any) -> list[str]:
    """The methods of an ``Allow`` header, in the order sent."""
    value = reply.header("Allow")
    assert value is not None, "a 405 must carry an Allow header"
    return [m.strip() for m in value.split(",")]


# -- urls and methods ----------------------------------------------------------------------


def methods_app() -> Application:
    app = Application()

    @app.route("/index")
    def index() -> dict[str, Any]:
        return {"code": 0, "message": "success"}

    @app.request_map("/rm")
    def via_request_map() -> str:
        return "request_map"

    @app.route("/only-post", method="POST")
    def only_post() -> str:
        return "posted"

    @app.route("/comma", method="GET, POST")
    def comma() -> str:
        return "comma"

    @app.route("/list", method=["PUT", "DELETE"])
    def as_list() -> str:
        return "list"

    @app.route("/tuple", method=("GET", "PATCH"))
    def as_tuple() -> str:
        return "tuple"

    @app.route("/lower", method="post")
    def lower() -> str:
        return "lower"

    @app.route("/split", method="GET")
    def split_get() -> str:
        return "split-get"

    @app.route("/split", method="POST")
    def split_post() -> str:
        return "split-post"

    @app.route("/any")
    def any_method() -> str:
        return "any"

    return app


def test_route_and_request_map_map_a_url(serve: Serve) -> None:
    client = serve(methods_app())
    r = client.get("/index")
    assert r.status == 200
    assert r.json() == {"code": 0, "message": "success"}
    r = client.get("/rm")
    assert (r.status, r.text) == (200, "request_map")


def test_method_as_a_string(serve: Serve) -> None:
    client = serve(methods_app())
    r = client.post("/only-post", b"")
    assert (r.status, r.text) == (200, "posted")
    r = client.get("/only-post")
    assert r.status == 405
    assert allowed(r) == ["POST"]
    # Lower case in the decorator is the same method.
    assert client.post("/lower", b"").text == "lower"
    assert client.get("/lower").status == 405


def test_method_as_a_comma_string(serve: Serve) -> None:
    client = serve(methods_app())
    assert client.get("/comma").text == "comma"
    assert client.post("/comma", b"").text == "comma"
    r = client.request("PUT", "/comma", body=b"")
    assert r.status == 405
    assert allowed(r) == ["GET", "HEAD", "POST"]


def test_method_as_a_list(serve: Serve) -> None:
    client = serve(methods_app())
    assert client.request("PUT", "/list", body=b"").text == "list"
    assert client.request("DELETE", "/list").text == "list"
    r = client.get("/list")
    assert r.status == 405
    assert allowed(r) == ["DELETE", "PUT"]


def test_method_as_a_tuple(serve: Serve) -> None:
    client = serve(methods_app())
    assert client.get("/tuple").text == "tuple"
    assert client.request("PATCH", "/tuple", body=b"").text == "tuple"
    r = client.post("/tuple", b"")
    assert r.status == 405
    assert allowed(r) == ["GET", "HEAD", "PATCH"]


def test_two_routes_on_one_path_split_by_method(serve: Serve) -> None:
    client = serve(methods_app())
    assert client.get("/split").text == "split-get"
    assert client.post("/split", b"").text == "split-post"
    r = client.request("DELETE", "/split")
    assert r.status == 405
    assert allowed(r) == ["GET", "HEAD", "POST"]


def test_a_route_without_method_accepts_every_method(serve: Serve) -> None:
    client = serve(methods_app())
    for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        r = client.request(method, "/any", body=b"" if method in ("POST", "PUT", "PATCH") else None)
        assert (method, r.status, r.text) == (method, 200, "any")


def test_unknown_path_is_404(serve: Serve) -> None:
    client = serve(methods_app())
    r = client.get("/no/such/path")
    assert r.status == 404
    assert r.header("Allow") is None
    # A known path with a suffix is not the known path.
    assert client.get("/index/more").status == 404
    assert client.get("/indexx").status == 404


def test_head_on_a_get_route_has_headers_and_no_body(serve: Serve) -> None:
    client = serve(methods_app())
    get = client.get("/index")
    head = client.request("HEAD", "/index")
    assert head.status == 200
    assert head.body == b""
    assert head.header("Content-Type") == get.header("Content-Type") == "application/json; charset=utf-8"
    assert head.header("Content-Length") == str(len(get.body))
    # On the wire: the head and nothing after it.
    raw = client.raw(b"HEAD /index HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    head_bytes, sep, rest = raw.partition(b"\r\n\r\n")
    assert sep == b"\r\n\r\n"
    assert head_bytes.startswith(b"HTTP/1.1 200 ")
    assert rest == b""


def test_head_on_a_post_only_route_is_405(serve: Serve) -> None:
    client = serve(methods_app())
    r = client.request("HEAD", "/only-post")
    assert r.status == 405
    assert allowed(r) == ["POST"]


# -- path values and wildcards ------------------------------------------------------------


def paths_app() -> Application:
    app = Application()

    @app.route("/a/b/{path_val}/x")
    def one_value(path_val: Any = PathValue()) -> str:
        return f"<html><body>{path_val}</body></html>"

    @app.route("/users/{uid}/posts/{pid}")
    def two_values(uid: PathValue, pid: Any = PathValue("pid")) -> dict[str, Any]:
        return {"uid": uid, "pid": pid}

    @app.route("/one/*")
    def star_suffix(path_val: Any = PathValue()) -> str:
        return f"one-suffix:{path_val}"

    @app.route("*/one")
    def star_prefix(path_val: Any = PathValue()) -> str:
        return f"one-prefix:{path_val}"

    @app.route("/many/**")
    def double_star_suffix(path_val: Any = PathValue()) -> str:
        return f"many-suffix:{path_val}"

    @app.route("**/many")
    def double_star_prefix(path_val: Any = PathValue()) -> str:
        return f"many-prefix:{path_val}"

    @app.route("session")
    def no_leading_slash() -> str:
        return "no leading slash"

    async def say(sth: str = "") -> str:
        await asyncio.sleep(0)
        return f"Success! {sth}"

    @app.request_map("/中文/coroutine")
    async def coroutine_ctrl(hey: str = "Hey!") -> str:
        return await say(hey)

    @app.route("/中文/{名字}")
    def unicode_value(名字: PathValue) -> str:
        return f"value={名字}"

    return app


def test_path_value(serve: Serve) -> None:
    client = serve(paths_app())
    r = client.get("/a/b/xyz/x")
    assert (r.status, r.text) == (200, "<html><body>xyz</body></html>")
    assert client.get("/a/b/xyz/y").status == 404
    assert client.get("/a/b/x").status == 404


def test_two_path_values_by_annotation_and_marker(serve: Serve) -> None:
    client = serve(paths_app())
    r = client.get("/users/42/posts/p-7")
    assert r.status == 200
    assert r.json() == {"uid": "42", "pid": "p-7"}


def test_path_value_is_percent_decoded(serve: Serve) -> None:
    client = serve(paths_app())
    r = client.get("/a/b/hello%20world/x")
    assert r.text == "<html><body>hello world</body></html>"


@pytest.mark.parametrize(("path", "status", "body"), [
    ("/one/c", 200, "one-suffix:c"),
    ("/one/c/d", 404, None),
    ("/c/one", 200, "one-prefix:c"),
    ("/c/d/one", 404, None),
    ("/many/c", 200, "many-suffix:c"),
    ("/many/c/d", 200, "many-suffix:c/d"),
    ("/c/many", 200, "many-prefix:c"),
    ("/c/d/many", 200, "many-prefix:c/d"),
])
def test_wildcards(serve: Serve, path: str, status: int, body: Any) -> None:
    client = serve(paths_app())
    r = client.get(path)
    assert r.status == status, r.body
    if body is not None:
        assert r.text == body


def test_path_without_leading_slash(serve: Serve) -> None:
    client = serve(paths_app())
    r = client.get("/session")
    assert (r.status, r.text) == (200, "no leading slash")


def test_percent_encoded_utf8_path(serve: Serve) -> None:
    client = serve(paths_app())
    r = client.get("/%E4%B8%AD%E6%96%87/coroutine")
    assert (r.status, r.text) == (200, "Success! Hey!")
    r = client.get("/%E4%B8%AD%E6%96%87/coroutine?hey=%E4%BD%A0%E5%A5%BD")
    assert (r.status, r.text) == (200, "Success! 你好")
    r = client.get("/%E4%B8%AD%E6%96%87/%E5%80%BC")
    assert (r.status, r.text) == (200, "value=值")


def test_raw_utf8_bytes_in_the_path(serve: Serve) -> None:
    """A client that sends the path's UTF-8 bytes unescaped reaches the same route."""
    client = serve(paths_app())
    raw = client.raw("GET /中文/coroutine HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
    assert raw.startswith(b"HTTP/1.1 200 "), raw[:100]
    assert raw.endswith(b"\r\n\r\nSuccess! Hey!")


# -- regular expressions -------------------------------------------------------------------


def regexp_app() -> Application:
    app = Application()

    @app.route(regexp="^(reg/(.+))$", method="GET")
    def my_reg_ctr(reg_groups: RegGroups, reg_group: Any = RegGroup(1)) -> dict[str, Any]:
        return {"groups": list(reg_groups), "group": reg_group, "type": type(reg_groups).__name__}

    @app.route(regexp=r"^api/v(\d+)/items/(\w+)$")
    def versioned(version: Any = RegGroup(0), item: Any = RegGroup(1)) -> dict[str, Any]:
        return {"version": version, "item": item}

    return app


def test_regexp_route_with_reg_groups(serve: Serve) -> None:
    client = serve(regexp_app())
    r = client.get("/reg/abcef/aref/xxx")
    assert r.status == 200
    assert r.json() == {"groups": ["reg/abcef/aref/xxx", "abcef/aref/xxx"], "group": "abcef/aref/xxx",
                        "type": "RegGroups"}


def test_regexp_route_groups_by_index(serve: Serve) -> None:
    client = serve(regexp_app())
    r = client.get("/api/v3/items/spoon")
    assert r.json() == {"version": "3", "item": "spoon"}
    assert client.get("/api/vx/items/spoon").status == 404
    assert client.get("/api/v3/items/a/b").status == 404


def test_regexp_route_keeps_its_method(serve: Serve) -> None:
    client = serve(regexp_app())
    r = client.post("/reg/abc", b"")
    assert r.status == 405
    assert allowed(r) == ["GET", "HEAD"]
    assert client.get("/nothing/here").status == 404


# -- params= narrowing ------------------------------------------------------------------


def params_app() -> Application:
    app = Application()

    @app.route("/p/eq", method="GET", params="a=b")
    def eq(a: str) -> dict[str, Any]:
        return {"route": "eq", "a": a}

    @app.route("/p/ne", method="GET", params="a!=b")
    def ne(a: str) -> dict[str, Any]:
        return {"route": "ne", "a": a}

    @app.route("/p/sw", method="GET", params="a^=b")
    def sw(a: str) -> dict[str, Any]:
        return {"route": "sw", "a": a}

    @app.route("/p/absent", method="GET", params="!a")
    def absent() -> dict[str, Any]:
        return {"route": "absent"}

    @app.route("/p/present", method="GET", params="a")
    def present() -> dict[str, Any]:
        return {"route": "present"}

    @app.route("/p/all", method="GET", params=["a=b", "c!=d"])
    def all_of() -> dict[str, Any]:
        return {"route": "all"}

    @app.route("/p/any", method="GET", params=["a=b", "c!=d"], match_all_params_expressions=False)
    def any_of() -> dict[str, Any]:
        return {"route": "any"}

    # /exact_params: several narrowed routes on one path pick one by the query.
    @app.route("/exact_params", method="GET", params="a=b")
    def exact_params(a: str) -> dict[str, Any]:
        return {"result": "a=b", "a": a}

    @app.route("/exact_params", method="GET", params="a^=x")
    def exact_startwith_params(a: str) -> dict[str, Any]:
        return {"result": "a^=x", "a": a}

    @app.route("/exact_params", method="GET", params="!a")
    def no_params() -> dict[str, Any]:
        return {"result": "!a"}

    return app


@pytest.mark.parametrize(("query", "status", "route"), [
    ("/p/eq?a=b", 200, "eq"),
    ("/p/eq?a=c", 404, None),
    ("/p/eq", 404, None),
    ("/p/eq?a=c&a=b", 200, "eq"),
    ("/p/ne?a=c", 200, "ne"),
    ("/p/ne?a=b", 404, None),
    ("/p/ne", 404, None),
    ("/p/sw?a=bcd", 200, "sw"),
    ("/p/sw?a=b", 200, "sw"),
    ("/p/sw?a=cb", 404, None),
    ("/p/absent", 200, "absent"),
    ("/p/absent?b=1", 200, "absent"),
    ("/p/absent?a=1", 404, None),
    ("/p/present?a=1", 200, "present"),
    ("/p/present?a=", 200, "present"),
    ("/p/present?b=1", 404, None),
    ("/p/all?a=b&c=e", 200, "all"),
    ("/p/all?a=b&c=d", 404, None),
    ("/p/all?a=x&c=e", 404, None),
    ("/p/any?a=b&c=d", 200, "any"),
    ("/p/any?a=x&c=e", 200, "any"),
    ("/p/any?a=b&c=e", 200, "any"),
    ("/p/any?a=x&c=d", 404, None),
])
def test_params_narrowing(serve: Serve, query: str, status: int, route: Any) -> None:
    client = serve(params_app())
    r = client.get(query)
    assert r.status == status, r.body
    if route is not None:
        assert r.json()["route"] == route


def test_params_narrowing_picks_among_routes_on_one_path(serve: Serve) -> None:
    client = serve(params_app())
    assert client.get("/exact_params?a=b").json() == {"result": "a=b", "a": "b"}
    assert client.get("/exact_params?a=xyz").json() == {"result": "a^=x", "a": "xyz"}
    assert client.get("/exact_params").json() == {"result": "!a"}
    assert client.get("/exact_params?a=q").status == 404


def test_params_narrowing_reads_form_parameters(serve: Serve) -> None:
    app = Application()

    @app.route("/form", method="POST", params="kind=a")
    def kind_a() -> str:
        return "kind a"

    @app.route("/form", method="POST", params="kind=b")
    def kind_b() -> str:
        return "kind b"

    client = serve(app)
    assert client.post_form("/form", {"kind": "a"}).text == "kind a"
    assert client.post_form("/form", {"kind": "b"}).text == "kind b"
    assert client.post_form("/form", {"kind": "c"}).status == 404


# -- headers= narrowing -----------------------------------------------------------------


def headers_app() -> Application:
    app = Application()

    @app.route("/h/eq", headers="X-Mode=fast")
    def eq() -> str:
        return "eq"

    @app.route("/h/ne", headers="X-Mode!=fast")
    def ne() -> str:
        return "ne"

    @app.route("/h/sw", headers="Accept^=application/")
    def sw() -> str:
        return "sw"

    @app.route("/h/absent", headers="!X-Mode")
    def absent() -> str:
        return "absent"

    @app.route("/h/present", headers="X-Mode")
    def present() -> str:
        return "present"

    @app.route("/h/all", headers=["X-A=1", "X-B!=2"])
    def all_of() -> str:
        return "all"

    @app.route("/h/any", headers=["X-A=1", "X-B!=2"], match_all_headers_expressions=False)
    def any_of() -> str:
        return "any"

    @app.route("/h/both", headers="X-A=1", params="p=1")
    def both() -> str:
        return "both"

    @app.route("/h/pick", headers="X-Version=1")
    def pick_v1() -> str:
        return "v1"

    @app.route("/h/pick", headers="X-Version=2")
    def pick_v2() -> str:
        return "v2"

    return app


@pytest.mark.parametrize(("path", "headers", "status", "body"), [
    ("/h/eq", {"X-Mode": "fast"}, 200, "eq"),
    ("/h/eq", {"x-mode": "fast"}, 200, "eq"),
    ("/h/eq", {"X-Mode": "slow"}, 404, None),
    ("/h/eq", {}, 404, None),
    ("/h/ne", {"X-Mode": "slow"}, 200, "ne"),
    ("/h/ne", {"X-Mode": "fast"}, 404, None),
    ("/h/sw", {"Accept": "application/json"}, 200, "sw"),
    ("/h/sw", {"Accept": "text/html"}, 404, None),
    ("/h/absent", {}, 200, "absent"),
    ("/h/absent", {"X-Mode": "x"}, 404, None),
    ("/h/present", {"X-Mode": "x"}, 200, "present"),
    ("/h/present", {}, 404, None),
    ("/h/all", {"X-A": "1", "X-B": "3"}, 200, "all"),
    ("/h/all", {"X-A": "1", "X-B": "2"}, 404, None),
    ("/h/all", {"X-A": "0", "X-B": "3"}, 404, None),
    ("/h/any", {"X-A": "1", "X-B": "2"}, 200, "any"),
    ("/h/any", {"X-A": "0", "X-B": "3"}, 200, "any"),
    ("/h/any", {"X-A": "0", "X-B": "2"}, 404, None),
    ("/h/pick", {"X-Version": "1"}, 200, "v1"),
    ("/h/pick", {"X-Version": "2"}, 200, "v2"),
    ("/h/pick", {"X-Version": "3"}, 404, None),
])
def test_headers_narrowing(serve: Serve, path: str, headers: dict[str, str], status: int, body: Any) -> None:
    client = serve(headers_app())
    r = client.get(path, headers=headers)
    assert r.status == status, r.body
    if body is not None:
        assert r.text == body


def test_headers_and_params_narrowing_together(serve: Serve) -> None:
    client = serve(headers_app())
    assert client.get("/h/both?p=1", headers={"X-A": "1"}).text == "both"
    assert client.get("/h/both?p=2", headers={"X-A": "1"}).status == 404
    assert client.get("/h/both?p=1", headers={"X-A": "2"}).status == 404


# -- robustness of the routing answers -----------------------------------------------------


def test_404_and_405_keep_the_connection_usable(serve: Serve) -> None:
    client = serve(methods_app())
    conn = client.connection()
    try:
        assert client.request("GET", "/nope", conn=conn).status == 404
        assert client.request("GET", "/only-post", conn=conn).status == 405
        r = client.request("GET", "/index", conn=conn)
        assert (r.status, r.json()) == (200, {"code": 0, "message": "success"})
    finally:
        conn.close()


def test_http_1_0_request_line(serve: Serve) -> None:
    client = serve(methods_app())
    data, closed = exchange(client.port, b"GET /rm HTTP/1.0\r\n\r\n")
    assert closed  # an HTTP/1.0 response ends with the connection
    assert data.startswith(b"HTTP/1.0 200 ") or data.startswith(b"HTTP/1.1 200 "), data[:60]
    assert data.endswith(b"\r\n\r\nrequest_map")
