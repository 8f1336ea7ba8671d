"""Request filters over real sockets (both drivers): matching, redirect, errors, chain order."""
from __future__ import annotations

import asyncio
from typing import Any, Callable

from naja_atra import Application, Header, HttpError, Request
from naja_atra.app.context import FilterContext

from ..support import Client

Serve = Callable[..., Client]


def _spec_filter_app(log: list[str]) -> Application:
    """A 1.x-style filter, registered once with the wildcard and once with the regexp."""
    app = Application()

    def filter_tuple(ctx: FilterContext) -> None:
        log.append(f"filter {ctx.request.path}")
        ctx.request.headers["filter-set"] = "through filter"
        if "user_name" not in ctx.request.parameter:
            ctx.response.send_redirect("/index")
        elif "pass" not in ctx.request.parameter:
            ctx.response.send_error(400, "pass should be passed")
        else:
            ctx.do_chain()

    app.request_filter("/tuple/**")(filter_tuple)

    @app.route("/tuple/x")
    def tuple_x(filter_set: Header = Header("filter-set")) -> str:
        log.append("controller")
        return f"x:{filter_set}"

    @app.route("/tuple/a/b")
    def tuple_ab(filter_set: Header = Header("filter-set")) -> str:
        log.append("controller")
        return f"ab:{filter_set}"

    @app.route("/index")
    def index() -> str:
        return "index"

    return app


def test_wildcard_filter_sets_a_request_header_the_controller_sees(serve: Serve) -> None:
    log: list[str] = []
    client = serve(_spec_filter_app(log))
    reply = client.get("/tuple/x?user_name=k&pass=p")
    assert reply.status == 200
    assert reply.text == "x:through filter"
    reply = client.get("/tuple/a/b?user_name=k&pass=p")
    assert reply.status == 200
    assert reply.text == "ab:through filter"
    assert log == ["filter /tuple/x", "controller", "filter /tuple/a/b", "controller"]


def test_filter_send_redirect_is_a_302_and_skips_the_controller(serve: Serve) -> None:
    log: list[str] = []
    client = serve(_spec_filter_app(log))
    reply = client.get("/tuple/x")
    assert reply.status == 302
    assert reply.header("Location") == "/index"
    assert log == ["filter /tuple/x"]


def test_filter_send_error_is_the_error_page(serve: Serve) -> None:
    log: list[str] = []
    client = serve(_spec_filter_app(log))
    reply = client.get("/tuple/x?user_name=k")
    assert reply.status == 400
    assert "pass should be passed" in reply.text
    assert log == ["filter /tuple/x"]


def test_filter_send_error_uses_the_apps_error_page(serve: Serve) -> None:
    log: list[str] = []
    app = _spec_filter_app(log)

    @app.error_message("400")
    def page(code: int, message: str, explain: str = "") -> str:
        return f"page:{code}:{message}"

    client = serve(app)
    reply = client.get("/tuple/a/b?user_name=k")
    assert (reply.status, reply.text) == (400, "page:400:pass should be passed")


def test_regexp_filter(serve: Serve) -> None:
    app = Application()
    seen: list[str] = []

    @app.request_filter(regexp="^/tuple")
    def by_regexp(ctx: FilterContext) -> None:
        seen.append(ctx.request.path)
        ctx.request.headers["filter-set"] = "regexp"
        ctx.do_chain()

    @app.route("/tuple")
    def tuple_root(filter_set: Header = Header("filter-set", default="none")) -> str:
        return f"root:{filter_set}"

    @app.route("/tuple-more/{x}")
    def tuple_more(filter_set: Header = Header("filter-set", default="none")) -> str:
        return f"more:{filter_set}"

    @app.route("/other/tuple")
    def other(filter_set: Header = Header("filter-set", default="none")) -> str:
        return f"other:{filter_set}"

    client = serve(app)
    assert client.get("/tuple").text == "root:regexp"
    assert client.get("/tuple-more/1").text == "more:regexp"
    assert client.get("/other/tuple").text == "other:none"
    assert seen == ["/tuple", "/tuple-more/1"]


def test_filter_raising_http_error(serve: Serve) -> None:
    app = Application()
    ran: list[str] = []

    @app.request_filter("/guarded/**")
    def guard(ctx: FilterContext) -> None:
        raise HttpError(403, "not for you", "the filter said no")

    @app.route("/guarded/page")
    def page() -> str:
        ran.append("controller")
        return "secret"

    client = serve(app)
    reply = client.get("/guarded/page")
    assert reply.status == 403
    assert "not for you" in reply.text
    assert "secret" not in reply.text
    assert ran == []


def test_filter_raising_another_exception_is_a_500(serve: Serve) -> None:
    app = Application()

    @app.request_filter("/boom")
    def boom(ctx: FilterContext) -> None:
        raise RuntimeError("filter-internal-detail")

    @app.route("/boom")
    def page() -> str:
        return "never"

    client = serve(app)
    reply = client.get("/boom")
    assert reply.status == 500
    assert "filter-internal-detail" not in reply.text
    assert "never" not in reply.text
    # The server is still fine.
    assert client.get("/boom").status == 500


def test_two_filters_run_in_registration_order_around_the_controller(serve: Serve) -> None:
    app = Application()
    order: list[str] = []

    @app.request_filter("/chain/**")
    def first(ctx: FilterContext) -> None:
        order.append("first before")
        ctx.do_chain()
        order.append("first after")

    @app.request_filter(regexp="^/chain/")
    def second(ctx: FilterContext) -> None:
        order.append("second before")
        ctx.do_chain()
        order.append("second after")

    @app.route("/chain/run")
    def run() -> str:
        order.append("controller")
        return "ran"

    client = serve(app)
    reply = client.get("/chain/run")
    assert (reply.status, reply.text) == (200, "ran")
    assert order == ["first before", "second before", "controller", "second after", "first after"]


def test_a_filter_that_stops_the_chain_keeps_the_next_filter_from_running(serve: Serve) -> None:
    app = Application()
    order: list[str] = []

    @app.request_filter("/stop")
    def first(ctx: FilterContext) -> None:
        order.append("first")
        ctx.response.send_error(401, "stopped here")

    @app.request_filter("/stop")
    def second(ctx: FilterContext) -> None:
        order.append("second")
        ctx.do_chain()

    @app.route("/stop")
    def page() -> str:
        order.append("controller")
        return "page"

    client = serve(app)
    reply = client.get("/stop")
    assert reply.status == 401
    assert "stopped here" in reply.text
    assert order == ["first"]


def test_async_filter_awaits_the_chain_then_adds_a_header(serve: Serve) -> None:
    app = Application()
    order: list[str] = []

    @app.request_filter("/async/**")
    async def after(ctx: FilterContext) -> None:
        order.append("filter before")
        await ctx.do_chain()
        order.append("filter after")
        ctx.response.add_header("X-After", f"body={ctx.response.body}")

    @app.route("/async/page")
    def page() -> str:
        order.append("controller")
        return "page-body"

    client = serve(app)
    reply = client.get("/async/page")
    assert reply.status == 200
    assert reply.text == "page-body"
    assert reply.header("X-After") == "body=page-body"
    assert order == ["filter before", "controller", "filter after"]


def test_sync_and_async_filters_on_an_async_controller(serve: Serve) -> None:
    app = Application()
    order: list[str] = []

    @app.request_filter("/coro")
    def plain(ctx: FilterContext) -> None:
        order.append("plain")
        ctx.request.headers["X-Plain"] = "p"
        ctx.do_chain()

    @app.request_filter("/coro")
    async def awaiting(ctx: FilterContext) -> None:
        order.append("async before")
        await ctx.do_chain()
        order.append("async after")
        ctx.response.add_header("X-Async", "a")

    @app.route("/coro")
    async def coro(x_plain: Header = Header("X-Plain")) -> str:
        await asyncio.sleep(0)
        order.append("controller")
        return f"coro:{x_plain}"

    client = serve(app)
    reply = client.get("/coro")
    assert reply.status == 200
    assert reply.text == "coro:p"
    assert reply.header("X-Async") == "a"
    assert order == ["plain", "async before", "controller", "async after"]


def test_async_filter_redirect_on_an_async_controller(serve: Serve) -> None:
    app = Application()
    ran: list[str] = []

    @app.request_filter("/acoro")
    async def gate(ctx: FilterContext) -> None:
        if ctx.request.parameter.get("ok") != "1":
            ctx.response.send_redirect("/login")
            return
        await ctx.do_chain()

    @app.route("/acoro")
    async def coro() -> str:
        ran.append("controller")
        return "in"

    client = serve(app)
    reply = client.get("/acoro")
    assert reply.status == 302
    assert reply.header("Location") == "/login"
    assert ran == []
    assert client.get("/acoro?ok=1").text == "in"
    assert ran == ["controller"]


def test_a_filter_not_matching_the_path_does_not_run(serve: Serve) -> None:
    app = Application()
    seen: list[str] = []

    @app.request_filter("/tuple/**")
    def deep(ctx: FilterContext) -> None:
        seen.append("deep " + ctx.request.path)
        ctx.do_chain()

    @app.request_filter("/one/*")
    def one_segment(ctx: FilterContext) -> None:
        seen.append("one " + ctx.request.path)
        ctx.do_chain()

    for path in ("/other", "/tuplex/a", "/one/a", "/one/a/b"):
        app.route(path)(lambda: "ok")

    client = serve(app)
    for path in ("/other", "/tuplex/a", "/one/a", "/one/a/b"):
        assert client.get(path).text == "ok", path
    assert seen == ["one /one/a"]


def test_filters_on_a_route_with_path_values_are_matched_per_request(serve: Serve) -> None:
    app = Application()
    seen: list[str] = []

    @app.request_filter("/items/special")
    def special(ctx: FilterContext) -> None:
        seen.append("special " + ctx.request.path)
        ctx.do_chain()

    @app.request_filter("/items/**")
    def every(ctx: FilterContext) -> None:
        seen.append("every " + ctx.request.path)
        ctx.do_chain()

    @app.route("/items/{item_id}")
    def item(request: Request, item_id: Any = None) -> str:
        return "item:" + request.path_values["item_id"]

    client = serve(app)
    assert client.get("/items/5").text == "item:5"
    assert client.get("/items/special").text == "item:special"
    assert seen == ["every /items/5", "special /items/special", "every /items/special"]


def test_filter_reads_form_parameters_of_a_post(serve: Serve) -> None:
    app = Application()

    @app.request_filter("/login")
    def need_user(ctx: FilterContext) -> None:
        if ctx.request.parameter.get("user") != "admin":
            raise HttpError(403, "bad user")
        ctx.do_chain()

    @app.route("/login", method="POST")
    def login(user: str) -> str:
        return f"hello {user}"

    client = serve(app)
    assert client.post_form("/login", {"user": "admin"}).text == "hello admin"
    assert client.post_form("/login", {"user": "eve"}).status == 403


GUARD_BYPASSES = [
    "/files//private/a",
    "/files/./private/a",
    "/files/x/../private/a",
    "/files/x/%2e%2e/private/a",
    "/files/x%2f..%2fprivate/a",
    "/files/.%2fprivate/a",
    "/files/private/../private/a",
    "/files/%2fprivate/a",
]


def _guarded_app(ran: list[str]) -> Application:
    app = Application()

    @app.request_filter("/files/private/**")
    def guard(ctx: FilterContext) -> None:
        ctx.response.send_error(403, "private")

    @app.route("/files/**")
    def files(request: Request) -> str:
        ran.append(request.path)
        return "files:" + request.path

    return app


def test_a_guard_filter_blocks_the_plain_path(serve: Serve) -> None:
    ran: list[str] = []
    client = serve(_guarded_app(ran))
    assert client.get("/files/public/a").text == "files:/files/public/a"
    assert client.get("/files/private/a").status == 403
    assert client.get("/files/%70rivate/a").status == 403  # decoded before matching
    assert ran == ["/files/public/a"]


def test_a_guard_filter_cannot_be_bypassed_with_dot_or_empty_segments(serve: Serve) -> None:
    """naja-atra 1.2.2 normalises the path (``//``, ``.``, ``..``) before filters and routing,
    so each of these reaches the guard (403). Answering 400/404 is as safe; reaching the
    controller behind the guard is not."""
    ran: list[str] = []
    client = serve(_guarded_app(ran))
    reached = {}
    for target in GUARD_BYPASSES:
        raw = client.raw(f"GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        status = int(raw.split(b" ", 2)[1])
        if status == 200:
            reached[target] = raw.partition(b"\r\n\r\n")[2].decode()
    assert reached == {}, "the guard filter was bypassed"
    assert ran == []
