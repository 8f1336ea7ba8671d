"""Sessions over real sockets (both drivers): cookie round trip, invalidation, cookie
attributes, no session fixation, a custom ``SessionFactory``."""
from __future__ import annotations

import itertools
import threading
import time
from typing import Any, Callable, Optional

from naja_atra import SESSION_COOKIE_NAME, Application, Request, Response, Session, SessionFactory

from ..support import Client, Reply

Serve = Callable[..., Client]


class SetCookie:
    """One ``Set-Cookie`` header, parsed: name, value and attributes (lower-case names)."""

    def __init__(self, header: str) -> None:
        first, *attrs = header.split(";")
        self.name, _, self.value = first.strip().partition("=")
        self.attrs: dict[str, str] = {}
        for attr in attrs:
            key, _, val = attr.strip().partition("=")
            self.attrs[key.strip().lower()] = val.strip()


def session_cookie(reply: Reply) -> Optional[SetCookie]:
    """The session's ``Set-Cookie`` in ``reply`` (None when there is none)."""
    found = [SetCookie(h) for h in reply.headers.get_all("Set-Cookie") or []]
    found = [c for c in found if c.name == SESSION_COOKIE_NAME]
    assert len(found) <= 1, "the session cookie is set once per response"
    return found[0] if found else None


def with_cookie(session_id: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE_NAME}={session_id}"}


def _session_app() -> Application:
    app = Application()

    @app.route("/set")
    def set_value(v: str, session: Session = Session()) -> str:
        session.set_attribute("value", v)
        return f"set:{v}:new={session.is_new}"

    @app.route("/get")
    def get_value(session: Session) -> str:
        return f"get:{session.get_attribute('value')}:new={session.is_new}"

    @app.route("/id")
    def session_id(session: Session) -> str:
        return session.id

    @app.route("/invalidate")
    def invalidate(session: Session) -> str:
        session.invalidate()
        return "invalidated"

    @app.route("/renew")
    def renew(request: Request) -> str:
        old = request.get_session(True)
        assert old is not None
        old.invalidate()
        new = request.get_session(True)
        assert new is not None
        new.set_attribute("value", "renewed")
        return new.id

    @app.route("/stream")
    def stream(session: Session, response: Response) -> None:
        session.set_attribute("value", "streamed")
        response.set_header("Content-Type", "text/plain")
        response.write_bytes(b"one ")
        response.write_bytes(b"two")
        response.close()

    @app.route("/no-session")
    def no_session() -> str:
        return "none"

    return app


def test_an_attribute_set_in_one_request_is_read_in_the_next(serve: Serve) -> None:
    client = serve(_session_app())
    first = client.get("/set?v=hello")
    assert (first.status, first.text) == (200, "set:hello:new=True")
    cookie = session_cookie(first)
    assert cookie is not None
    assert len(cookie.value) >= 32
    second = client.get("/get", headers=with_cookie(cookie.value))
    assert (second.status, second.text) == (200, "get:hello:new=False")
    again = session_cookie(second)
    assert again is None or again.value == cookie.value
    # Without the cookie the value is not there.
    assert client.get("/get").text == "get:None:new=True"


def test_the_session_cookie_attributes_over_plain_http(serve: Serve) -> None:
    client = serve(_session_app())
    cookie = session_cookie(client.get("/set?v=x"))
    assert cookie is not None
    assert "httponly" in cookie.attrs
    assert cookie.attrs.get("samesite", "").lower() == "lax"
    assert cookie.attrs.get("path") == "/"
    assert "secure" not in cookie.attrs
    max_age = cookie.attrs.get("max-age")
    assert max_age is None or int(max_age) > 0


def test_no_session_cookie_when_the_controller_uses_no_session(serve: Serve) -> None:
    client = serve(_session_app())
    reply = client.get("/no-session")
    assert reply.text == "none"
    assert session_cookie(reply) is None


def test_invalidate_then_a_new_session(serve: Serve) -> None:
    client = serve(_session_app())
    cookie = session_cookie(client.get("/set?v=before"))
    assert cookie is not None
    old = cookie.value
    reply = client.get("/invalidate", headers=with_cookie(old))
    assert (reply.status, reply.text) == (200, "invalidated")
    dropped = session_cookie(reply)
    # Either the cookie is deleted, or it is not renewed: it must not hand the old id back alive.
    if dropped is not None:
        assert dropped.value == "" or dropped.attrs.get("max-age") == "0"
    # The old id is dead: a new session, without the old value; nothing was stored in it, so
    # the client is only told to drop its dead cookie.
    reply = client.get("/get", headers=with_cookie(old))
    assert reply.text == "get:None:new=True"
    deleted = session_cookie(reply)
    assert deleted is not None and deleted.value == "" and deleted.attrs.get("max-age") == "0"
    reply = client.get("/set?v=after", headers=with_cookie(old))
    fresh = session_cookie(reply)
    assert fresh is not None
    assert fresh.value not in ("", old)
    assert client.get("/get", headers=with_cookie(fresh.value)).text == "get:after:new=False"


def test_a_forged_session_id_is_not_adopted(serve: Serve) -> None:
    client = serve(_session_app())
    forged = "attacker-chosen-session-id-0123456789abcdefghij"
    reply = client.get("/id", headers=with_cookie(forged))
    assert reply.status == 200
    assert reply.text != forged
    cookie = session_cookie(reply)
    assert cookie is not None and cookie.value == ""  # the forged cookie is deleted, not renewed
    # Once something is stored, the client gets a session of the server's making.
    reply = client.get("/set?v=x", headers=with_cookie(forged))
    cookie = session_cookie(reply)
    assert cookie is not None and cookie.value not in ("", forged)
    # And the forged id still means nothing afterwards.
    assert client.get("/id", headers=with_cookie(forged)).text not in (forged, cookie.value)
    assert client.get("/get", headers=with_cookie(forged)).text == "get:None:new=True"


def test_a_request_that_only_reads_its_session_gets_no_cookie(serve: Serve) -> None:
    client = serve(_session_app())
    for path in ("/get", "/id"):
        reply = client.get(path)
        assert reply.status == 200
        assert reply.header("Set-Cookie") is None
    # The id a controller saw is no session: it was never stored.
    seen = client.get("/id").text
    assert client.get("/get", headers=with_cookie(seen)).text == "get:None:new=True"


def test_sessions_of_two_clients_are_separate(serve: Serve) -> None:
    client = serve(_session_app())
    a = session_cookie(client.get("/set?v=alice"))
    b = session_cookie(client.get("/set?v=bob"))
    assert a is not None and b is not None
    assert a.value != b.value
    assert client.get("/get", headers=with_cookie(a.value)).text == "get:alice:new=False"
    assert client.get("/get", headers=with_cookie(b.value)).text == "get:bob:new=False"


def test_a_malformed_cookie_header_gives_a_new_session(serve: Serve) -> None:
    client = serve(_session_app())
    reply = client.get("/get", headers={"Cookie": 'a="unterminated; ;;; =' + SESSION_COOKIE_NAME})
    assert reply.status == 200
    assert reply.text == "get:None:new=True"


# -- a custom Session / SessionFactory, as 1.x programs write them --------------------------


class MySessionImpl(Session):
    def __init__(self, session_id: str) -> None:
        super().__init__()
        self._id = session_id
        self._created = time.time()
        self._accessed = self._created
        self._new = True
        self._attrs: dict[str, Any] = {}
        self.valid = True

    @property
    def id(self) -> str:
        return self._id

    @property
    def creation_time(self) -> float:
        return self._created

    @property
    def last_accessed_time(self) -> float:
        return self._accessed

    @property
    def is_new(self) -> bool:
        return self._new

    @property
    def is_valid(self) -> bool:
        return self.valid

    @property
    def attribute_names(self) -> tuple[str, ...]:
        return tuple(self._attrs)

    def get_attribute(self, name: str) -> Any:
        return self._attrs.get(name)

    def set_attribute(self, name: str, value: Any) -> None:
        self._attrs[name] = value

    def invalidate(self) -> None:
        self.valid = False


class MySessionFacImpl(SessionFactory):
    def __init__(self, prefix: str = "my") -> None:
        super().__init__()
        self.prefix = prefix
        self.sessions: dict[str, MySessionImpl] = {}
        self.lookups: list[tuple[str, bool]] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def get_session(self, session_id: str, create: bool = False) -> Optional[Session]:
        with self._lock:
            self.lookups.append((session_id, create))
            found = self.sessions.get(session_id)
            if found is not None and found.valid:
                found._new = False
                found._accessed = time.time()
                return found
            if not create:
                return None
            session = MySessionImpl(f"{self.prefix}-{next(self._ids)}")
            self.sessions[session.id] = session
            return session


def test_a_custom_session_factory(serve: Serve) -> None:
    app = _session_app()
    factory = MySessionFacImpl()
    app.set_session_factory(factory)
    client = serve(app)
    first = client.get("/set?v=custom")
    assert first.text == "set:custom:new=True"
    cookie = session_cookie(first)
    assert cookie is not None
    assert cookie.value == "my-1"
    assert factory.sessions["my-1"].get_attribute("value") == "custom"
    second = client.get("/get", headers=with_cookie("my-1"))
    assert second.text == "get:custom:new=False"
    assert ("my-1", True) in factory.lookups
    # An id the factory does not know: it decides (here: a new session "my-2").
    third = client.get("/id", headers=with_cookie("my-999"))
    assert third.text == "my-2"
    # Invalidation goes through the custom session.
    client.get("/invalidate", headers=with_cookie("my-1"))
    assert factory.sessions["my-1"].valid is False
    assert client.get("/id", headers=with_cookie("my-1")).text == "my-3"


def test_set_session_factory_after_the_first_request_is_used(serve: Serve) -> None:
    app = _session_app()
    client = serve(app)
    local = session_cookie(client.get("/set?v=x"))
    assert local is not None and not local.value.startswith("late-")
    app.set_session_factory(MySessionFacImpl("late"))
    assert client.get("/id").text == "late-1"


def test_invalidate_and_a_new_session_in_the_same_request(serve: Serve) -> None:
    client = serve(_session_app())
    cookie = session_cookie(client.get("/set?v=old"))
    assert cookie is not None
    reply = client.get("/renew", headers=with_cookie(cookie.value))
    new_id = reply.text
    assert new_id != cookie.value
    renewed = session_cookie(reply)
    assert renewed is not None
    assert renewed.value == new_id  # the client is handed the new session, not a deletion
    assert client.get("/get", headers=with_cookie(new_id)).text == "get:renewed:new=False"
    assert client.get("/get", headers=with_cookie(cookie.value)).text == "get:None:new=True"


def test_a_streamed_response_carries_the_session_cookie(serve: Serve) -> None:
    client = serve(_session_app())
    reply = client.get("/stream")
    assert (reply.status, reply.text) == (200, "one two")
    cookie = session_cookie(reply)
    assert cookie is not None
    assert client.get("/get", headers=with_cookie(cookie.value)).text == "get:streamed:new=False"
