"""Plugins through ``app.plugin_manager`` over real sockets (both drivers).

Hooks run when the app is built; the built-in plugins are ``trylast``, so a user plugin
that implements the same hook wins (docs/plugins.md, "The built-in plugins").
"""
from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import threading
import time
from typing import Any, Callable, Iterator, Optional, Sequence

import pytest

import naja_atra
from naja_atra import SESSION_COOKIE_NAME, Application, HttpError, Response, Session, SessionFactory
from naja_atra.app.context import FilterContext, RequestContext
from naja_atra.app.render import Converter
from naja_atra.app.routes import FilterSpec, Route, RouteMatch, RoutingInput
from naja_atra.http.errors import ConfigurationError
from naja_atra.injection.params import Param

from ..support import Client, wait_until

Serve = Callable[..., Client]
hookimpl = naja_atra.hookimpl


# -- (a) the router ---------------------------------------------------------------------------


class OneRouteRouter:
    """Sends every request to one route."""

    def __init__(self, route: Route) -> None:
        self.route = route

    def match(self, method: str, path: str, request: RoutingInput) -> RouteMatch:
        return RouteMatch(self.route, {"asked": path})

    def table(self) -> list[Route]:
        return [self.route]


class RouterPlugin:
    def __init__(self) -> None:
        self.seen_routes: list[str] = []

    @hookimpl
    def naja_atra_make_router(self, app: Application, routes: Sequence[Route]) -> OneRouteRouter:
        self.seen_routes = sorted(r.path for r in routes)
        return OneRouteRouter(next(r for r in routes if r.path == "/only"))


def test_a_plugin_router_replaces_the_builtin_one(serve: Serve) -> None:
    app = Application()

    @app.route("/only")
    def only(request: naja_atra.Request) -> str:
        return f"only:{request.method}:{request.path_values['asked']}"

    @app.route("/other")
    def other() -> str:
        return "other"

    plugin = RouterPlugin()
    app.register(plugin)
    client = serve(app)
    assert client.get("/other").text == "only:GET:/other"
    assert client.get("/deep/ly/nested").text == "only:GET:/deep/ly/nested"
    assert client.post("/x", body=b"").text == "only:POST:/x"
    assert plugin.seen_routes == ["/only", "/other"]


# -- (b) a resolver -----------------------------------------------------------------------------


class User:
    def __init__(self, name: str) -> None:
        self.name = name


class Tenant:
    def __init__(self, slug: str) -> None:
        self.slug = slug


class ResolverPlugin:
    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    @hookimpl
    def naja_atra_make_resolver(self, app: Application, route: Route, param: Param) -> Optional[Any]:
        self.asked.append((route.path, param.name))
        if param.annotation is User:
            return lambda ctx: User(ctx.request.headers.get("X-User") or "anonymous")
        if param.annotation is Tenant:
            async def tenant(ctx: RequestContext) -> Tenant:
                await asyncio.sleep(0)
                return Tenant(ctx.request.host.split(":")[0])
            return tenant
        return None  # the built-in resolvers decide


def test_a_plugin_resolver_supplies_a_custom_type(serve: Serve) -> None:
    app = Application()

    @app.route("/me")
    def me(user: User, greeting: str = "hi") -> str:
        return f"{greeting} {user.name}"

    @app.route("/tenant")
    def tenant(t: Tenant, user: User) -> str:
        return f"{t.slug}/{user.name}"

    plugin = ResolverPlugin()
    app.plugin_manager.register(plugin)
    client = serve(app)
    assert client.get("/me", headers={"X-User": "keijack"}).text == "hi keijack"
    assert client.get("/me?greeting=hello").text == "hello anonymous"
    assert client.get("/tenant", headers={"X-User": "u", "Host": "acme.example:80"}).text == "acme.example/u"
    # Asked at build, once per parameter, not per request (the built-in OPTIONS route on
    # "/**" is asked about its ``request`` too).
    assert sorted(plugin.asked) == [("/**", "request"), ("/me", "greeting"), ("/me", "user"), ("/tenant", "t"),
                                    ("/tenant", "user")]


def test_without_a_resolver_for_a_custom_type_the_start_fails_loudly(serve: Serve) -> None:
    app = Application()

    @app.route("/me")
    def me(user: User) -> str:
        return user.name

    with pytest.raises(ConfigurationError, match="user"):
        serve(app)


# -- (c) the session factory ----------------------------------------------------------------------


class PlainSession(Session):
    def __init__(self, session_id: str) -> None:
        super().__init__()
        self._id = session_id
        self._attrs: dict[str, Any] = {}
        self._new = True

    @property
    def id(self) -> str:
        return self._id

    @property
    def creation_time(self) -> float:
        return 0.0

    @property
    def last_accessed_time(self) -> float:
        return 0.0

    @property
    def is_new(self) -> bool:
        return self._new

    @property
    def attribute_names(self) -> tuple[str, ...]:
        return tuple(self._attrs)

    def get_attribute(self, name: str) -> Any:
        return self._attrs.get(name)

    def set_attribute(self, name: str, value: Any) -> None:
        self._attrs[name] = value

    def invalidate(self) -> None:
        pass


class PrefixFactory(SessionFactory):
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.store: dict[str, PlainSession] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def get_session(self, session_id: str, create: bool = False) -> Optional[Session]:
        with self._lock:
            found = self.store.get(session_id)
            if found is not None:
                found._new = False
                return found
            if not create:
                return None
            session = PlainSession(f"{self.prefix}{next(self._ids)}")
            self.store[session.id] = session
            return session


class SessionPlugin:
    def __init__(self, factory: SessionFactory) -> None:
        self.factory = factory

    @hookimpl
    def naja_atra_make_session_factory(self, app: Application) -> SessionFactory:
        return self.factory


def test_a_plugin_session_factory_wins(serve: Serve) -> None:
    app = Application()

    @app.route("/count")
    def count(session: Session) -> str:
        n = (session.get_attribute("n") or 0) + 1
        session.set_attribute("n", n)
        return f"{session.id}:{n}"

    app.set_session_factory(PrefixFactory("app-"))  # the plugin's must win over this one
    app.register(SessionPlugin(PrefixFactory("plug-")))
    client = serve(app)
    reply = client.get("/count")
    assert reply.text == "plug-1:1"
    assert f"{SESSION_COOKIE_NAME}=plug-1" in (reply.header("Set-Cookie") or "")
    cookie = {"Cookie": f"{SESSION_COOKIE_NAME}=plug-1"}
    assert client.get("/count", headers=cookie).text == "plug-1:2"


# -- (d) error handling ----------------------------------------------------------------------------


class ErrorPlugin:
    def __init__(self) -> None:
        self.errors: list[int] = []

    @hookimpl
    def naja_atra_handle_error(self, app: Application, ctx: RequestContext, error: HttpError) -> Optional[Response]:
        self.errors.append(error.code)
        if error.code == 403:
            return None  # the built-in error pages answer
        cause = error.__cause__
        name = type(cause).__name__ if cause is not None else "-"
        return Response(error.code, {"X-Handled-By": "plugin", "Content-Type": "text/plain"},
                        f"plugin:{error.code}:{error.message}:{name}:{ctx.request.path}")


def test_a_plugin_handles_errors(serve: Serve) -> None:
    app = Application()

    @app.route("/crash")
    def crash() -> str:
        raise KeyError("hidden")

    @app.route("/teapot")
    def teapot() -> str:
        raise HttpError(418, "short and stout")

    @app.route("/forbidden")
    def forbidden() -> str:
        raise HttpError(403, "no")

    @app.error_message("403", "404", "418", "500")
    def page(code: int) -> str:
        return f"page:{code}"

    plugin = ErrorPlugin()
    app.register(plugin)
    client = serve(app)
    reply = client.get("/missing")
    assert (reply.status, reply.text) == (404, "plugin:404:Not Found:-:/missing")
    assert reply.header("X-Handled-By") == "plugin"
    reply = client.get("/teapot")
    assert (reply.status, reply.text) == (418, "plugin:418:short and stout:-:/teapot")
    reply = client.get("/crash")
    assert (reply.status, reply.text) == (500, "plugin:500:Internal Server Error:KeyError:/crash")
    # None lets the built-in plugin answer with the app's error page.
    reply = client.get("/forbidden")
    assert (reply.status, reply.text) == (403, "page:403")
    assert reply.header("X-Handled-By") is None
    assert plugin.errors == [404, 418, 500, 403]


# -- (e) response converters --------------------------------------------------------------------------


class Money:
    def __init__(self, amount: int, currency: str) -> None:
        self.amount = amount
        self.currency = currency


class ConverterPlugin:
    @hookimpl
    def naja_atra_response_converters(self, app: Application) -> list[tuple[type, Converter]]:
        def money(value: Money, ctx: RequestContext) -> None:
            ctx.response.headers["Content-Type"] = "text/plain; charset=utf-8"
            ctx.response.headers["X-Currency"] = value.currency
            ctx.response.body = f"{value.amount} {value.currency}"

        def as_pairs(value: dict[str, Any], ctx: RequestContext) -> None:
            ctx.response.headers["Content-Type"] = "text/plain; charset=utf-8"
            ctx.response.body = "&".join(f"{k}={value[k]}" for k in sorted(value))

        return [(Money, money), (dict, as_pairs)]


def test_plugin_response_converters(serve: Serve) -> None:
    app = Application()

    @app.route("/price")
    def price() -> Money:
        return Money(42, "EUR")

    @app.route("/dict")
    def as_dict() -> dict[str, Any]:
        return {"b": 2, "a": 1}

    @app.route("/text")
    def text() -> str:
        return "still text"

    app.register(ConverterPlugin())
    client = serve(app)
    reply = client.get("/price")
    assert (reply.status, reply.text) == (200, "42 EUR")
    assert reply.header("X-Currency") == "EUR"
    reply = client.get("/dict")
    assert (reply.status, reply.text) == (200, "a=1&b=2")
    assert reply.header("Content-Type") == "text/plain; charset=utf-8"
    assert client.get("/text").text == "still text"


def test_an_unknown_return_type_without_a_converter_is_a_500(serve: Serve) -> None:
    app = Application()

    @app.route("/price")
    def price() -> Money:
        return Money(1, "USD")

    client = serve(app)
    reply = client.get("/price")
    assert reply.status == 500
    assert "USD" not in reply.text


# -- wrap_handler, route_added, lifespan, configure -----------------------------------------------------


class WrapPlugin:
    def __init__(self) -> None:
        self.order: list[str] = []

    @hookimpl
    def naja_atra_wrap_handler(self, app: Application, route: Route) -> Callable[[Any], Any]:
        order = self.order

        def wrap(call: Any) -> Any:
            if inspect.iscoroutinefunction(call):
                async def wrapped_async(ctx: RequestContext) -> Any:
                    order.append(f"before {route.path}")
                    result = await call(ctx)
                    order.append(f"after {route.path}")
                    ctx.response.add_header("X-Wrapped", route.path)
                    return result
                return wrapped_async

            def wrapped(ctx: RequestContext) -> Any:
                order.append(f"before {route.path}")
                result = call(ctx)
                order.append(f"after {route.path}")
                ctx.response.add_header("X-Wrapped", route.path)
                return result
            return wrapped
        return wrap


def test_wrap_handler_around_sync_and_async_controllers(serve: Serve) -> None:
    app = Application()
    plugin = WrapPlugin()

    @app.route("/sync")
    def sync_page() -> str:
        plugin.order.append("sync")
        return "sync"

    @app.route("/async")
    async def async_page() -> str:
        await asyncio.sleep(0)
        plugin.order.append("async")
        return "async"

    app.register(plugin)
    client = serve(app)
    reply = client.get("/sync")
    assert (reply.text, reply.header("X-Wrapped")) == ("sync", "/sync")
    reply = client.get("/async")
    assert (reply.text, reply.header("X-Wrapped")) == ("async", "/async")
    assert plugin.order == ["before /sync", "sync", "after /sync", "before /async", "async", "after /async"]


class RouteObserver:
    def __init__(self) -> None:
        self.routes: list[tuple[str, tuple[str, ...], str]] = []

    @hookimpl
    def naja_atra_route_added(self, app: Application, route: Route) -> None:
        self.routes.append((route.path or route.regexp, tuple(route.methods), route.handler.__name__))


def test_route_added_observes_every_route(serve: Serve) -> None:
    app = Application()

    @app.route("/a", method="GET")
    def handler_a() -> str:
        return "a"

    @app.route("/b", method=["POST", "PUT"])
    def handler_b() -> str:
        return "b"

    @app.route(regexp="^/reg/(.+)$")
    def handler_reg() -> str:
        return "reg"

    observer = RouteObserver()
    app.register(observer)
    client = serve(app)
    assert client.get("/a").text == "a"
    assert sorted(observer.routes) == [
        ("/a", ("GET",), "handler_a"),
        ("/b", ("POST", "PUT"), "handler_b"),
        ("^/reg/(.+)$", (), "handler_reg"),
    ]


class RejectingObserver:
    @hookimpl
    def naja_atra_route_added(self, app: Application, route: Route) -> None:
        if route.path.startswith("/admin"):
            raise ValueError("admin routes need auth")


def test_route_added_raising_fails_the_start_naming_the_route(serve: Serve) -> None:
    app = Application()

    @app.route("/admin/panel")
    def panel() -> str:
        return "panel"

    app.register(RejectingObserver())
    with pytest.raises(ConfigurationError, match="/admin/panel"):
        serve(app)


class LifespanPlugin:
    def __init__(self, name: str, events: list[str], state: dict[str, str]) -> None:
        self.name = name
        self.events = events
        self.state = state

    @hookimpl
    def naja_atra_lifespan(self, app: Application) -> Any:
        @contextlib.contextmanager
        def span() -> Iterator[None]:
            self.events.append(f"enter {self.name}")
            self.state[self.name] = "open"
            try:
                yield
            finally:
                self.state[self.name] = "closed"
                self.events.append(f"exit {self.name}")
        return span()


def test_lifespan_contexts_entered_at_start_and_exited_in_reverse_at_stop(serve: Serve) -> None:
    app = Application()
    events: list[str] = []
    state: dict[str, str] = {}

    @app.route("/state")
    def show() -> str:
        return ",".join(f"{k}={state[k]}" for k in sorted(state))

    app.register(LifespanPlugin("db", events, state))
    app.register(LifespanPlugin("cache", events, state))
    client = serve(app)
    assert sorted(events) == ["enter cache", "enter db"]
    assert client.get("/state").text == "cache=open,db=open"
    app.stop()
    assert wait_until(lambda: len(events) == 4), events
    entered = [e.split()[1] for e in events[:2]]
    exited = [e.split()[1] for e in events[2:]]
    assert [e.split()[0] for e in events] == ["enter", "enter", "exit", "exit"]
    assert exited == list(reversed(entered))
    assert state == {"db": "closed", "cache": "closed"}


class ConfigurePlugin:
    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def naja_atra_configure(self, app: Application) -> None:
        self.calls += 1

        @app.route("/from-plugin")
        def from_plugin() -> str:
            return "configured"

        @app.request_filter("/from-plugin")
        def tag(ctx: FilterContext) -> None:
            ctx.response.add_header("X-Configured", "yes")
            ctx.do_chain()


def test_configure_registers_routes_once_per_app(serve: Serve) -> None:
    app = Application()

    @app.route("/own")
    def own() -> str:
        return "own"

    plugin = ConfigurePlugin()
    app.register(plugin)
    client = serve(app)
    reply = client.get("/from-plugin")
    assert (reply.status, reply.text) == (200, "configured")
    assert reply.header("X-Configured") == "yes"
    # A rebuild (a new route) does not configure again.
    app.route("/later")(lambda: "later")
    assert client.get("/later").text == "later"
    assert client.get("/from-plugin").text == "configured"
    assert plugin.calls == 1


class FilterPlugin:
    def __init__(self, order: list[str]) -> None:
        self.order = order

    @hookimpl
    def naja_atra_request_filters(self, app: Application) -> list[FilterSpec]:
        def plugin_filter(ctx: FilterContext) -> None:
            self.order.append("plugin")
            ctx.do_chain()
        return [FilterSpec(plugin_filter, path="/f/**")]


def test_a_plugin_contributes_filters_after_the_apps_own(serve: Serve) -> None:
    app = Application()
    order: list[str] = []

    @app.request_filter("/f/**")
    def own(ctx: FilterContext) -> None:
        order.append("own")
        ctx.do_chain()

    @app.route("/f/x")
    def fx() -> str:
        order.append("controller")
        return "fx"

    @app.route("/g")
    def g() -> str:
        return "g"

    app.register(FilterPlugin(order))
    client = serve(app)
    assert client.get("/f/x").text == "fx"
    assert client.get("/g").text == "g"
    assert order == ["own", "plugin", "controller"]


# -- disabling built-ins ---------------------------------------------------------------------------


def test_set_blocked_static_disables_static_files(serve: Serve, tmp_path: Any) -> None:
    (tmp_path / "f.txt").write_text("file")
    app = Application()
    app.route("/r")(lambda: "route")
    app.plugin_manager.set_blocked("naja_atra.static")
    client = serve(app, resources={"/s/**": str(tmp_path)})
    assert client.get("/s/f.txt").status == 404
    assert client.get("/r").text == "route"


def test_static_files_are_served_when_not_blocked(serve: Serve, tmp_path: Any) -> None:
    (tmp_path / "f.txt").write_text("file")
    app = Application()
    client = serve(app, resources={"/s/**": str(tmp_path)})
    assert client.get("/s/f.txt").text == "file"


def test_unregister_the_builtin_filters_plugin(serve: Serve) -> None:
    app = Application()

    @app.request_filter("/x")
    def deny(ctx: FilterContext) -> None:
        raise HttpError(403, "filtered")

    app.route("/x")(lambda: "x")
    app.plugin_manager.unregister(name="naja_atra.filters")
    client = serve(app)
    assert client.get("/x").text == "x"


def test_blocking_the_router_without_a_replacement_fails_loudly(serve: Serve) -> None:
    app = Application()
    app.route("/x")(lambda: "x")
    app.plugin_manager.set_blocked("naja_atra.routing")
    with pytest.raises(ConfigurationError):
        serve(app)


# -- rebuilds after the first request ------------------------------------------------------------------


def test_registrations_after_the_first_request_are_picked_up(serve: Serve) -> None:
    app = Application()
    app.route("/a")(lambda: "a")
    client = serve(app)
    assert client.get("/a").text == "a"
    assert client.get("/b").status == 404

    @app.route("/b")
    def b() -> str:
        return "b"

    assert client.get("/b").text == "b"

    @app.request_filter("/a")
    def tag(ctx: FilterContext) -> None:
        ctx.response.add_header("X-Late-Filter", "1")
        ctx.do_chain()

    assert client.get("/a").header("X-Late-Filter") == "1"

    @app.error_message("404")
    def late_page(code: int) -> str:
        return f"late:{code}"

    assert client.get("/zzz").text == "late:404"
    app.register(ConverterPlugin())
    app.route("/price")(lambda: Money(3, "GBP"))
    assert client.get("/price").text == "3 GBP"
    plugin = WrapPlugin()
    app.register(plugin)
    assert client.get("/a").header("X-Wrapped") == "/a"


def test_a_rebuild_under_concurrent_requests(serve: Serve) -> None:
    app = Application()
    app.route("/stable")(lambda: "stable")
    client = serve(app)
    failures: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            try:
                reply = client.get("/stable")
                if (reply.status, reply.text) != (200, "stable"):
                    failures.append(f"{reply.status} {reply.text[:50]}")
            except OSError as exc:  # pragma: no cover - reported below
                failures.append(repr(exc))

    workers = [threading.Thread(target=hammer) for _ in range(4)]
    for w in workers:
        w.start()
    try:
        for i in range(20):
            app.route(f"/new{i}")(lambda: "new")
            time.sleep(0.005)
    finally:
        stop.set()
        for w in workers:
            w.join(5)
    assert failures == []
    assert client.get("/new19").text == "new"


# -- entry-point plugins (docs/plugins.md), each case in a fresh process ----------------------------------

_ENTRY_POINT_SCRIPT = r"""
import json, sys, urllib.error, urllib.request
from naja_atra import Application
app = Application(**json.loads(sys.argv[1]))
app.route("/own")(lambda: "own")
app.run_in_thread(host="127.0.0.1", port=0)
try:
    url = "http://127.0.0.1:%d/from-entry-point" % app.server.port
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            result = {"status": r.status, "body": r.read().decode()}
    except urllib.error.HTTPError as e:
        result = {"status": e.code, "body": ""}
    result["registered"] = app.plugin_manager.get_plugin("fakeplug") is not None
    print(json.dumps(result))
finally:
    app.stop()
"""


@pytest.fixture
def entry_point_dist(tmp_path: Any) -> Any:
    """A distribution ``fakeplug`` on a private path, with a ``naja_atra`` entry point."""
    (tmp_path / "fakeplug_mod.py").write_text(
        "import naja_atra\n\n"
        "@naja_atra.hookimpl\n"
        "def naja_atra_configure(app):\n"
        "    app.route('/from-entry-point')(lambda: 'entry-point')\n")
    info = tmp_path / "fakeplug-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplug\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[naja_atra]\nfakeplug = fakeplug_mod\n")
    return tmp_path


@pytest.mark.parametrize("case, kwargs, env, loaded", [
    ("default", {}, {}, True),
    ("kwarg off", {"load_entry_points": False}, {}, False),
    ("autoload off", {}, {"NAJA_ATRA_DISABLE_PLUGIN_AUTOLOAD": "1"}, False),
    ("only others", {}, {"NAJA_ATRA_PLUGINS": "someother"}, False),
    ("only this one", {}, {"NAJA_ATRA_PLUGINS": "fakeplug"}, True),
    ("empty list", {}, {"NAJA_ATRA_PLUGINS": ""}, False),
    ("disabled", {}, {"NAJA_ATRA_DISABLED_PLUGINS": "fakeplug"}, False),
])
def test_entry_point_plugins(entry_point_dist: Any, case: str, kwargs: dict[str, Any], env: dict[str, str],
                             loaded: bool) -> None:
    import json
    import os
    import subprocess
    import sys

    environ = {k: v for k, v in os.environ.items() if not k.startswith("NAJA_ATRA_")}
    environ.update(env)
    environ["PYTHONPATH"] = os.pathsep.join([str(entry_point_dist)] + sys.path)
    done = subprocess.run([sys.executable, "-c", _ENTRY_POINT_SCRIPT, json.dumps(kwargs)], env=environ,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if loaded:
        assert result == {"status": 200, "body": "entry-point", "registered": True}, case
    else:
        assert result["status"] == 404, case
        assert result["registered"] is False, case
