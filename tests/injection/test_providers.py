"""``Depends(provider, scope=...)`` through real ``Application``s.

Most tests drive the app in process with ``app.test_client()`` (``with`` enters and leaves
the application's lifespan, where app-scoped values are torn down); a few serve it on
127.0.0.1 on both drivers (async providers, concurrent first creation of an app-scoped
value, teardown at ``stop()``).
"""
from __future__ import annotations

import asyncio
import contextlib
import http.client
import itertools
import threading
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Iterator, Optional

import pytest
from typing_extensions import Annotated

from naja_atra import (
    Application,
    ConfigurationError,
    Header,
    HttpError,
    Parameter,
    Request,
    hookimpl,
)
from naja_atra.injection.aliases import FromHeader, Query
from naja_atra.injection.providers import Dependency, Depends, provider_kind
from naja_atra.testing import TestClient

from ..support import DRIVERS, serving

KINDS = ["function", "async function", "generator", "async generator"]
SCOPES = ["request", "app", "transient"]
WAIT = 5.0
WS_HEADERS = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
              "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


def make_app(**options: Any) -> Application:
    """An isolated app (the providers plugin is built in)."""
    return Application(load_entry_points=False, **options)


class Log:
    """What providers and controllers did, in order (thread-safe)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        with self._lock:
            self.lines.append(line)

    def take(self) -> list[str]:
        with self._lock:
            lines, self.lines = self.lines, []
        return lines


@dataclass
class Thing:
    n: int


def counted_provider(kind: str, log: Log) -> Callable[..., Any]:
    """A provider of ``kind`` that makes ``Thing(1)``, ``Thing(2)``... and logs it."""
    counter = itertools.count(1)

    if kind == "function":
        def make() -> Thing:
            n = next(counter)
            log(f"make {n}")
            return Thing(n)
        return make
    if kind == "async function":
        async def make_async() -> Thing:
            await asyncio.sleep(0)
            n = next(counter)
            log(f"make {n}")
            return Thing(n)
        return make_async
    if kind == "generator":
        def make_gen() -> Iterator[Thing]:
            n = next(counter)
            log(f"make {n}")
            yield Thing(n)
            log(f"close {n}")
        return make_gen

    async def make_agen() -> AsyncIterator[Thing]:
        n = next(counter)
        log(f"make {n}")
        yield Thing(n)
        await asyncio.sleep(0)
        log(f"close {n}")
    return make_agen


def entry_for(app: Application, path: str) -> Any:
    """The built ``RouteEntry`` of ``path`` (to check sync vs async)."""
    for route, entry in app.dispatcher.entries.items():
        if route.path == path:
            return entry
    raise AssertionError(f"no route {path}")


# -- kinds x scopes --------------------------------------------------------------------------


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("kind", KINDS)
def test_kind_and_scope(kind: str, scope: Any) -> None:
    """Two consumers per request (the controller and another provider): request scope makes
    one value per request, transient one per consumer, app one for the app (torn down when
    the lifespan ends); generators are closed after each request, last made first."""
    log = Log()
    provider = counted_provider(kind, log)

    def consumer(thing: Thing = Depends(provider, scope=scope)) -> Thing:
        return thing

    app = make_app()

    @app.route("/")
    def view(a: Thing = Depends(provider, scope=scope), b: Thing = Depends(consumer)) -> str:
        return f"{a.n},{b.n}"

    closing = kind in ("generator", "async generator")
    with app.test_client() as client:
        first, second = client.get("/"), client.get("/")
        assert entry_for(app, "/").is_async == kind.startswith("async")
        during = log.take()
    after = log.take()

    assert (first.status_code, second.status_code) == (200, 200), first.text
    if scope == "request":
        assert (first.text, second.text) == ("1,1", "2,2")
        assert during == (["make 1", "close 1", "make 2", "close 2"] if closing else ["make 1", "make 2"])
        assert after == []
    elif scope == "transient":
        assert (first.text, second.text) == ("1,2", "3,4")
        assert during == (["make 1", "make 2", "close 2", "close 1", "make 3", "make 4", "close 4", "close 3"]
                          if closing else ["make 1", "make 2", "make 3", "make 4"])
        assert after == []
    else:
        assert (first.text, second.text) == ("1,1", "1,1")
        assert during == ["make 1"]
        assert after == (["close 1"] if closing else [])


def test_provider_kinds_are_detected() -> None:
    log = Log()
    for kind in KINDS:
        assert provider_kind(counted_provider(kind, log)) == kind
    assert provider_kind(Thing) == "function"


# -- request scope, transient, cleanups ---------------------------------------------------------


def test_request_scope_is_shared_by_every_consumer_and_transient_is_not() -> None:
    log = Log()
    made = itertools.count(1)

    def shared() -> int:
        log("shared")
        return next(made)

    def fresh() -> object:
        log("fresh")
        return object()

    def left(s: int = Depends(shared), f: object = Depends(fresh, scope="transient")) -> tuple[int, object]:
        return s, f

    def right(s: int = Depends(shared), f: object = Depends(fresh, scope="transient")) -> tuple[int, object]:
        return s, f

    app = make_app()

    @app.route("/")
    def view(a: Any = Depends(left), b: Any = Depends(right), s: int = Depends(shared)) -> dict[str, Any]:
        return {"same": a[0] == b[0] == s, "fresh_differs": a[1] is not b[1]}

    reply = app.test_client().get("/")
    assert reply.json() == {"same": True, "fresh_differs": True}
    assert sorted(log.take()) == ["fresh", "fresh", "shared"]


def test_cleanups_run_last_made_first_and_see_the_controllers_exception() -> None:
    log = Log()

    def outer() -> Iterator[str]:
        log("open outer")
        try:
            yield "outer"
        except Exception as exc:
            log(f"outer saw {exc!r}")
            raise
        finally:
            log("close outer")

    def inner(o: str = Depends(outer)) -> Iterator[str]:
        log("open inner")
        try:
            yield o + "+inner"
        except Exception as exc:
            log(f"inner saw {exc!r}")
            raise
        finally:
            log("close inner")

    app = make_app()

    @app.route("/ok")
    def ok(value: str = Depends(inner)) -> str:
        return value

    @app.route("/teapot")
    def teapot(value: str = Depends(inner)) -> str:
        raise HttpError(418, "I'm a teapot")

    @app.route("/boom")
    def boom(value: str = Depends(inner)) -> str:
        raise ValueError("boom")

    client = app.test_client()
    reply = client.get("/ok")
    assert (reply.status_code, reply.text) == (200, "outer+inner")
    assert log.take() == ["open outer", "open inner", "close inner", "close outer"]

    assert client.get("/teapot").status_code == 418
    lines = log.take()
    assert lines[:2] == ["open outer", "open inner"]
    assert lines[2].startswith("inner saw HttpError") and lines[4].startswith("outer saw HttpError")
    assert (lines[3], lines[5]) == ("close inner", "close outer")

    assert client.get("/boom").status_code == 500
    assert log.take() == ["open outer", "open inner", "inner saw ValueError('boom')", "close inner",
                          "outer saw ValueError('boom')", "close outer"]


def test_a_cleanup_can_translate_the_exception() -> None:
    class Conflict(Exception):
        pass

    def transaction() -> Iterator[str]:
        try:
            yield "tx"
        except Conflict:
            raise HttpError(409, "Conflict") from None

    app = make_app()

    @app.route("/save")
    def save(tx: str = Depends(transaction)) -> str:
        raise Conflict()

    assert app.test_client().get("/save").status_code == 409


def test_a_failing_provider_answers_like_a_controller_and_earlier_cleanups_run() -> None:
    log = Log()

    def resource() -> Iterator[str]:
        log("open")
        try:
            yield "r"
        except Exception as exc:
            log(f"saw {type(exc).__name__}")
            raise
        finally:
            log("close")

    def denied(r: str = Depends(resource)) -> str:
        raise HttpError(403, "Forbidden", "no entry")

    def broken(r: str = Depends(resource)) -> str:
        raise KeyError("bug")

    app = make_app()

    @app.error_message("403")
    def forbidden_page(code: int, explain: str) -> str:
        return f"page {code}: {explain}"

    @app.route("/denied")
    def view_denied(value: str = Depends(denied)) -> str:
        log("controller")
        return value

    @app.route("/broken")
    def view_broken(value: str = Depends(broken)) -> str:
        log("controller")
        return value

    client = app.test_client()
    reply = client.get("/denied")
    assert (reply.status_code, reply.text) == (403, "page 403: no entry")
    assert log.take() == ["open", "saw HttpError", "close"]
    assert client.get("/broken").status_code == 500
    assert log.take() == ["open", "saw KeyError", "close"]


# -- providers' own parameters -------------------------------------------------------------------


@dataclass
class User:
    name: str
    tenant: int
    agent: str
    path: str


def tenant_header(tenant: FromHeader[int]) -> int:
    return tenant


# Module level: ``Annotated[User, Depends(current_user)]`` is a string annotation under
# ``from __future__ import annotations``, resolved in the module's namespace.
def current_user(request: Request, name: str = Parameter("user", default="anon"),
                 tenant: int = Depends(tenant_header),
                 agent: Header = Header("User-Agent")) -> User:
    return User(name, tenant, str(agent), request.path)


def test_provider_parameters_are_resolved_like_a_controllers() -> None:
    """Markers, aliases, typed names and framework objects inside providers, nested."""
    app = make_app()

    @app.route("/me")
    def me(user: Annotated[User, Depends(current_user)], page: Query[int] = 1) -> dict[str, Any]:
        return {"user": [user.name, user.tenant, user.agent, user.path], "page": page}

    client = app.test_client(headers={"User-Agent": "probe"})
    reply = client.get("/me?user=kim&page=3", headers={"tenant": "7"})
    assert reply.json() == {"user": ["kim", 7, "probe", "/me"], "page": 3}


def test_bad_arguments_of_providers_are_listed_with_the_controllers() -> None:
    """One 400 lists the controller's and the providers' bad arguments, each once, and a
    provider is never called with a bad argument."""
    log = Log()

    def tenant_of(tenant: FromHeader[int]) -> int:
        log(f"tenant {tenant!r}")
        return tenant

    def account(tenant: int = Depends(tenant_of), limit: Query[int] = 10) -> str:
        log("account")
        return f"{tenant}/{limit}"

    app = make_app()

    @app.route("/a")
    def view(acct: str = Depends(account), t: int = Depends(tenant_of), page: Query[int] = 1) -> str:
        log("controller")
        return acct

    client = app.test_client()
    reply = client.get("/a?limit=x&page=y", headers={"tenant": "abc"})
    assert reply.status_code == 400
    body = reply.json()
    assert sorted((e["name"], e["in"]) for e in body["errors"]) == [
        ("limit", "query"), ("page", "query"), ("tenant", "header")]
    assert body["code"] == 400 and "Header[tenant]" in body["explain"]
    assert log.take() == []

    reply = client.get("/a?limit=5", headers={"tenant": "2"})
    assert (reply.status_code, reply.text) == (200, "2/5")
    assert log.take() == ["tenant 2", "account", "controller"]


def test_class_and_callable_object_providers() -> None:
    class Settings:
        def __init__(self, debug: Query[bool] = False) -> None:
            self.debug = debug

    class Greeter:
        def __call__(self, name: Query[str] = "you") -> str:
            return f"hi {name}"

    app = make_app()

    @app.route("/")
    def view(settings: Settings = Depends(Settings), greeting: str = Depends(Greeter())) -> str:
        return f"{settings.debug} {greeting}"

    assert app.test_client().get("/?debug=yes&name=ann").text == "True hi ann"


# -- app scope -------------------------------------------------------------------------------------


def test_app_scope_is_made_once_and_torn_down_last_made_first() -> None:
    log = Log()

    def config(path: str = "app.toml") -> str:  # a default, used as it is (not ?path=)
        log(f"config {path}")
        return path

    def pool(cfg: str = Depends(config, scope="app")) -> Iterator[str]:
        log("open pool")
        yield f"pool({cfg})"
        log("close pool")

    def cache(p: str = Depends(pool, scope="app")) -> Iterator[str]:
        log("open cache")
        yield f"cache({p})"
        log("close cache")

    app = make_app()

    @app.route("/")
    def view(c: str = Depends(cache, scope="app"), p: str = Depends(pool, scope="app")) -> str:
        return f"{c} {p}"

    @app.route("/other")
    def other(p: str = Depends(pool, scope="app")) -> str:
        return p

    with app.test_client() as client:
        assert client.get("/?path=evil").text == "cache(pool(app.toml)) pool(app.toml)"
        assert client.get("/other").text == "pool(app.toml)"
        assert log.take() == ["config app.toml", "open pool", "open cache"]
    assert log.take() == ["close cache", "close pool"]


def test_app_scope_is_torn_down_before_other_plugins_lifespans_end() -> None:
    """An app-scoped value may use what a plugin's lifespan opened: it is closed first."""
    log = Log()

    class Resource:
        @hookimpl
        def naja_atra_lifespan(self, app: Application) -> Any:
            return self.opened()

        @contextlib.contextmanager
        def opened(self) -> Iterator[None]:
            log("resource open")
            yield
            log("resource closed")

    def client() -> Iterator[str]:
        yield "client"
        log("client closed")

    app = make_app()
    app.register(Resource(), name="resource")

    @app.route("/")
    def view(c: str = Depends(client, scope="app")) -> str:
        return c

    with app.test_client() as test_client:
        assert test_client.get("/").text == "client"
    assert log.take() == ["resource open", "client closed", "resource closed"]


def test_app_scope_cannot_use_a_request() -> None:
    def per_request(user: Header = Header("X-User")) -> str:
        return str(user)

    def bad_pool(user: str = Depends(per_request)) -> str:
        return user

    app = make_app()

    @app.route("/")
    def view(p: str = Depends(bad_pool, scope="app")) -> str:
        return p

    with pytest.raises(ConfigurationError, match="app-scoped provider bad_pool cannot depend on "
                                                 "request-scoped provider per_request"):
        app.build()

    def needs_request(token: str) -> str:  # no default: it would be read from a request
        return token

    app2 = make_app()

    @app2.route("/")
    def view2(p: str = Depends(needs_request, scope="app")) -> str:
        return p

    with pytest.raises(ConfigurationError, match="parameter 'token' of provider needs_request"):
        app2.build()


def test_a_failed_app_scoped_creation_is_retried() -> None:
    attempts = itertools.count(1)

    def flaky() -> int:
        n = next(attempts)
        if n == 1:
            raise RuntimeError("not yet")
        return n

    app = make_app()

    @app.route("/")
    def view(n: int = Depends(flaky, scope="app")) -> str:
        return str(n)

    client = app.test_client()
    assert client.get("/").status_code == 500
    assert client.get("/").text == "2"
    assert client.get("/").text == "2"


# -- build-time errors ----------------------------------------------------------------------------


def test_a_cycle_is_a_build_error_naming_the_chain() -> None:
    def a(value: Any = None) -> int:
        return 1

    def b(value: int = Depends(a)) -> int:
        return value

    # ``a`` depends on ``b`` only now that ``b`` exists (a real cycle, built by replacing
    # the default of ``a``'s parameter).
    a.__defaults__ = (Depends(b),)
    app = make_app()

    @app.route("/")
    def view(x: int = Depends(a)) -> int:
        return x

    with pytest.raises(ConfigurationError) as info:
        app.build()
    assert "dependency cycle a -> b -> a" in str(info.value)
    assert "view" in str(info.value)


def test_an_unresolvable_provider_parameter_is_a_build_error() -> None:
    class Opaque:
        pass

    def provider(thing: Opaque) -> int:
        return 1

    app = make_app()

    @app.route("/")
    def view(x: int = Depends(provider)) -> int:
        return x

    with pytest.raises(ConfigurationError, match="parameter 'thing' of provider provider"):
        app.build()


def test_the_marker_is_checked_when_made() -> None:
    with pytest.raises(ConfigurationError, match="unknown scope 'session'"):
        Depends(Thing, scope="session")  # type: ignore[call-overload]
    with pytest.raises(ConfigurationError, match="callable"):
        Depends(42)  # type: ignore[call-overload]
    marker: Any = Depends(Thing, scope="app")
    assert isinstance(marker, Dependency)
    assert marker == Dependency(Thing, "app") and hash(marker) == hash(Dependency(Thing, "app"))
    assert repr(marker) == "Depends(Thing, scope='app')"


# -- overrides --------------------------------------------------------------------------------------


def real_db() -> str:
    return "real"


@pytest.fixture(scope="module")
def shared_app() -> Iterator[tuple[Application, TestClient]]:
    """One application for the two override tests: what the first overrides must not be
    seen by the second."""
    app = make_app()

    @app.route("/db")
    def db_view(db: str = Depends(real_db)) -> str:
        return db

    yield app, app.test_client()


def test_override_replaces_the_provider_within_the_block(shared_app: tuple[Application, TestClient]) -> None:
    app, client = shared_app
    assert client.get("/db").text == "real"

    def fake_db(who: FromHeader[str] = "nobody") -> Iterator[str]:  # its own parameters resolved too
        yield f"fake for {who}"

    with app.override(real_db, fake_db):
        assert client.get("/db", headers={"who": "tester"}).text == "fake for tester"
    assert client.get("/db").text == "real"
    with app.override(real_db, fake_db):  # the override is left active for the next test to prove it is gone
        assert client.get("/db").text == "fake for nobody"


def test_override_does_not_leak_into_the_next_test(shared_app: tuple[Application, TestClient]) -> None:
    app, client = shared_app
    assert app.dependency_overrides == {}
    assert client.get("/db").text == "real"


# -- WebSocket handshakes -----------------------------------------------------------------------------


def test_websocket_handshakes_get_providers() -> None:
    log = Log()

    def token(auth: FromHeader[str] = "") -> Iterator[str]:
        log(f"token {auth!r}")
        yield auth
        log("token done")

    app = make_app()

    @app.websocket_handshake(endpoint="/ws")
    def handshake(t: str = Depends(token)) -> Any:
        return 0 if t == "s3cret" else (403, {"X-Why": "bad token"})

    @app.websocket_handler(endpoint="/ws-class")
    class Handler:
        def on_handshake(self, t: str = Depends(token)) -> Any:
            return None if t == "s3cret" else 401

    client = app.test_client()
    refused = client.get("/ws", headers={**WS_HEADERS, "auth": "nope"})
    assert (refused.status_code, refused.headers.get("X-Why")) == (403, "bad token")
    accepted = client.get("/ws", headers={**WS_HEADERS, "auth": "s3cret"})
    assert accepted.status_code == 101
    assert client.get("/ws-class", headers={**WS_HEADERS, "auth": "x"}).status_code == 401
    assert client.get("/ws-class", headers={**WS_HEADERS, "auth": "s3cret"}).status_code == 101
    assert log.take() == ["token 'nope'", "token done", "token 's3cret'", "token done",
                          "token 'x'", "token done", "token 's3cret'", "token done"]


# -- real sockets, both drivers ------------------------------------------------------------------------


def http_get(port: int, path: str, headers: Optional[dict[str, str]] = None) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


@pytest.mark.parametrize("driver", DRIVERS)
def test_async_providers_over_real_sockets(driver: str) -> None:
    """Async generator (request) and async function + async generator (app) providers on
    a served app; the app-scoped one is closed when the server stops."""
    log = Log()

    async def client_name(x_client: FromHeader[str] = "anon") -> str:
        await asyncio.sleep(0)
        return x_client

    async def session(name: str = Depends(client_name)) -> AsyncIterator[str]:
        log(f"open {name}")
        yield f"session of {name}"
        await asyncio.sleep(0)
        log(f"close {name}")

    async def engine() -> AsyncIterator[str]:
        log("engine up")
        yield "engine"
        await asyncio.sleep(0)
        log("engine down")

    app = make_app()

    @app.route("/")
    def view(s: str = Depends(session), e: str = Depends(engine, scope="app")) -> str:
        return f"{s} on {e}"

    # serving() joins the server thread, where the lifespan (app-scope teardown) ends.
    with serving(app, driver) as client:
        assert http_get(client.port, "/", {"X-Client": "ann"}) == (200, "session of ann on engine")
        assert http_get(client.port, "/", {"X-Client": "bob"}) == (200, "session of bob on engine")
        assert log.take() == ["open ann", "engine up", "close ann", "open bob", "close bob"]
    assert log.take() == ["engine down"]


@pytest.mark.parametrize("flavour", ["sync", "async"])
@pytest.mark.parametrize("driver", DRIVERS)
def test_app_scope_is_made_once_under_concurrent_first_requests(driver: str, flavour: str) -> None:
    """Eight requests at once, the provider slow: one creation, eight times the same value
    (a thread each on the threading server, each with its own event loop for the async
    flavour; tasks of one loop on the asyncio server, or its thread pool for the sync one)."""
    made = itertools.count(1)
    calls = Log()

    if flavour == "sync":
        def slow() -> int:
            calls("make")
            time.sleep(0.05)
            return next(made)
        provider: Callable[..., Any] = slow
    else:
        async def slow_async() -> int:
            calls("make")
            await asyncio.sleep(0.05)
            return next(made)
        provider = slow_async

    # Plain controllers run on the asyncio server's loop one at a time unless they go to a pool.
    app = make_app(run_sync_in_threadpool=driver == "asyncio" and flavour == "sync")

    @app.route("/")
    def view(n: int = Depends(provider, scope="app")) -> str:
        return str(n)

    results: list[tuple[int, str]] = []
    barrier = threading.Barrier(8)

    def fire(port: int) -> None:
        barrier.wait(WAIT)
        results.append(http_get(port, "/"))

    with serving(app, driver) as client:
        threads = [threading.Thread(target=fire, args=(client.port,)) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT)
    assert results == [(200, "1")] * 8
    assert calls.take() == ["make"]
