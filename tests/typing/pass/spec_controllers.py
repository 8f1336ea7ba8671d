"""naja-atra 1.x style controllers (markers as defaults, class controllers, tuples), typed:
must pass ``mypy --strict`` unchanged in spirit."""
from __future__ import annotations

import asyncio
import datetime
from typing import Any, List

from typing_extensions import assert_type

from naja_atra import (
    Cookie,
    Cookies,
    FilterContext,
    Header,
    Headers,
    HttpError,
    JSONBody,
    ModelDict,
    MultipartFile,
    Parameter,
    Parameters,
    PathValue,
    Redirect,
    RegGroup,
    RegGroups,
    Request,
    Response,
    Session,
    StaticFile,
    controller,
    error_message,
    request_filter,
    request_map,
    route,
)


@request_map("/index")
def my_ctrl() -> dict[str, Any]:
    return {"code": 0, "message": "success"}


@route("/say_hello", method=["GET", "POST"])
def my_ctrl2(name: str, name2: str = Parameter("name", default="KEIJACK"), model: ModelDict = ModelDict()) -> str:
    assert name == name2 == model["name"]
    return f"<!DOCTYPE html><html><body>hello, {name}, {name2}</body></html>"


@request_map("/error")
def my_ctrl3() -> Response:
    return Response(status_code=500)


@request_map("/exception")
def exception_ctrl() -> None:
    raise HttpError(400, "Exception")


@request_map("/upload", method="GET")
def show_upload() -> StaticFile:
    return StaticFile("/tmp/my_test_index.html", "text/html; charset=utf-8")


@request_map("/upload", method="POST")
def my_upload(img: MultipartFile = MultipartFile("img")) -> str:
    img.save_to_file("/tmp/" + img.filename)
    return "<!DOCTYPE html><html><body>upload ok!</body></html>"


@request_map("/post_txt", method="POST")
def normal_form_post(txt: str) -> str:
    return f"<!DOCTYPE html><html><body>hi, {txt}</body></html>"


@request_map("/tuple")
def tuple_results() -> tuple[int, Headers, dict[str, bool]]:
    return 200, Headers({"my-header": "headers"}), {"success": True}


@request_map("tuple_cookie")
def tuple_with_cookies(all_cookies: Cookies = Cookies(), cookie_sc: Cookie = Cookie("sc")) -> tuple[Any, ...]:
    expires = datetime.datetime(2018, 12, 31)
    cks = Cookies()
    cks["ck1"] = "keijack"
    cks["ck1"]["path"] = "/"
    cks["ck1"]["expires"] = expires.strftime(Cookies.EXPIRE_DATE_FORMAT)
    return Headers({"xx": "yyy"}), cks, "<html><body>OK</body></html>"


@request_map("/a/b/{path_val}/x")
def my_path_val_ctr(path_val: str = PathValue()) -> str:
    return f"<html><body>{path_val}</body></html>"


@request_map("/star/**")
def star_path(path_val: PathValue = PathValue()) -> str:
    return f"<html><body>{path_val}</body></html>"


@request_map("/redirect")
def redirect() -> Redirect:
    return Redirect("/index")


@request_map("session")
def test_session(session: Session = Session(), invalid: bool = False) -> str:
    ins = session.get_attribute("in-session")
    if not ins:
        session.set_attribute("in-session", "Hello, Session!")
    if invalid:
        session.invalidate()
    return f"<!DOCTYPE html><html><body>{ins}</body></html>"


async def say(sth: str = "") -> str:
    await asyncio.sleep(0)
    return f"Success! {sth}"


@request_map("/中文/coroutine")
async def coroutine_ctrl(hey: str = "Hey!") -> str:
    return await say(hey)


@route("/res/write/bytes")
def res_writer(response: Response) -> None:
    response.status_code = 200
    response.add_header("Content-Type", "application/octet-stream")
    response.write_bytes(b"abcd")
    response.write_bytes(bytearray(b"efg"))
    response.close()


@request_map("/say_hello/to/{name}", method=["GET", "POST", "PUT"])
def your_ctroller_function(
        user_name: str,
        password: str,
        skills: list[str],
        all_headers: Headers,
        user_token: Header,
        all_cookies: Cookies,
        user_info: Cookie,
        name: PathValue,
        session: Session,
) -> str:
    return "<html><body>Hello, World!</body></html>"


@route(regexp="^(reg/(.+))$", method="GET")
def my_reg_ctr(reg_groups: RegGroups, reg_group: RegGroup = RegGroup(1)) -> str:
    return f"{reg_groups}, {reg_group}"


@route("/json", method="POST")
def json_ctrl(data: JSONBody, request: Request, tags: List[str] = Parameters("tag")) -> dict[str, Any]:
    return {"keys": sorted(data), "path": request.path, "tags": tags}


@controller
@request_map("/obj", method="GET")
class MyController:

    def __init__(self) -> None:
        self._name = "ctr object"

    @request_map
    def my_ctrl_default_mth(self, name: str) -> dict[str, str]:
        return {"message": f"hello, {name}, {self._name} says. "}

    @request_map("/say_hello", method=("GET", "POST"))
    def my_ctrl_mth(self, name: str) -> dict[str, str]:
        return {"message": f"hello, {name}, {self._name} says. "}


@controller(args=["ctr_name"], kwargs={"desc": "this is a key word argument"})
class MyController2:

    def __init__(self, name: str, desc: str = "") -> None:
        self._name = f"ctr[{name}] - {desc}"


@error_message("403", "404")
def my_40x_page(message: str, explain: str = "") -> str:
    return f"<html><body>message: {message}, explain: {explain}</body></html>"


@error_message
def my_error_message(code: int, message: str, explain: str = "") -> str:
    return f"{code}-{message}-{explain}"


@request_filter("/tuple/**")
def filter_tuple(ctx: FilterContext) -> None:
    ctx.request.headers["filter-set"] = "through filter"
    if "user_name" not in ctx.request.parameter:
        ctx.response.send_redirect("/index")
    else:
        ctx.do_chain()


# Decorators keep the function's type: calling a controller is checked like any call.
# (Only type-checked: importing this module registers on ``naja_atra.default_app``.)
async def _checks() -> None:
    assert_type(my_ctrl2("a"), str)
    assert_type(await coroutine_ctrl(), str)
    assert_type(MyController().my_ctrl_mth("x"), dict[str, str])
    assert_type(MyController2("n"), MyController2)
