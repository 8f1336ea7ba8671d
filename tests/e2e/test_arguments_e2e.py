"""End to end: every argument kind (markers, annotations, plain names, form
posts, uploads, sessions, async controllers) over real sockets, on both drivers."""

import asyncio
import json
import os
from typing import Any, Callable, List
from urllib.parse import quote

import pytest

from naja_atra import (
    SESSION_COOKIE_NAME,
    Application,
    Cookie,
    Cookies,
    Header,
    Headers,
    JSONBody,
    ModelDict,
    MultipartFile,
    Parameter,
    Parameters,
    PathValue,
    RegGroup,
    RegGroups,
    Request,
    Response,
    Session,
)

Serve = Callable[..., Any]


def session_cookie(reply: Any) -> str:
    """``name=value`` of the session cookie the reply sets."""
    for value in reply.headers.get_all("Set-Cookie") or []:
        if value.startswith(SESSION_COOKIE_NAME + "="):
            return value.split(";", 1)[0]
    raise AssertionError(f"no session cookie in {reply.headers.get_all('Set-Cookie')}")


def multipart(fields: list[tuple[str, str, bytes]], boundary: str = "----naja-e2e-boundary") -> tuple[bytes, str]:
    """A multipart/form-data body from (part headers' disposition tail, content type, data)."""
    out = b""
    for disposition, content_type, data in fields:
        out += f"--{boundary}\r\n".encode()
        out += f"Content-Disposition: form-data; {disposition}\r\n".encode()
        if content_type:
            out += f"Content-Type: {content_type}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


# -- Parameter / Parameters / ModelDict / plain names -----------------------------------------


def params_app() -> Application:
    app = Application()

    @app.route("/say_hello", method=["GET", "POST"])
    def my_ctrl2(name: Any, name2: Any = Parameter("name", default="KEIJACK"), model: Any = ModelDict()) -> str:
        assert name == name2 == model["name"]
        return f"<!DOCTYPE html><html><body>hello, {name}, {name2}</body></html>"

    @app.route("/param/default")
    def with_default(name: Any = Parameter("name", default="KEIJACK")) -> dict[str, Any]:
        return {"name": name, "is_str": isinstance(name, str)}

    @app.route("/param/required")
    def required(token: Any = Parameter("tk", required=True)) -> str:
        return f"token={token}"

    @app.route("/param/renamed")
    def renamed(page: Any = Parameter("p", default="1")) -> str:
        return f"page={page}"

    @app.route("/params")
    def many(tags: Any = Parameters("tag"), empty: Any = Parameters("none")) -> dict[str, Any]:
        return {"tags": list(tags), "empty": list(empty)}

    @app.route("/params/required")
    def many_required(tags: Any = Parameters("tag", required=True)) -> dict[str, Any]:
        return {"tags": list(tags)}

    @app.route("/model")
    def model(m: Any = ModelDict()) -> dict[str, Any]:
        return dict(m)

    @app.route("/model/annotated")
    def model_annotated(m: ModelDict) -> dict[str, Any]:
        return {"type": type(m).__name__, **m}

    @app.request_map("/post_txt", method="POST")
    def normal_form_post(txt: Any) -> str:
        return f"<!DOCTYPE html><html><body>hi, {txt}</body></html>"

    @app.route("/plain")
    def plain(first: Any, second: Any = "two", third: Any = 3) -> dict[str, Any]:
        return {"first": first, "second": second, "third": third}

    return app


def test_spec_say_hello_parameter_model_and_plain_name(serve: Serve) -> None:
    client = serve(params_app())
    expected = "<!DOCTYPE html><html><body>hello, kj, kj</body></html>"
    assert client.get("/say_hello?name=kj").text == expected
    r = client.post_form("/say_hello", {"name": "kj"})
    assert (r.status, r.text) == (200, expected)


def test_parameter_with_default(serve: Serve) -> None:
    client = serve(params_app())
    assert client.get("/param/default").json() == {"name": "KEIJACK", "is_str": True}
    assert client.get("/param/default?name=x%20y").json() == {"name": "x y", "is_str": True}
    assert client.get("/param/renamed?p=7").text == "page=7"
    assert client.get("/param/renamed?page=7").text == "page=1"


def test_required_parameter_missing_is_400(serve: Serve) -> None:
    client = serve(params_app())
    r = client.get("/param/required")
    assert r.status == 400
    assert b"tk" in r.body
    assert client.get("/param/required?tk=abc").text == "token=abc"


def test_parameters_gives_every_value(serve: Serve) -> None:
    client = serve(params_app())
    assert client.get("/params?tag=a&tag=b&tag=c").json() == {"tags": ["a", "b", "c"], "empty": []}
    assert client.get("/params").json() == {"tags": [], "empty": []}
    assert client.get("/params/required").status == 400
    assert client.get("/params/required?tag=x").json() == {"tags": ["x"]}


def test_model_dict(serve: Serve) -> None:
    client = serve(params_app())
    assert client.get("/model?a=1&b=2&b=3").json() == {"a": "1", "b": ["2", "3"]}
    assert client.get("/model").json() == {}
    assert client.get("/model/annotated?x=1").json() == {"type": "ModelDict", "x": "1"}


def test_form_urlencoded_post(serve: Serve) -> None:
    client = serve(params_app())
    r = client.post_form("/post_txt", {"txt": "hello wörld & more"})
    assert (r.status, r.text) == (200, "<!DOCTYPE html><html><body>hi, hello wörld & more</body></html>")


def test_form_and_query_parameters_merge(serve: Serve) -> None:
    client = serve(params_app())
    r = client.post("/params?tag=q", "tag=f1&tag=f2", {"Content-Type": "application/x-www-form-urlencoded"})
    assert r.json() == {"tags": ["q", "f1", "f2"], "empty": []}


def test_plain_name_is_a_required_parameter(serve: Serve) -> None:
    client = serve(params_app())
    r = client.post_form("/post_txt", {"other": "x"})
    assert r.status == 400
    assert b"txt" in r.body
    r = client.get("/plain")
    assert r.status == 400
    assert b"first" in r.body
    assert client.get("/plain?first=1").json() == {"first": "1", "second": "two", "third": 3}
    assert client.get("/plain?first=1&second=2&third=33").json() == {"first": "1", "second": "2", "third": 33}


# -- annotations ---------------------------------------------------------------------------


def typed_app() -> Application:
    app = Application()

    @app.route("/types")
    def types(s: str, i: int, f: float, b: bool) -> dict[str, Any]:
        return {"s": [s, type(s).__name__], "i": [i, type(i).__name__], "f": [f, type(f).__name__],
                "b": [b, type(b).__name__]}

    @app.route("/lists")
    def lists(names: list, numbers: List[int]) -> dict[str, Any]:
        return {"names": names, "numbers": numbers}

    @app.route("/dict")
    def as_dict(d: dict) -> dict[str, Any]:
        return {"d": d, "type": type(d).__name__}

    @app.route("/typed-defaults")
    def typed_defaults(page: int = 1, ratio: float = 0.5, flag: bool = False, q: str = "") -> dict[str, Any]:
        return {"page": page, "ratio": ratio, "flag": flag, "q": q}

    @app.route("/int-marker")
    def int_marker(page: int = Parameter("page", default=1)) -> dict[str, Any]:
        return {"page": page, "type": type(page).__name__}

    return app


def test_str_int_float_bool_annotations(serve: Serve) -> None:
    client = serve(typed_app())
    r = client.get("/types?s=abc&i=42&f=2.5&b=true")
    assert r.status == 200
    assert r.json() == {"s": ["abc", "str"], "i": [42, "int"], "f": [2.5, "float"], "b": [True, "bool"]}
    r = client.get("/types?s=abc&i=-1&f=3&b=false")
    assert r.json()["i"] == [-1, "int"]
    assert r.json()["f"] == [3.0, "float"]
    assert r.json()["b"] == [False, "bool"]
    assert client.get("/types?s=a&i=1&f=1&b=0").json()["b"] == [False, "bool"]
    assert client.get("/types?s=a&i=1&f=1&b=1").json()["b"] == [True, "bool"]


@pytest.mark.parametrize(("query", "name"), [
    ("s=a&i=x&f=1&b=1", b"i"),
    ("s=a&i=1.5&f=1&b=1", b"i"),
    ("s=a&i=1&f=zz&b=1", b"f"),
    ("i=1&f=1&b=1", b"s"),
    ("s=a&f=1&b=1", b"i"),
])
def test_bad_or_missing_typed_parameter_is_400(serve: Serve, query: str, name: bytes) -> None:
    client = serve(typed_app())
    r = client.get("/types?" + query)
    assert r.status == 400
    assert b"Parameter[" + name + b"]" in r.body or b"[" + name + b"]" in r.body, r.body


def test_list_annotations(serve: Serve) -> None:
    client = serve(typed_app())
    r = client.get("/lists?names=a&names=b&numbers=1&numbers=20")
    assert r.status == 200
    assert r.json() == {"names": ["a", "b"], "numbers": [1, 20]}
    r = client.get("/lists?names=a&numbers=one")
    assert r.status == 400
    assert b"numbers" in r.body
    assert client.get("/lists?numbers=1").status == 400


def test_dict_annotation_reads_a_json_parameter(serve: Serve) -> None:
    client = serve(typed_app())
    value = quote(json.dumps({"a": 1, "b": [True, None]}))
    r = client.get(f"/dict?d={value}")
    assert r.status == 200
    assert r.json() == {"d": {"a": 1, "b": [True, None]}, "type": "dict"}
    r = client.get("/dict?d=" + quote("{not json"))
    assert r.status == 400
    assert b"d" in r.body


def test_typed_plain_defaults(serve: Serve) -> None:
    client = serve(typed_app())
    assert client.get("/typed-defaults").json() == {"page": 1, "ratio": 0.5, "flag": False, "q": ""}
    assert client.get("/typed-defaults?page=3&ratio=0.25&flag=true&q=x").json() == {
        "page": 3, "ratio": 0.25, "flag": True, "q": "x"}
    assert client.get("/typed-defaults?page=three").status == 400


def test_int_annotation_with_parameter_marker(serve: Serve) -> None:
    client = serve(typed_app())
    assert client.get("/int-marker").json() == {"page": 1, "type": "int"}
    assert client.get("/int-marker?page=5").json() == {"page": 5, "type": "int"}
    assert client.get("/int-marker?page=x").status == 400


# -- headers, cookies, path values, regexp groups ---------------------------------------------


def request_parts_app() -> Application:
    app = Application()

    @app.route("/header/marker")
    def header_marker(token: Any = Header("X-Token"), ua: Any = Header("X-Missing", default="none")) -> dict[str, Any]:
        return {"token": token, "ua": ua, "is_str": isinstance(token, str)}

    @app.route("/header/required")
    def header_required(token: Any = Header("X-Token", required=True)) -> str:
        return f"token={token}"

    @app.route("/header/annotation")
    def header_annotation(user_token: Header) -> str:
        return f"user_token={user_token}"

    @app.route("/headers")
    def all_headers(hs: Headers, hs2: Any = Headers()) -> dict[str, Any]:
        return {"custom": hs.get("X-Custom"), "same": dict(hs) == dict(hs2), "type": type(hs).__name__}

    @app.route("/cookie/marker")
    def cookie_marker(cookie_sc: Any = Cookie("sc")) -> dict[str, Any]:
        return {"key": cookie_sc.key, "value": cookie_sc.value}

    @app.route("/cookie/annotation")
    def cookie_annotation(user_info: Cookie) -> dict[str, Any]:
        return {"key": user_info.key, "value": user_info.value}

    @app.route("/cookie/required")
    def cookie_required(sid: Any = Cookie("sid", required=True)) -> str:
        return sid.value

    @app.route("/cookies")
    def all_cookies(jar: Cookies, jar2: Any = Cookies()) -> dict[str, Any]:
        return {"cookies": {k: m.value for k, m in jar.items()}, "same": sorted(jar) == sorted(jar2)}

    @app.route("/pv/{name}/{other}")
    def path_values(name: PathValue, o: Any = PathValue("other")) -> dict[str, Any]:
        return {"name": name, "other": o, "type": type(name).__name__}

    @app.route(regexp=r"^rg/(\d+)-(\w+)$")
    def reg_groups(groups: RegGroups, first: RegGroup, second: Any = RegGroup(1)) -> dict[str, Any]:
        return {"groups": list(groups), "first": first, "second": second}

    @app.request_map("/say_hello/to/{name}", method=["GET", "POST", "PUT"])
    def your_ctroller_function(
            user_name: str,
            password: str,
            skills: list,
            all_headers: Headers,
            user_token: Header,
            all_cookies: Cookies,
            user_info: Cookie,
            name: PathValue,
            session: Session,
    ) -> dict[str, Any]:
        return {"user_name": user_name, "password": password, "skills": skills,
                "header": all_headers.get("user_token"), "user_token": user_token,
                "cookies": sorted(all_cookies), "user_info": user_info.value, "name": name,
                "session": isinstance(session, Session)}

    return app


def test_header_marker(serve: Serve) -> None:
    client = serve(request_parts_app())
    r = client.get("/header/marker", headers={"X-Token": "abc"})
    assert r.json() == {"token": "abc", "ua": "none", "is_str": True}
    r = client.get("/header/marker", headers={"x-token": "lower"})
    assert r.json()["token"] == "lower"


def test_required_header_missing_is_400(serve: Serve) -> None:
    client = serve(request_parts_app())
    r = client.get("/header/required")
    assert r.status == 400
    assert b"X-Token" in r.body
    assert client.get("/header/required", headers={"X-Token": "t"}).text == "token=t"


def test_header_annotation(serve: Serve) -> None:
    client = serve(request_parts_app())
    assert client.get("/header/annotation", headers={"user_token": "tok"}).text == "user_token=tok"
    r = client.get("/header/annotation")
    assert r.status == 400
    assert b"user_token" in r.body


def test_headers(serve: Serve) -> None:
    client = serve(request_parts_app())
    r = client.get("/headers", headers={"X-Custom": "custom value"})
    assert r.json() == {"custom": "custom value", "same": True, "type": "Headers"}


def test_cookie_marker_and_annotation(serve: Serve) -> None:
    client = serve(request_parts_app())
    r = client.get("/cookie/marker", headers={"Cookie": "sc=hello; other=1"})
    assert r.json() == {"key": "sc", "value": "hello"}
    r = client.get("/cookie/annotation", headers={"Cookie": "user_info=someone"})
    assert r.json() == {"key": "user_info", "value": "someone"}
    r = client.get("/cookie/annotation", headers={"Cookie": "other=1"})
    assert r.status == 400
    assert b"user_info" in r.body


def test_cookie_marker_default_and_required(serve: Serve) -> None:
    client = serve(request_parts_app())
    r = client.get("/cookie/marker")
    assert r.json() == {"key": "sc", "value": ""}
    r = client.get("/cookie/required")
    assert r.status == 400
    assert b"sid" in r.body
    assert client.get("/cookie/required", headers={"Cookie": "sid=42"}).text == "42"


def test_cookies(serve: Serve) -> None:
    client = serve(request_parts_app())
    r = client.get("/cookies", headers={"Cookie": "a=1; b=two"})
    assert r.json() == {"cookies": {"a": "1", "b": "two"}, "same": True}
    assert client.get("/cookies").json() == {"cookies": {}, "same": True}


def test_path_values_by_annotation_and_marker(serve: Serve) -> None:
    client = serve(request_parts_app())
    assert client.get("/pv/abc/d%20e").json() == {"name": "abc", "other": "d e", "type": "PathValue"}
    # %2F is decoded before routing (as naja-atra 1.2.2 does): it is a separator, not part of a value.
    assert client.get("/pv/abc/d%2Fe").status == 404


def test_reg_groups_by_annotation_and_marker(serve: Serve) -> None:
    client = serve(request_parts_app())
    r = client.get("/rg/12-ab")
    assert r.json() == {"groups": ["12", "ab"], "first": "12", "second": "ab"}


def test_spec_annotation_example(serve: Serve) -> None:
    client = serve(request_parts_app())
    headers = {"user_token": "tk", "Cookie": "user_info=ui; x=1"}
    r = client.get("/say_hello/to/kj?user_name=u&password=p&skills=a&skills=b", headers=headers)
    assert r.status == 200, r.body
    assert r.json() == {"user_name": "u", "password": "p", "skills": ["a", "b"], "header": "tk",
                        "user_token": "tk", "cookies": ["user_info", "x"], "user_info": "ui", "name": "kj",
                        "session": True}
    # The session was only looked at, never stored: no session cookie.
    assert not any(c.startswith(SESSION_COOKIE_NAME + "=") for c in r.headers.get_all("Set-Cookie") or [])
    r = client.request("PUT", "/say_hello/to/kj?user_name=u&skills=a", headers=headers, body=b"")
    assert r.status == 400
    assert b"password" in r.body


# -- bodies: JSON and multipart --------------------------------------------------------------


def body_app(upload_dir: str) -> Application:
    app = Application()

    @app.route("/json", method="POST")
    def json_body(data: Any = JSONBody()) -> dict[str, Any]:
        return {"got": dict(data), "type": type(data).__name__}

    @app.route("/json/annotated", method="POST")
    def json_annotated(data: JSONBody) -> dict[str, Any]:
        return {"keys": sorted(data)}

    @app.route("/upload", method="POST")
    def my_upload(img: Any = MultipartFile("img"), title: str = "") -> dict[str, Any]:
        target = os.path.join(upload_dir, "saved.bin")
        img.save_to_file(target)
        return {"filename": img.filename, "content_type": img.content_type, "size": len(img.content or b""),
                "title": title, "name": img.name}

    @app.route("/upload/required", method="POST")
    def upload_required(doc: Any = MultipartFile("doc", required=True)) -> str:
        return doc.filename

    @app.route("/upload/annotated", method="POST")
    def upload_annotated(doc: MultipartFile) -> str:
        return f"{doc.filename}:{len(doc.content or b'')}"

    return app


def test_json_body(serve: Serve, tmp_path: Any) -> None:
    client = serve(body_app(str(tmp_path)))
    r = client.post_json("/json", {"a": 1, "b": "中文", "c": [1, 2]})
    assert r.status == 200
    assert r.json() == {"got": {"a": 1, "b": "中文", "c": [1, 2]}, "type": "JSONBody"}
    assert client.post_json("/json/annotated", {"z": 1, "y": 2}).json() == {"keys": ["y", "z"]}


def test_malformed_json_is_400_not_a_dropped_connection(serve: Serve, tmp_path: Any) -> None:
    client = serve(body_app(str(tmp_path)))
    conn = client.connection()
    try:
        r = client.request("POST", "/json", body=b'{"a": 1', headers={"Content-Type": "application/json"}, conn=conn)
        assert r.status == 400
        assert r.body  # an error page, not an empty answer
        r = client.request("POST", "/json", body=b"\xff\xfe", headers={"Content-Type": "application/json"})
        assert r.status == 400
    finally:
        conn.close()


def test_json_body_with_wrong_content_type_is_400(serve: Serve, tmp_path: Any) -> None:
    client = serve(body_app(str(tmp_path)))
    r = client.post("/json", b'{"a": 1}', {"Content-Type": "text/plain"})
    assert r.status == 400


def test_multipart_upload_with_non_ascii_filename(serve: Serve, tmp_path: Any) -> None:
    client = serve(body_app(str(tmp_path)))
    content = bytes(range(256)) * 4
    encoded = quote("图片 1.png")
    body, content_type = multipart([
        ('name="title"', "", "标题".encode()),
        (f'name="img"; filename="fallback.png"; filename*=UTF-8\'\'{encoded}', "image/png", content),
    ])
    r = client.post("/upload", body, {"Content-Type": content_type})
    assert r.status == 200, r.body
    assert r.json() == {"filename": "图片 1.png", "content_type": "image/png", "size": 1024, "title": "标题",
                        "name": "img"}
    assert (tmp_path / "saved.bin").read_bytes() == content


def test_multipart_plain_filename_and_annotation(serve: Serve, tmp_path: Any) -> None:
    client = serve(body_app(str(tmp_path)))
    body, content_type = multipart([('name="doc"; filename="a.txt"', "text/plain", b"hello")])
    r = client.post("/upload/annotated", body, {"Content-Type": content_type})
    assert (r.status, r.text) == (200, "a.txt:5")


def test_missing_required_upload_is_400(serve: Serve, tmp_path: Any) -> None:
    client = serve(body_app(str(tmp_path)))
    body, content_type = multipart([('name="other"', "", b"x")])
    r = client.post("/upload/required", body, {"Content-Type": content_type})
    assert r.status == 400
    assert b"doc" in r.body


# -- session, request, response ------------------------------------------------------------


def context_app() -> Application:
    app = Application()

    @app.request_map("session")
    def test_session(session: Any = Session(), invalid: bool = False) -> str:
        ins = session.get_attribute("in-session")
        if not ins:
            session.set_attribute("in-session", "Hello, Session!")
        if invalid:
            session.invalidate()
        return f"<!DOCTYPE html><html><body>{ins}</body></html>"

    @app.route("/session/annotated")
    def session_annotated(session: Session) -> dict[str, Any]:
        count = (session.get_attribute("count") or 0) + 1
        session.set_attribute("count", count)
        return {"count": count, "id": session.id}

    @app.route("/request", method=["GET", "POST"])
    def request_arg(req: Request) -> dict[str, Any]:
        return {"method": req.method, "path": req.path, "q": req.parameter.get("q"),
                "header": req.headers.get("X-H"), "body": req.body.decode()}

    @app.route("/response")
    def response_arg(response: Response) -> str:
        response.status_code = 201
        response.add_header("X-Set", "yes")
        response.cookies["made"] = "1"
        return "made"

    return app


def test_session_keeps_attributes_between_requests(serve: Serve) -> None:
    client = serve(context_app())
    first = client.get("/session")
    assert first.text == "<!DOCTYPE html><html><body>None</body></html>"
    cookie = session_cookie(first)
    second = client.get("/session", headers={"Cookie": cookie})
    assert second.text == "<!DOCTYPE html><html><body>Hello, Session!</body></html>"
    # Invalidate it: the next request with the old cookie starts a new session.
    third = client.get("/session?invalid=true", headers={"Cookie": cookie})
    assert third.text == "<!DOCTYPE html><html><body>Hello, Session!</body></html>"
    fourth = client.get("/session", headers={"Cookie": cookie})
    assert fourth.text == "<!DOCTYPE html><html><body>None</body></html>"


def test_session_annotation(serve: Serve) -> None:
    client = serve(context_app())
    r1 = client.get("/session/annotated")
    cookie = session_cookie(r1)
    r2 = client.get("/session/annotated", headers={"Cookie": cookie})
    assert r1.json()["count"] == 1
    assert r2.json() == {"count": 2, "id": r1.json()["id"]}
    # Another client without the cookie has its own session.
    assert client.get("/session/annotated").json()["count"] == 1


def test_request_argument(serve: Serve) -> None:
    client = serve(context_app())
    r = client.get("/request?q=%E4%B8%AD", headers={"X-H": "h"})
    assert r.json() == {"method": "GET", "path": "/request", "q": "中", "header": "h", "body": ""}
    r = client.post("/request", b"raw body", {"Content-Type": "text/plain"})
    assert r.json() == {"method": "POST", "path": "/request", "q": None, "header": None, "body": "raw body"}


def test_response_argument(serve: Serve) -> None:
    client = serve(context_app())
    r = client.get("/response")
    assert (r.status, r.text) == (201, "made")
    assert r.header("X-Set") == "yes"
    assert r.header("Set-Cookie") == "made=1"


# -- async controllers ---------------------------------------------------------------------


def async_app() -> Application:
    app = Application()

    @app.route("/async/param")
    async def async_param(name: str = Parameter("name", default="anon"), n: int = 1) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"name": name, "n": n}

    @app.route("/async/json", method="POST")
    async def async_json(data: JSONBody, token: Any = Header("X-Token", default="")) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"data": dict(data), "token": token}

    @app.route("/async/error")
    async def async_error(n: int) -> str:
        await asyncio.sleep(0)
        return f"n={n}"

    @app.route("/async/session")
    async def async_session(session: Session) -> str:
        await asyncio.sleep(0)
        session.set_attribute("k", "v")
        return "ok"

    return app


def test_async_controller_with_parameters(serve: Serve) -> None:
    client = serve(async_app())
    assert client.get("/async/param").json() == {"name": "anon", "n": 1}
    assert client.get("/async/param?name=x&n=9").json() == {"name": "x", "n": 9}


def test_async_controller_with_json_body_and_header(serve: Serve) -> None:
    client = serve(async_app())
    r = client.request("POST", "/async/json", body=json.dumps({"k": [1]}),
                       headers={"Content-Type": "application/json", "X-Token": "t"})
    assert r.json() == {"data": {"k": [1]}, "token": "t"}


def test_async_controller_argument_errors_are_400(serve: Serve) -> None:
    client = serve(async_app())
    assert client.get("/async/error?n=x").status == 400
    assert client.get("/async/error").status == 400
    assert client.get("/async/error?n=3").text == "n=3"


def test_async_controller_session(serve: Serve) -> None:
    client = serve(async_app())
    r = client.get("/async/session")
    assert r.text == "ok"
    assert session_cookie(r).startswith(SESSION_COOKIE_NAME + "=")
