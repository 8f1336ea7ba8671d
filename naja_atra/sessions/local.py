"""Sessions in this process's memory: the default ``SessionFactory``."""
from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Optional

from .contract import DEFAULT_MAX_INACTIVE_INTERVAL, Session, SessionFactory

__all__ = ["LocalSession", "LocalSessionFactory"]


class LocalSession(Session):
    """A session kept in memory by a :class:`LocalSessionFactory`."""

    def __init__(self, factory: LocalSessionFactory, session_id: str, now: float) -> None:
        super().__init__()
        self._factory = factory
        self._id = session_id
        self._creation_time = now
        self._last_accessed_time = now
        self._is_new = True
        self._valid = True
        self._attributes: dict[str, Any] = {}

    @property
    def id(self) -> str:
        """The session's id: 43 URL-safe characters, 256 random bits."""
        return self._id

    @property
    def creation_time(self) -> float:
        """When the session was created (the factory clock's time)."""
        return self._creation_time

    @property
    def last_accessed_time(self) -> float:
        """When a request last looked the session up (the factory clock's time)."""
        return self._last_accessed_time

    @property
    def max_inactive_interval(self) -> int:
        """The factory's inactivity limit in seconds."""
        return self._factory.max_inactive_interval

    @property
    def is_new(self) -> bool:
        """True until the session is looked up again by its id."""
        return self._is_new

    @property
    def is_valid(self) -> bool:
        """False once invalidated, evicted or expired."""
        return self._valid and not self._factory._expired(self, self._factory._clock())

    @property
    def attribute_names(self) -> tuple[str, ...]:
        """The names of the attributes set on this session."""
        with self._factory._lock:
            return tuple(self._attributes)

    def get_attribute(self, name: str) -> Any:
        """The attribute's value, or None when it is not set."""
        with self._factory._lock:
            return self._attributes.get(name)

    def set_attribute(self, name: str, value: Any) -> None:
        """Set an attribute.

        On a session that is no longer stored (invalidated, or evicted by another request under
        load) the value stays on this object for the rest of the request but is not kept: a
        request must not fail because the store dropped its session meanwhile.
        """
        with self._factory._lock:
            self._attributes[name] = value

    def remove_attribute(self, name: str) -> None:
        """Remove an attribute (no error if it is not set)."""
        with self._factory._lock:
            self._attributes.pop(name, None)

    def invalidate(self) -> None:
        """Forget the session and its attributes; its id will not be accepted again."""
        self._factory._remove(self)

    def __repr__(self) -> str:
        # The id is a credential: keep it out of logs and tracebacks.
        return f"<LocalSession valid={self._valid} new={self._is_new} attributes={len(self._attributes)}>"


class LocalSessionFactory(SessionFactory):
    """Sessions in this process's memory: thread-safe, bounded, expiring.

    - Ids are ``secrets.token_urlsafe(32)``; an id this factory did not issue, or one that has
      expired or been invalidated, is never adopted (no session fixation).
    - A session expires ``max_inactive_interval`` seconds after its last lookup. Expired sessions
      are dropped lazily on lookups (no background thread): the store is kept in
      least-recently-used order, so they gather at its front and each lookup drops those.
    - Beyond ``max_sessions`` sessions the least recently used one is evicted.
    - ``clock`` gives the time in seconds (``time.time`` by default; tests inject their own).
    """

    def __init__(
        self,
        max_inactive_interval: int = DEFAULT_MAX_INACTIVE_INTERVAL,
        max_sessions: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_inactive_interval <= 0:
            raise ValueError(f"max_inactive_interval must be > 0 seconds, not {max_inactive_interval!r}")
        if max_sessions < 1:
            raise ValueError(f"max_sessions must be >= 1, not {max_sessions!r}")
        self.max_inactive_interval: int = max_inactive_interval
        self.max_sessions: int = max_sessions
        self._clock = clock
        # One lock guards the store and every session's attributes.
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, LocalSession] = OrderedDict()

    def _expired(self, session: LocalSession, now: float) -> bool:
        return now - session._last_accessed_time > self.max_inactive_interval

    def _drop(self, session: LocalSession) -> None:
        # Caller holds the lock.
        if self._sessions.get(session._id) is session:
            del self._sessions[session._id]
        session._valid = False
        session._attributes.clear()

    def _remove(self, session: LocalSession) -> None:
        with self._lock:
            self._drop(session)

    def _drop_expired_front(self, now: float) -> None:
        # Caller holds the lock. The store is in last-access order, so with a steady clock the
        # expired sessions are exactly a prefix of it: this costs O(1) per dropped session.
        sessions = self._sessions
        while sessions:
            oldest = next(iter(sessions.values()))
            if not self._expired(oldest, now):
                break
            self._drop(oldest)

    def get_session(self, session_id: Optional[str], create: bool = False) -> Optional[LocalSession]:
        """The valid session with this id (now accessed: no longer new); else a fresh one or None.

        An unknown, expired or invalidated id is never adopted: with ``create`` the new session
        gets a new random id, without it the answer is None.
        """
        now = self._clock()
        with self._lock:
            self._drop_expired_front(now)
            session = self._sessions.get(session_id) if session_id else None
            if session is not None:
                if self._expired(session, now):  # possible if the clock stepped back meanwhile
                    self._drop(session)
                else:
                    session._last_accessed_time = now
                    session._is_new = False
                    self._sessions.move_to_end(session._id)
                    return session
            if not create:
                return None
            while len(self._sessions) >= self.max_sessions:
                self._drop(next(iter(self._sessions.values())))
            new_id = secrets.token_urlsafe(32)
            while new_id in self._sessions:  # 256 random bits: never in practice
                new_id = secrets.token_urlsafe(32)
            session = LocalSession(self, new_id, now)
            self._sessions[new_id] = session
            return session

    def clean_expired(self) -> None:
        """Drop every expired session now (a full pass; lookups already drop them as they go)."""
        now = self._clock()
        with self._lock:
            for session in [s for s in self._sessions.values() if self._expired(s, now)]:
                self._drop(session)

    def __len__(self) -> int:
        """How many sessions are stored (expired ones not yet dropped included)."""
        return len(self._sessions)


# RFC 6265 section 4.1.1: cookie-name is an HTTP token; cookie-octet excludes CTLs, whitespace,
# DQUOTE, comma, semicolon and backslash. A custom Session's id is checked too: it goes into a header.
