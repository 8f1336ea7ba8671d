"""Anonymous clients cannot evict others' sessions (both built-in servers, real sockets).

The in-memory store keeps a session only once something is set in it, so requests that
merely look at a session store nothing and get no cookie; stored sessions whose id never
came back are evicted before those a client brought back; the store is capped by memory.
The Redis store creates its keys on the same rule."""
from __future__ import annotations

import http.client
import shutil
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest

from naja_atra import SESSION_COOKIE_NAME, Application, Session
from naja_atra.sessions import LocalSessionFactory

from ..plugins.conftest import RedisServer, require_module, unavailable
from ..support import Client, serving

Serve = Callable[..., Client]


def _app(factory: Optional[LocalSessionFactory] = None) -> Application:
    app = Application(load_entry_points=False)
    if factory is not None:
        app.set_session_factory(factory)

    @app.route("/login")
    def login(session: Session, user: str) -> str:
        session.set_attribute("user", user)
        return "welcome"

    @app.route("/whoami")
    def whoami(session: Session) -> str:
        return str(session.get_attribute("user") or "anonymous")

    @app.route("/visit")
    def visit(session: Session) -> str:  # stores something for everyone, anonymous or not
        visits = (session.get_attribute("visits") or 0) + 1
        session.set_attribute("visits", visits)
        return str(visits)

    return app


def _session_cookies(headers: http.client.HTTPMessage) -> list[str]:
    return [c for c in headers.get_all("Set-Cookie") or [] if c.startswith(SESSION_COOKIE_NAME + "=")]


def _log_in(client: Client, user: str) -> dict[str, str]:
    """Log ``user`` in; the Cookie header that carries the session (brought back once)."""
    reply = client.get(f"/login?user={user}")
    cookies = _session_cookies(reply.headers)
    assert reply.status == 200 and len(cookies) == 1
    header = {"Cookie": cookies[0].split(";", 1)[0]}
    assert client.get("/whoami", headers=header).text == user
    return header


def _room_for(sessions: int) -> int:
    """A ``max_memory`` that holds about ``sessions`` logged-in sessions (as estimated)."""
    probe = LocalSessionFactory()
    session = probe.get_session(None, True)
    assert session is not None
    session.set_attribute("user", "alice")
    return probe.memory * sessions


def _flood(client: Client, path: str, count: int) -> list[str]:
    """``count`` requests without a cookie on one keep-alive connection; their bodies, after
    checking that none got a session cookie when ``path`` only reads."""
    conn = client.connection()
    bodies = []
    try:
        for _ in range(count):
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read().decode()
            assert response.status == 200
            if path == "/whoami":
                assert _session_cookies(response.headers) == []
            bodies.append(body)
    finally:
        conn.close()
    return bodies


def test_anonymous_reads_store_nothing_and_evict_no_one(serve: Serve) -> None:
    factory = LocalSessionFactory(max_memory=_room_for(50))
    client = serve(_app(factory))
    alice = _log_in(client, "alice")
    assert set(_flood(client, "/whoami", 500)) == {"anonymous"}
    assert len(factory) == 1 and factory.memory <= factory.max_memory
    assert client.get("/whoami", headers=alice).text == "alice"


def test_one_off_sessions_are_evicted_before_returned_ones(serve: Serve) -> None:
    factory = LocalSessionFactory(max_memory=_room_for(50))
    client = serve(_app(factory))
    users = {name: _log_in(client, name) for name in ("alice", "bob", "carol")}
    assert set(_flood(client, "/visit", 500)) == {"1"}  # 500 sessions stored, each never brought back
    assert 3 < len(factory) < 60 and factory.memory <= factory.max_memory  # about 50 fit
    for name, header in users.items():
        assert client.get("/whoami", headers=header).text == name


# -- the Redis store: keys made on the same rule -------------------------------------------------


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    require_module("redis")
    executable = shutil.which("redis-server")
    if executable is None:
        unavailable("redis-server is not on PATH (apt-get install redis-server)")
    server = RedisServer(executable, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[Any]:
    import redis
    client = redis.Redis.from_url(redis_server.url)
    try:
        yield client
    finally:
        client.close()


def test_redis_sessions_are_made_by_their_first_attribute(redis_server: RedisServer, redis_client: Any,
                                                          driver: str) -> None:
    from naja_atra.plugins.redis_sessions import RedisSessionsPlugin
    app = _app()
    app.register(RedisSessionsPlugin(redis_server.url), name="redis-sessions")
    with serving(app, driver) as client:
        assert set(_flood(client, "/whoami", 50)) == {"anonymous"}
        assert redis_client.dbsize() == 0
        alice = _log_in(client, "alice")
        assert redis_client.dbsize() == 1
        assert client.get("/whoami", headers=alice).text == "alice"


def test_a_write_through_redis_session_is_made_by_its_first_attribute(redis_server: RedisServer,
                                                                      redis_client: Any) -> None:
    from naja_atra.plugins.redis_sessions import RedisSessionFactory
    factory = RedisSessionFactory(redis_server.url)
    try:
        session = factory.get_session(None, create=True)
        assert session is not None and not session.is_stored
        assert session.get_attribute("user") is None
        assert redis_client.dbsize() == 0 and factory.get_session(session.id) is None
        session.set_attribute("user", "alice")
        assert session.is_stored and redis_client.exists(factory.key_for(session.id))
        session.set_attribute("lang", "fr")
        again = factory.get_session(session.id)
        assert again is not None and again.get_attribute("lang") == "fr" and not again.is_new
        unused = factory.get_session(None, create=True)
        assert unused is not None
        unused.invalidate()
        unused.set_attribute("user", "late")  # invalidated first: never written
        assert redis_client.dbsize() == 1
    finally:
        factory.close()
