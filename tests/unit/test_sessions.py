"""naja_atra.sessions: the local session store and the session cookie."""
from __future__ import annotations

import re
import threading
from typing import Any

import pytest

from naja_atra.sessions import (
    SESSION_COOKIE_NAME,
    LocalSession,
    LocalSessionFactory,
    Session,
    SessionFactory,
    expired_session_cookie,
    session_cookie,
)
from naja_atra.sessions.local import SESSION_OVERHEAD, estimate_size


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def stored(factory: LocalSessionFactory, name: str = "user", value: Any = "someone") -> LocalSession:
    """A new session of ``factory``, stored by setting one attribute."""
    session = factory.get_session(None, create=True)
    assert session is not None
    session.set_attribute(name, value)
    assert session.is_stored
    return session


def test_cookie_name_is_the_references() -> None:
    assert SESSION_COOKIE_NAME == "PY_SIM_HTTP_SER_SESSION_ID"


def test_new_session_has_a_long_random_id() -> None:
    factory = LocalSessionFactory()
    ids = set()
    for _ in range(200):
        session = factory.get_session(None, create=True)
        assert session is not None
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", session.id)  # 32 bytes = 256 bits, URL-safe
        ids.add(session.id)
        session.set_attribute("n", 1)
    assert len(ids) == 200
    assert len(factory) == 200


def test_a_session_is_stored_only_once_an_attribute_is_set() -> None:
    factory = LocalSessionFactory()
    session = factory.get_session(None, create=True)
    assert session is not None and session.is_new and session.is_valid
    assert not session.is_stored and len(factory) == 0 and factory.memory == 0
    assert session.get_attribute("user") is None and session.attribute_names == ()
    assert factory.get_session(session.id) is None  # a look costs nothing: nothing to find
    session.set_attribute("user", "alice")
    assert session.is_stored and len(factory) == 1 and factory.memory > 0
    assert factory.get_session(session.id) is session


def test_a_session_invalidated_before_any_attribute_is_never_stored() -> None:
    factory = LocalSessionFactory()
    session = factory.get_session(None, create=True)
    assert session is not None
    session.invalidate()
    session.set_attribute("user", "alice")  # kept on the object for this request only
    assert session.get_attribute("user") == "alice"
    assert not session.is_stored and not session.is_valid and len(factory) == 0
    assert factory.get_session(session.id) is None


def test_lookup_returns_the_same_session_and_it_is_no_longer_new() -> None:
    clock = Clock()
    factory = LocalSessionFactory(clock=clock)
    session = stored(factory)
    assert session.is_new and session.is_valid
    assert session.creation_time == session.last_accessed_time == clock.now
    clock.now += 5
    again = factory.get_session(session.id)
    assert again is session
    assert not session.is_new
    assert session.last_accessed_time == clock.now
    assert session.creation_time == clock.now - 5
    assert factory.get_session(session.id, create=True) is session


def test_attributes() -> None:
    session = LocalSessionFactory().get_session(None, create=True)
    assert session is not None
    assert session.get_attribute("missing") is None
    session.set_attribute("user", {"name": "a"})
    session.set_attribute("n", 1)
    assert session.get_attribute("user") == {"name": "a"}
    assert session.attribute_names == ("user", "n")
    session.remove_attribute("n")
    session.remove_attribute("n")
    assert list(session.attribute_names) == ["user"]


@pytest.mark.parametrize("foreign_id", ["attacker-chosen-id", "x" * 43, ""])
def test_unknown_id_is_never_adopted(foreign_id: str) -> None:
    factory = LocalSessionFactory()
    assert factory.get_session(foreign_id) is None
    session = factory.get_session(foreign_id, create=True)
    assert session is not None and session.id != foreign_id
    assert factory.get_session(foreign_id) is None


def test_expiry() -> None:
    clock = Clock()
    factory = LocalSessionFactory(max_inactive_interval=60, clock=clock)
    session = stored(factory)
    assert session.max_inactive_interval == 60
    clock.now += 60
    assert factory.get_session(session.id) is session  # exactly at the limit: still valid
    clock.now += 61
    assert not session.is_valid
    assert factory.get_session(session.id) is None
    fresh = factory.get_session(session.id, create=True)
    assert fresh is not None and fresh.id != session.id  # an expired id is not revived
    assert len(factory) == 0 and factory.memory == 0
    fresh.set_attribute("user", "again")
    assert len(factory) == 1


def test_expired_sessions_are_dropped_on_later_lookups() -> None:
    clock = Clock()
    factory = LocalSessionFactory(max_inactive_interval=10, clock=clock)
    old = [stored(factory) for _ in range(5)]
    assert factory.get_session(old[0].id) is old[0]  # one of them was brought back
    clock.now += 5
    kept = stored(factory)
    clock.now += 6  # the first five are expired, the last is not
    assert factory.get_session("unrelated") is None
    assert len(factory) == 1
    assert all(not s.is_valid and not s.is_stored for s in old)
    assert factory.get_session(kept.id) is kept


def test_clean_expired_is_a_full_pass() -> None:
    clock = Clock()
    factory = LocalSessionFactory(max_inactive_interval=10, clock=clock)
    sessions = [stored(factory) for _ in range(3)]
    factory.get_session(sessions[0].id)
    clock.now += 11
    factory.clean_expired()
    assert len(factory) == 0 and factory.memory == 0


def test_invalidate() -> None:
    factory = LocalSessionFactory()
    session = stored(factory, "a", 1)
    session.invalidate()
    session.invalidate()  # twice is fine
    assert not session.is_valid
    assert session.get_attribute("a") is None
    assert factory.get_session(session.id) is None
    other = factory.get_session(session.id, create=True)
    assert other is not None and other.id != session.id
    session.set_attribute("a", 2)  # kept on the object for the current request only
    assert session.get_attribute("a") == 2
    assert factory.get_session(session.id) is None
    assert len(factory) == 0 and factory.memory == 0


def test_least_recently_used_is_evicted_beyond_max_sessions() -> None:
    clock = Clock()
    factory = LocalSessionFactory(max_sessions=3, clock=clock)
    a, b, c = (stored(factory) for _ in range(3))
    for session in (b, c, a):  # all brought back; a is now the most recently used
        clock.now += 1
        assert factory.get_session(session.id) is session
    d = stored(factory)
    assert factory.get_session(d.id) is d
    assert len(factory) == 3
    assert factory.get_session(b.id) is None and not b.is_valid and not b.is_stored
    assert factory.get_session(a.id) is a and factory.get_session(c.id) is c


def test_sessions_never_brought_back_are_evicted_first() -> None:
    factory = LocalSessionFactory(max_sessions=10)
    returned = [stored(factory) for _ in range(4)]
    for session in returned:
        assert factory.get_session(session.id) is session and not session.is_new
    one_offs = [stored(factory) for _ in range(500)]  # a flood of clients that never come back
    assert len(factory) == 10
    assert all(factory.get_session(s.id) is s for s in returned)
    survivors = [s for s in one_offs if s.is_stored]
    assert survivors == one_offs[-6:]  # the newest of them, the oldest evicted
    # Past the room of the returned ones, those go too, least recently used first.
    for session in survivors:
        assert factory.get_session(session.id) is session
    newest = stored(factory)
    assert newest.is_stored and not returned[0].is_stored
    assert all(s.is_stored for s in returned[1:])


def test_the_store_is_capped_by_its_estimated_memory() -> None:
    probe = LocalSessionFactory()
    stored(probe, "user", "x")
    one = probe.memory
    factory = LocalSessionFactory(max_memory=one * 5 + one // 2)  # room for five such sessions
    kept = stored(factory, "user", "x")
    assert factory.get_session(kept.id) is kept
    for _ in range(50):
        stored(factory, "user", "x")
    assert len(factory) == 5 and factory.memory <= factory.max_memory
    assert factory.get_session(kept.id) is kept
    # A bigger attribute makes room for itself by evicting never-returned sessions.
    kept.set_attribute("history", ["page"] * 100)
    assert kept.is_stored and factory.memory <= factory.max_memory and len(factory) < 5


def test_memory_accounting_follows_every_change() -> None:
    factory = LocalSessionFactory()
    session = stored(factory, "a", "x" * 1000)
    with_a = factory.memory
    assert with_a >= SESSION_OVERHEAD + 1000
    session.set_attribute("a", "x")
    assert factory.memory == with_a - 999
    session.set_attribute("b", [1, 2, 3])
    session.remove_attribute("b")
    session.remove_attribute("b")
    assert factory.memory == with_a - 999
    other = stored(factory)
    session.invalidate()
    other.invalidate()
    assert factory.memory == 0 and len(factory) == 0


def test_a_session_larger_than_the_whole_cap_is_not_kept() -> None:
    factory = LocalSessionFactory(max_memory=64 * 1024)
    small = stored(factory)
    big = stored(factory)
    big.set_attribute("blob", b"x" * (128 * 1024))
    assert not big.is_stored and not big.is_valid
    assert big.get_attribute("blob") is None
    assert small.is_stored and factory.get_session(small.id) is small
    assert len(factory) == 1


def test_estimate_size_counts_what_containers_hold() -> None:
    assert estimate_size("x" * 1000) >= 1000
    assert estimate_size(["x" * 1000] * 3) < 1200  # one string, referenced three times
    assert estimate_size({"k": ["x" * 1000, "y" * 1000]}) >= 2000

    class User:
        def __init__(self) -> None:
            self.name = "n" * 500

    assert estimate_size(User()) >= 500
    loop: list[Any] = []
    loop.append(loop)
    assert estimate_size(loop) > 0  # a cycle is counted once
    many = [str(i) * 100 for i in range(10_000)]
    assert estimate_size(many, max_objects=10) < estimate_size(many, max_objects=1000)


def test_bad_configuration() -> None:
    with pytest.raises(ValueError):
        LocalSessionFactory(max_inactive_interval=0)
    with pytest.raises(ValueError):
        LocalSessionFactory(max_sessions=0)
    with pytest.raises(ValueError):
        LocalSessionFactory(max_memory=SESSION_OVERHEAD - 1)


def test_thread_safety_smoke() -> None:
    factory = LocalSessionFactory(max_sessions=500)
    errors: list[BaseException] = []
    shared = stored(factory)
    assert factory.get_session(shared.id) is shared  # brought back: evicted last

    def work(n: int) -> None:
        try:
            for i in range(300):
                session = factory.get_session(None, create=True)
                assert session is not None
                session.set_attribute("i", i)
                assert factory.get_session(session.id) is session or not session.is_stored
                assert factory.get_session(shared.id) is shared  # keeps it most recently used
                shared.set_attribute(f"t{n}-{i % 10}", i)
                shared.attribute_names  # noqa: B018 - iterates while others write
                if i % 7 == 0:
                    session.invalidate()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(factory) <= 500
    assert len(shared.attribute_names) == 81
    assert factory.memory == sum(s._size for s in [*factory._fresh.values(), *factory._returned.values()])


def test_base_classes_are_abstract_where_a_subclass_must_implement() -> None:
    session = Session()
    for name in ("id", "creation_time", "last_accessed_time", "is_new", "attribute_names"):
        with pytest.raises(NotImplementedError):
            getattr(session, name)
    with pytest.raises(NotImplementedError):
        session.get_attribute("a")
    with pytest.raises(NotImplementedError):
        session.set_attribute("a", 1)
    with pytest.raises(NotImplementedError):
        session.invalidate()
    assert session.max_inactive_interval == 1800 and session.is_valid and session.is_stored
    with pytest.raises(NotImplementedError):
        SessionFactory().get_session("x")
    SessionFactory().clean_expired()


class SpecStyleSession(Session):
    """A 1.x-style custom session: neither max_inactive_interval nor is_valid defined."""

    def __init__(self, session_id: str) -> None:
        super().__init__()
        self._id = session_id

    @property
    def id(self) -> str:
        return self._id

    def get_attribute(self, name: str) -> Any:
        return None


def test_session_cookie() -> None:
    session = LocalSessionFactory(max_inactive_interval=900).get_session(None, create=True)
    assert session is not None
    assert session_cookie(SESSION_COOKIE_NAME, session, secure=False) == (
        f"PY_SIM_HTTP_SER_SESSION_ID={session.id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=900")
    assert session_cookie("SID", session, secure=True) == (
        f"SID={session.id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=900; Secure")
    assert session_cookie("SID", SpecStyleSession("abc"), secure=False).endswith("Max-Age=1800")


def test_expired_session_cookie() -> None:
    assert expired_session_cookie("SID", secure=False) == "SID=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
    assert expired_session_cookie("SID", secure=True).endswith("; Max-Age=0; Secure")


@pytest.mark.parametrize("bad_id", ["a;b", "a b", "a\r\nSet-Cookie: x=y", 'a"b', ""])
def test_session_cookie_refuses_ids_that_would_break_the_header(bad_id: str) -> None:
    with pytest.raises(ValueError):
        session_cookie("SID", SpecStyleSession(bad_id), secure=False)


@pytest.mark.parametrize("bad_name", ["", "a b", "a=b", "a;b", "a\nb"])
def test_cookie_name_must_be_a_token(bad_name: str) -> None:
    with pytest.raises(ValueError):
        expired_session_cookie(bad_name, secure=False)
