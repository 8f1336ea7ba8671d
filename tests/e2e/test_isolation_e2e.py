"""Two ``Application`` instances served at once (one per driver), same paths, different
everything: each answers only with its own routes, filters, error pages, sessions, plugins."""
from __future__ import annotations

import itertools
import threading
from typing import Any, Callable, Iterator, Optional

import pytest

import naja_atra
from naja_atra import SESSION_COOKIE_NAME, Application, Session, SessionFactory
from naja_atra.app.context import FilterContext, RequestContext
from naja_atra.app.routes import Route

from ..support import Client, Reply

TwoApps = tuple[Client, Client, dict[str, Any]]


class TaggedSession(Session):
    def __init__(self, session_id: str) -> None:
        super().__init__()
        self._id = session_id
        self._attrs: dict[str, Any] = {}

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
        return False

    @property
    def attribute_names(self) -> tuple[str, ...]:
        return tuple(self._attrs)

    def get_attribute(self, name: str) -> Any:
        return self._attrs.get(name)

    def set_attribute(self, name: str, value: Any) -> None:
        self._attrs[name] = value

    def invalidate(self) -> None:
        pass


class TaggedFactory(SessionFactory):
    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.store: dict[str, TaggedSession] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def get_session(self, session_id: str, create: bool = False) -> Optional[Session]:
        with self._lock:
            if session_id in self.store:
                return self.store[session_id]
            if not create:
                return None
            session = TaggedSession(f"{self.tag}-{next(self._ids)}")
            self.store[session.id] = session
            return session


class HeaderPlugin:
    """Wraps every controller of the app it is registered in: adds ``X-Plugin: <tag>``."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.routes: list[str] = []

    @naja_atra.hookimpl
    def naja_atra_route_added(self, app: Application, route: Route) -> None:
        self.routes.append(route.path)

    @naja_atra.hookimpl
    def naja_atra_wrap_handler(self, app: Application, route: Route) -> Callable[[Any], Any]:
        tag = self.tag

        def wrap(call: Any) -> Any:
            def wrapped(ctx: RequestContext) -> Any:
                ctx.response.add_header("X-Plugin", tag)
                return call(ctx)
            return wrapped
        return wrap


def _make_app(tag: str, factory: Optional[SessionFactory], plugin: HeaderPlugin, seen: list[str]) -> Application:
    app = Application()

    @app.route("/whoami")
    def whoami() -> str:
        return f"app-{tag}"

    @app.route(f"/only-{tag}")
    def only() -> str:
        return f"only-{tag}"

    @app.route("/session")
    def session_value(session: Session, v: str = "") -> str:
        if v:
            session.set_attribute("v", v)
        return f"{tag}:{session.id}:{session.get_attribute('v')}"

    @app.request_filter("/**")
    def tag_filter(ctx: FilterContext) -> None:
        seen.append(f"{tag} {ctx.request.path}")
        ctx.response.add_header("X-App", tag)
        ctx.do_chain()

    @app.error_message("404")
    def not_found(code: int) -> str:
        return f"{tag}-{code}"

    if factory is not None:
        app.set_session_factory(factory)
    app.register(plugin)
    return app


@pytest.fixture
def two_apps(driver: str) -> Iterator[TwoApps]:
    """App A on ``driver``, app B on the other driver, both serving at the same time."""
    seen: list[str] = []
    plugin_a, plugin_b = HeaderPlugin("A"), HeaderPlugin("B")
    factory_b = TaggedFactory("b")
    app_a = _make_app("A", None, plugin_a, seen)
    app_b = _make_app("B", factory_b, plugin_b, seen)
    started: list[Application] = []
    try:
        for app, coroutine in ((app_a, driver == "asyncio"), (app_b, driver != "asyncio")):
            app.run_in_thread(host="127.0.0.1", port=0, prefer_coroutine=coroutine)
            started.append(app)
        assert app_a.server is not None and app_b.server is not None
        assert app_a.server.port != app_b.server.port
        info = {"seen": seen, "plugin_a": plugin_a, "plugin_b": plugin_b, "factory_b": factory_b,
                "app_a": app_a, "app_b": app_b}
        yield Client(app_a.server.port), Client(app_b.server.port), info
    finally:
        for app in started:
            app.stop()


def _check(reply: Reply, tag: str, status: int, text: str) -> None:
    assert (reply.status, reply.text) == (status, text)
    assert reply.header("X-App") in (tag, None)
    assert reply.headers.get_all("X-App") in ([tag], None)


def test_each_app_answers_with_its_own_routes_filters_and_plugins(two_apps: TwoApps) -> None:
    a, b, info = two_apps
    reply = a.get("/whoami")
    _check(reply, "A", 200, "app-A")
    assert reply.header("X-App") == "A"
    assert reply.headers.get_all("X-Plugin") == ["A"]
    reply = b.get("/whoami")
    _check(reply, "B", 200, "app-B")
    assert reply.header("X-App") == "B"
    assert reply.headers.get_all("X-Plugin") == ["B"]
    assert a.get("/only-A").text == "only-A"
    assert b.get("/only-B").text == "only-B"
    assert info["seen"] == ["A /whoami", "B /whoami", "A /only-A", "B /only-B"]
    assert sorted(info["plugin_a"].routes) == ["/only-A", "/session", "/whoami"]
    assert sorted(info["plugin_b"].routes) == ["/only-B", "/session", "/whoami"]


def test_each_app_has_its_own_error_pages(two_apps: TwoApps) -> None:
    a, b, _ = two_apps
    reply = a.get("/only-B")
    assert (reply.status, reply.text) == (404, "A-404")
    reply = b.get("/only-A")
    assert (reply.status, reply.text) == (404, "B-404")


def test_each_app_has_its_own_sessions(two_apps: TwoApps) -> None:
    a, b, info = two_apps
    reply_a = a.get("/session?v=from-a")
    cookie_a = reply_a.text.split(":")[1]
    assert reply_a.text == f"A:{cookie_a}:from-a"
    assert f"{SESSION_COOKIE_NAME}={cookie_a}" in (reply_a.header("Set-Cookie") or "")
    reply_b = b.get("/session?v=from-b")
    assert reply_b.text == "B:b-1:from-b"
    # A's cookie means nothing to B (B's factory never issued it), and the other way round.
    reply = b.get("/session", headers={"Cookie": f"{SESSION_COOKIE_NAME}={cookie_a}"})
    assert reply.text == "B:b-2:None"
    reply = a.get("/session", headers={"Cookie": f"{SESSION_COOKIE_NAME}=b-1"})
    new_a = reply.text.split(":")[1]
    assert new_a not in (cookie_a, "b-1")
    assert reply.text == f"A:{new_a}:None"
    # Each keeps its own.
    assert a.get("/session", headers={"Cookie": f"{SESSION_COOKIE_NAME}={cookie_a}"}).text == f"A:{cookie_a}:from-a"
    assert b.get("/session", headers={"Cookie": f"{SESSION_COOKIE_NAME}=b-1"}).text == "B:b-1:from-b"
    assert sorted(info["factory_b"].store) == ["b-1", "b-2"]


def test_two_default_session_stores_do_not_share_ids(driver: str) -> None:
    apps = [Application(), Application()]

    def session_id(session: Session) -> str:
        session.set_attribute("seen", True)  # a session is stored from its first attribute
        return session.id

    for app in apps:
        app.route("/id")(session_id)
    try:
        for app, coroutine in zip(apps, (driver == "asyncio", driver != "asyncio"), strict=False):
            app.run_in_thread(host="127.0.0.1", port=0, prefer_coroutine=coroutine)
        ports = [app.server.port for app in apps if app.server is not None]
        first, second = Client(ports[0]), Client(ports[1])
        id_one = first.get("/id").text
        cookie = {"Cookie": f"{SESSION_COOKIE_NAME}={id_one}"}
        assert first.get("/id", headers=cookie).text == id_one
        id_two = second.get("/id", headers=cookie).text
        assert id_two != id_one
    finally:
        for app in apps:
            app.stop()


def test_a_late_route_rebuilds_only_its_app_and_stopping_one_leaves_the_other(two_apps: TwoApps) -> None:
    a, b, info = two_apps
    assert a.get("/whoami").text == "app-A"
    assert b.get("/whoami").text == "app-B"
    info["app_b"].route("/late")(lambda: "late-B")
    assert b.get("/late").text == "late-B"
    assert (a.get("/late").status, a.get("/late").text) == (404, "A-404")
    info["app_a"].stop()
    with pytest.raises(OSError):
        a.get("/whoami")
    assert b.get("/whoami").text == "app-B"


def test_the_default_app_is_not_touched(two_apps: TwoApps) -> None:
    a, b, _ = two_apps
    a.get("/whoami")
    b.get("/whoami")
    paths = [m.path for m in naja_atra.default_app.registry.mappings]
    assert "/whoami" not in paths
    assert "/only-A" not in paths and "/only-B" not in paths
    assert naja_atra.default_app.registry.error_pages.get("404") is None
