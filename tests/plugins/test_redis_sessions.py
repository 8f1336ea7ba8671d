"""``naja_atra.plugins.redis_sessions`` against a real ``redis-server`` (see conftest.py)."""
from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import subprocess
import sys
import time
from typing import Any, Iterator, Optional

import pytest

from naja_atra import Application, Request, Session
from naja_atra.plugins.redis_sessions import (
    ENV_URL,
    RedisSession,
    RedisSessionFactory,
    RedisSessionsPlugin,
    SessionStoreUnavailable,
    autoload,
)
from naja_atra.sessions import SESSION_COOKIE_NAME, LocalSessionFactory

from ..support import DRIVERS, ROOT, free_port, serving
from .conftest import RedisServer, require_module

PREFIX = "naja_atra:session:"


# -- the application under test (also served by subprocesses, see serve()) ---------------------


class TaggedJson:
    """A custom serializer: JSON with sets, behind a marker that shows in Redis."""

    MARK = b"TJ1:"

    def dumps(self, value: Any) -> bytes:
        if isinstance(value, set):
            value = {"__set__": sorted(value)}
        return self.MARK + json.dumps(value).encode()

    def loads(self, data: bytes) -> Any:
        assert data.startswith(self.MARK), data
        value = json.loads(data[len(self.MARK):])
        if isinstance(value, dict) and "__set__" in value:
            return set(value["__set__"])
        return value


def make_app(url: str, *, threadpool: bool = False, **options: Any) -> Application:
    """Routes that use sessions every way a controller can."""
    app = Application(load_entry_points=False, run_sync_in_threadpool=threadpool)
    app.register(RedisSessionsPlugin(url, **options), name="redis-sessions")

    @app.route("/set")
    def set_value(session: Session, key: str, value: str) -> dict[str, Any]:
        session.set_attribute(key, value)
        return {"id": session.id, "new": session.is_new}

    @app.route("/get")
    def get_value(session: Session, key: str) -> dict[str, Any]:
        return {"id": session.id, "value": session.get_attribute(key), "new": session.is_new,
                "names": sorted(session.attribute_names)}

    @app.route("/aset")
    async def async_set(session: Session, key: str, value: str) -> dict[str, Any]:
        session.set_attribute(key, value)
        return {"id": session.id, "new": session.is_new}

    @app.route("/aget")
    async def async_get(session: Session, key: str) -> dict[str, Any]:
        return {"id": session.id, "value": session.get_attribute(key), "new": session.is_new}

    @app.route("/count")
    def count(session: Session, request: Request) -> dict[str, Any]:
        visits = (session.get_attribute("visits") or 0) + 1
        session.set_attribute("visits", visits)
        # The same object through the request: no second lookup.
        assert request.get_session() is session
        return {"visits": visits}

    @app.route("/tags")
    def tags(session: Session, tag: str) -> dict[str, Any]:
        found = session.get_attribute("tags") or set()
        found.add(tag)
        session.set_attribute("tags", found)
        return {"tags": sorted(found)}

    @app.route("/invalidate")
    def invalidate(session: Session) -> str:
        session.invalidate()
        return "bye"

    @app.route("/rotate")
    async def rotate(session: Session, request: Request) -> dict[str, Any]:
        user = session.get_attribute("user")
        session.invalidate()
        fresh = request.get_session(True)  # answered without I/O, written after the controller
        assert fresh is not None
        fresh.set_attribute("user", user)
        return {"id": fresh.id}

    @app.route("/direct")
    def direct(request: Request) -> dict[str, Any]:
        session = request.get_session(True)  # a blocking lookup, not a Session parameter
        assert session is not None
        session.set_attribute("direct", "yes")
        return {"id": session.id}

    @app.route("/plain")
    def plain() -> str:
        return "no session here"

    return app


def serve(url: str, driver: str) -> None:
    """Run ``make_app(url)`` in this process until stdin closes (for the cross-process test)."""
    app = make_app(url)
    app.run_in_thread(host="127.0.0.1", port=0, prefer_coroutine=driver == "asyncio")
    assert app.server is not None
    print(app.server.port, flush=True)
    sys.stdin.read()
    app.stop()


# -- helpers ---------------------------------------------------------------------------------


class Browser:
    """Keeps the session cookie between requests, like a browser would."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.session_id: Optional[str] = None
        self.set_cookie: Optional[str] = None

    def get(self, path: str, port: Optional[int] = None) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=10)
        try:
            headers = {"Cookie": f"{SESSION_COOKIE_NAME}={self.session_id}"} if self.session_id else {}
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            self.set_cookie = None
            for line in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = line.partition("=")
                if name == SESSION_COOKIE_NAME:
                    self.set_cookie = line
                    value = rest.split(";", 1)[0]
                    self.session_id = value or None
            try:
                return response.status, json.loads(body)
            except ValueError:
                return response.status, body.decode("utf-8", "replace")
        finally:
            conn.close()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Any]:
    import redis
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def running(app: Application, driver: str) -> Iterator[Browser]:
    """A ``Browser`` of ``app`` served on ``driver``; the app stops when the generator ends."""
    with serving(app, driver) as client:
        yield Browser(client.port)


@pytest.fixture
def browser(redis_url: str, driver: str) -> Iterator[Browser]:
    yield from running(make_app(redis_url), driver)


# -- tests -----------------------------------------------------------------------------------


def test_a_session_written_by_one_process_is_read_by_another(redis_url: str) -> None:
    children = []
    try:
        for driver in DRIVERS:
            child = subprocess.Popen(
                [sys.executable, "-c",
                 f"from tests.plugins.test_redis_sessions import serve; serve({redis_url!r}, {driver!r})"],
                cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                env={**os.environ, "NAJA_ATRA_DISABLE_PLUGIN_AUTOLOAD": "1"})
            children.append(child)
        ports = []
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline()
            assert line.strip().isdigit(), f"child did not start (exit {child.poll()})"
            ports.append(int(line))
        threaded, asyncio_port = ports

        b = Browser(threaded)
        status, body = b.get("/set?key=user&value=alice")
        assert status == 200 and body["new"] is True
        first_id = b.session_id
        assert first_id and body["id"] == first_id

        # The other process (the asyncio server, sync and async controllers) sees it.
        assert b.get("/get?key=user", port=asyncio_port)[1] == {
            "id": first_id, "value": "alice", "new": False, "names": ["user"]}
        assert b.get("/aget?key=user", port=asyncio_port)[1]["value"] == "alice"
        # Written there, read back here.
        assert b.get("/aset?key=lang&value=fr", port=asyncio_port)[0] == 200
        assert b.get("/get?key=lang")[1]["value"] == "fr"
        assert b.get("/count")[1] == {"visits": 1}
        assert b.get("/count", port=asyncio_port)[1] == {"visits": 2}
        assert b.get("/count")[1] == {"visits": 3}
        assert b.session_id == first_id
    finally:
        for child in children:
            if child.stdin is not None:
                child.stdin.close()
        for child in children:
            try:
                child.wait(5)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(5)
            if child.stdout is not None:
                child.stdout.close()


def test_sessions_through_both_drivers(browser: Browser, redis_client: Any) -> None:
    status, body = browser.get("/set?key=a&value=1")
    assert status == 200 and body["new"] is True
    session_id = browser.session_id
    assert session_id is not None and len(session_id) == 43
    assert "Max-Age=1800" in (browser.set_cookie or "") and "HttpOnly" in (browser.set_cookie or "")
    stored = redis_client.hgetall(PREFIX + session_id)
    assert stored[b"a:a"] == b'"1"' and b"m:created" in stored and b"m:accessed" in stored
    assert browser.get("/aset?key=b&value=2")[1] == {"id": session_id, "new": False}
    assert browser.get("/get?key=b")[1] == {"id": session_id, "value": "2", "new": False, "names": ["a", "b"]}
    assert browser.get("/plain") == (200, "no session here")


def test_idle_sessions_expire_by_their_ttl(redis_url: str, redis_client: Any) -> None:
    for b in running(make_app(redis_url, max_inactive_interval=1), "threading"):
        b.get("/set?key=user&value=alice")
        old_id = b.session_id
        assert old_id is not None
        assert 0 < redis_client.pttl(PREFIX + old_id) <= 1000
        assert "Max-Age=1" in (b.set_cookie or "")
        deadline = time.monotonic() + 2.5
        while redis_client.exists(PREFIX + old_id) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not redis_client.exists(PREFIX + old_id), "Redis did not expire the session"
        status, body = b.get("/get?key=user")
        assert status == 200 and body["value"] is None and body["new"] is True
        assert b.session_id != old_id


def test_every_access_refreshes_the_ttl(redis_url: str, redis_client: Any) -> None:
    for b in running(make_app(redis_url, max_inactive_interval=30), "asyncio"):
        b.get("/set?key=user&value=alice")
        key = PREFIX + str(b.session_id)
        accessed = float(redis_client.hget(key, "m:accessed"))
        redis_client.pexpire(key, 2000)  # as if 28 s had gone by
        time.sleep(0.01)
        assert b.get("/aget?key=user")[1]["value"] == "alice"  # a read only
        assert redis_client.pttl(key) > 29000
        assert float(redis_client.hget(key, "m:accessed")) > accessed
        redis_client.pexpire(key, 2000)
        assert b.get("/get?key=user")[1]["value"] == "alice"
        assert redis_client.pttl(key) > 29000


def test_invalidate_deletes_the_key(browser: Browser, redis_client: Any) -> None:
    browser.get("/set?key=user&value=alice")
    old_id = browser.session_id
    assert redis_client.exists(PREFIX + str(old_id))
    assert browser.get("/invalidate") == (200, "bye")
    assert not redis_client.exists(PREFIX + str(old_id))
    assert "Max-Age=0" in (browser.set_cookie or "")  # the browser drops the cookie
    browser.session_id = old_id  # a client replaying the old cookie gets a new session
    status, body = browser.get("/get?key=user")
    assert status == 200 and body["value"] is None and body["new"] is True
    assert browser.session_id != old_id


def test_rotating_a_session_in_one_request(browser: Browser, redis_client: Any) -> None:
    browser.get("/set?key=user&value=alice")
    old_id = browser.session_id
    status, body = browser.get("/rotate")
    assert status == 200 and body["id"] == browser.session_id != old_id
    assert not redis_client.exists(PREFIX + str(old_id))
    assert browser.get("/get?key=user")[1]["value"] == "alice"


def test_an_id_the_server_never_issued_is_never_adopted(browser: Browser, redis_client: Any) -> None:
    issued = set()
    for chosen in ("attacker-chosen-session-id-0123456789abcdef", "../../etc", "x" * 300, "*", ""):
        browser.session_id = chosen
        status, body = browser.get("/set?key=user&value=mallory")
        assert status == 200 and body["new"] is True
        assert browser.session_id != chosen and body["id"] == browser.session_id
        assert not redis_client.exists(PREFIX + chosen)
        issued.add(PREFIX + body["id"])
    # Only ids the server made exist in Redis.
    assert {key.decode() for key in redis_client.keys("*")} == issued and len(issued) == 5


def test_a_custom_serializer(redis_url: str, redis_client: Any) -> None:
    for b in running(make_app(redis_url, serializer=TaggedJson()), "threading"):
        assert b.get("/tags?tag=x")[1] == {"tags": ["x"]}
        assert b.get("/tags?tag=a")[1] == {"tags": ["a", "x"]}
        raw = redis_client.hget(PREFIX + str(b.session_id), "a:tags")
        assert raw == b'TJ1:{"__set__": ["a", "x"]}'


def test_a_value_the_serializer_refuses_fails_at_set_attribute(redis_url: str) -> None:
    factory = RedisSessionFactory(redis_url)
    try:
        session = factory.get_session(None, True)
        assert session is not None
        with pytest.raises(TypeError):
            session.set_attribute("bad", object())
        assert session.attribute_names == ()
    finally:
        factory.close()


@pytest.mark.parametrize("path", ["/get?key=x", "/aget?key=x", "/set?key=x&value=1", "/aset?key=x&value=1"])
def test_redis_stopped_mid_test_answers_503(redis_server: RedisServer, driver: str, path: str,
                                           caplog: pytest.LogCaptureFixture) -> None:
    for b in running(make_app(redis_server.url), driver):
        assert b.get("/set?key=x&value=1")[0] == 200  # a stored session, to be looked up in Redis
        assert b.session_id is not None
        assert b.get(path)[0] == 200
        redis_server.stop()
        with caplog.at_level(logging.WARNING):
            status, body = b.get(path)
        assert status == 503
        assert "Session store unavailable" in str(body)
        assert "Redis session store unavailable" in caplog.text
        assert b.get("/plain") == (200, "no session here")  # the server is fine


def test_start_fails_clearly_when_redis_is_unreachable() -> None:
    require_module("redis")
    url = f"redis://user:s3cret@127.0.0.1:{free_port()}/0"
    app = make_app(url)
    with pytest.raises(SessionStoreUnavailable) as info:
        app.start(host="127.0.0.1", port=0)
    message = str(info.value)
    assert "unreachable" in message and "127.0.0.1" in message and "s3cret" not in message
    if app.server is not None:
        app.server.shutdown()


def test_blocking_lookups_on_the_event_loop_are_refused(redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    for b in running(make_app(redis_url), "asyncio"):
        with caplog.at_level(logging.ERROR):
            assert b.get("/direct")[0] == 500
        assert "EventLoopBlockingError" in caplog.text and "run_sync_in_threadpool" in caplog.text
    # In the thread pool, or on the threading server, the same controller is fine.
    for threadpool, driver in ((True, "asyncio"), (False, "threading")):
        for b in running(make_app(redis_url, threadpool=threadpool), driver):
            assert b.get("/direct")[0] == 200
            assert b.get("/get?key=direct")[1]["value"] == "yes"
            assert b.get("/count")[1] == {"visits": 1}  # Session parameters on the thread pool


def test_the_factory_on_its_own(redis_url: str, redis_client: Any) -> None:
    factory = RedisSessionFactory(redis_url, max_inactive_interval=60)
    other = RedisSessionFactory(redis_url)  # another process, in effect
    try:
        for unknown in (None, "", "short", "x" * 300, "no such id but plausible-0123456789"):
            assert factory.get_session(unknown) is None
        session = factory.get_session("", create=True)
        assert isinstance(session, RedisSession) and session.is_new and session.is_valid
        assert not session.is_deferred and session.max_inactive_interval == 60
        session.set_attribute("n", 1)
        session.set_attribute("d", {"k": [1, 2]})
        assert session.id not in repr(session)

        again = other.get_session(session.id)
        assert again is not None and not again.is_new
        assert again.creation_time == pytest.approx(session.creation_time)
        assert again.last_accessed_time >= session.last_accessed_time
        assert sorted(again.attribute_names) == ["d", "n"] and again.get_attribute("d") == {"k": [1, 2]}
        again.remove_attribute("n")
        assert redis_client.hkeys(factory.key_for(session.id)).count(b"a:n") == 0

        # Invalidated elsewhere: a write through a stale object does not bring it back.
        again.invalidate()
        assert not again.is_valid
        session.set_attribute("late", True)
        assert not session.is_valid and not redis_client.exists(factory.key_for(session.id))
        assert factory.get_session(session.id) is None
    finally:
        factory.close()
        other.close()


def test_sessions_through_set_session_factory(redis_url: str) -> None:
    app = Application(load_entry_points=False)
    factory = RedisSessionFactory(redis_url)
    app.set_session_factory(factory)

    @app.route("/visits")
    def visits(session: Session) -> dict[str, Any]:
        count = (session.get_attribute("visits") or 0) + 1
        session.set_attribute("visits", count)
        return {"visits": count, "store": type(session).__name__}

    try:
        with app.test_client() as client:
            assert client.get("/visits").json() == {"visits": 1, "store": "RedisSession"}
            assert client.get("/visits").json() == {"visits": 2, "store": "RedisSession"}
    finally:
        factory.close()


def test_a_client_of_your_own(redis_url: str) -> None:
    import redis
    with pytest.raises(ValueError, match="decode_responses"):
        RedisSessionFactory(client=redis.Redis.from_url(redis_url, decode_responses=True))
    client = redis.Redis.from_url(redis_url)
    plugin = RedisSessionsPlugin(RedisSessionFactory(client=client, prefix="app2:"))
    session = plugin.factory.get_session(None, True)
    assert session is not None and not client.exists("app2:" + session.id)  # stored by its first attribute
    session.set_attribute("k", 1)
    assert client.exists("app2:" + session.id)
    plugin.factory.close()
    assert client.ping()  # not the factory's to close
    client.close()


def test_bad_arguments() -> None:
    require_module("redis")
    with pytest.raises(ValueError):
        RedisSessionFactory(max_inactive_interval=0)
    with pytest.raises(ValueError):
        RedisSessionFactory(on_loop_blocking="sometimes")
    with pytest.raises(TypeError):
        RedisSessionFactory(serializer=object())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        RedisSessionsPlugin(RedisSessionFactory(), prefix="x:")
    with pytest.raises(TypeError):
        RedisSessionsPlugin(42)  # type: ignore[arg-type]


def test_the_entry_point_is_inert_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    require_module("redis")
    monkeypatch.delenv(ENV_URL, raising=False)
    app = Application(load_entry_points=False)
    app.register(autoload, name="redis_sessions")
    app.build()
    assert isinstance(app.dispatcher.sessions.factory, LocalSessionFactory)

    monkeypatch.setenv(ENV_URL, "redis://127.0.0.1:6399/3")
    configured = Application(load_entry_points=False)
    configured.register(autoload, name="redis_sessions")
    configured.build()
    factory = configured.dispatcher.sessions.factory
    assert isinstance(factory, RedisSessionFactory) and factory.url == "redis://127.0.0.1:6399/3"

    monkeypatch.delenv(ENV_URL)
    import argparse
    parser = argparse.ArgumentParser()
    autoload.naja_atra_add_cli_options(parser)
    from_cli = Application(load_entry_points=False)
    from_cli.cli_args = parser.parse_args(["--redis-sessions-url", "redis://127.0.0.1:6397/1"])
    from_cli.register(autoload, name="redis_sessions")
    from_cli.build()
    factory = from_cli.dispatcher.sessions.factory
    assert isinstance(factory, RedisSessionFactory) and factory.url == "redis://127.0.0.1:6397/1"

    mine = Application(load_entry_points=False)
    plugin = RedisSessionsPlugin("redis://127.0.0.1:6398/0")
    mine.register(plugin)
    mine.register(autoload, name="redis_sessions")
    mine.build()
    assert mine.dispatcher.sessions.factory is plugin.factory


def test_no_redis_call_runs_on_the_event_loop(redis_url: str) -> None:
    import asyncio

    app = make_app(redis_url)
    plugin = app.plugin_manager.get_plugin("redis-sessions")
    factory = plugin.factory
    calls: list[tuple[str, bool]] = []

    def spy(name: str, real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                asyncio.get_running_loop()
                on_loop = True
            except RuntimeError:
                on_loop = False
            calls.append((name, on_loop))
            return real(*args, **kwargs)
        return call

    factory._load_script = spy("load", factory._load_script)
    factory._write_script = spy("write", factory._write_script)
    factory.client.delete = spy("delete", factory.client.delete)
    for b in running(app, "asyncio"):
        for path in ("/set?key=a&value=1", "/aget?key=a", "/count", "/rotate", "/invalidate"):
            assert b.get(path)[0] == 200, path
    assert {name for name, _ in calls} == {"load", "write", "delete"}
    assert not [call for call in calls if call[1]], calls


def test_a_factory_shared_by_two_applications(redis_url: str) -> None:
    factory = RedisSessionFactory(redis_url)
    first, second = Application(load_entry_points=False), Application(load_entry_points=False)
    def count(session: Session) -> dict[str, Any]:
        return {"visits": session.get_attribute("visits")}

    def set_visits(session: Session) -> str:
        session.set_attribute("visits", 7)
        return "ok"

    for app in (first, second):
        app.register(RedisSessionsPlugin(factory))
        app.route("/count")(count)
        app.route("/set")(set_visits)
    with running_pair(first, second) as (a, b):
        a.get("/set")
        b.session_id = a.session_id
        assert factory.server_kind == "asyncio"
        first.stop()  # the factory stays open for the other application
        deadline = time.monotonic() + 2  # the lifespan ends in the server's thread
        while len(factory._servers) > 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert factory._servers == ["asyncio"] and factory.server_kind == "asyncio"
        assert b.get("/count") == (200, {"visits": 7})


@contextlib.contextmanager
def running_pair(first: Application, second: Application) -> Iterator[tuple[Browser, Browser]]:
    first.run_in_thread(host="127.0.0.1", port=0)
    second.run_in_thread(host="127.0.0.1", port=0, prefer_coroutine=True)
    try:
        assert first.server is not None and second.server is not None
        yield Browser(first.server.port), Browser(second.server.port)
    finally:
        first.stop()
        second.stop()


def test_without_the_plugin_a_blocking_call_on_the_loop_is_reported(redis_url: str,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    app = Application(load_entry_points=False)
    factory = RedisSessionFactory(redis_url)
    app.set_session_factory(factory)  # the 1.x way: no preloading, no start-time check

    @app.route("/visits")
    async def visits(session: Session) -> dict[str, Any]:
        count = (session.get_attribute("visits") or 0) + 1
        session.set_attribute("visits", count)
        return {"visits": count}

    with caplog.at_level(logging.WARNING), pytest.warns(RuntimeWarning, match="block the event loop"):
        for b in running(app, "asyncio"):
            assert b.get("/visits")[1] == {"visits": 1}
            assert b.get("/visits")[1] == {"visits": 2}
    assert caplog.text.count("would block the event loop") == 1  # once per factory
    factory.close()


@pytest.mark.parametrize("threadpool", [False, True], ids=["deferred-save", "write-through"])
def test_redis_lost_inside_the_controller_answers_503(redis_server: RedisServer, threadpool: bool) -> None:
    app = make_app(redis_server.url, threadpool=threadpool)

    @app.route("/die")
    def die(session: Session) -> str:
        redis_server.stop()  # after the session was loaded, before it is written
        session.set_attribute("x", 1)
        return "unreachable for the client"

    for b in running(app, "asyncio"):
        assert b.get("/set?key=a&value=1")[0] == 200
        status, body = b.get("/die")
        assert status == 503 and "Session store unavailable" in str(body)
