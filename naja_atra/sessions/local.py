"""Sessions in this process's memory: the default ``SessionFactory``.

A session costs memory only once something is kept in it, and a client that never comes
back cannot push out one that does:

- ``get_session(..., create=True)`` (a ``Session`` parameter, ``request.get_session(True)``)
  gives a session object, but the store keeps it, and the response carries its cookie, only
  once an attribute is set on it. A request that merely looks (``get_attribute``, ``id``)
  costs nothing, so anonymous requests to a route that takes a ``Session`` store nothing.
- Stored sessions whose id has not come back yet (``is_new``) are kept apart from those a
  client has brought back, and are evicted first: a flood of one-off clients that do set
  attributes pushes out only its own kind while returned sessions (logged-in users) stay,
  as long as those alone fit.
- The store is capped by an estimate of its memory, ``max_memory`` bytes (128 MiB by
  default), as well as by ``max_sessions`` sessions (100,000). A session is estimated at
  :data:`SESSION_OVERHEAD` bytes (the objects that hold it, measured on CPython 3.11), plus
  its id, plus each attribute's name and value as ``sys.getsizeof`` counts them, containers
  (dict, list, tuple, set) and object ``__dict__`` included, up to :data:`ESTIMATE_OBJECTS`
  objects a value. A value changed in place after ``set_attribute`` keeps the estimate it
  had then. Past either cap, the oldest never-returned sessions go first, then the least
  recently used; a session alone larger than ``max_memory`` is not kept.
"""
from __future__ import annotations

import secrets
import sys
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Optional

from .contract import DEFAULT_MAX_INACTIVE_INTERVAL, Session, SessionFactory

__all__ = ["ESTIMATE_OBJECTS", "LocalSession", "LocalSessionFactory", "SESSION_OVERHEAD", "estimate_size"]

#: Estimated bytes of a stored session besides its id and attributes: the session object, its
#: dicts and the store's entry (about 600 bytes measured with tracemalloc on CPython 3.11).
SESSION_OVERHEAD = 640
#: Objects of one attribute value that :func:`estimate_size` looks at, at most.
ESTIMATE_OBJECTS = 256
_MIB = 1024 * 1024


def estimate_size(value: Any, max_objects: int = ESTIMATE_OBJECTS) -> int:
    """The bytes of ``value`` by ``sys.getsizeof``, with what its containers hold (dict keys and
    values, list/tuple/set items, an object's ``__dict__``), each object counted once and at most
    ``max_objects`` of them (the rest of a very large value is not counted)."""
    total = 0
    seen: set[int] = set()
    pending = [value]
    while pending and len(seen) < max_objects:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            pending.extend(item)
        elif not isinstance(item, (str, bytes, int, float)):
            attributes = getattr(item, "__dict__", None)
            if isinstance(attributes, dict):
                pending.append(attributes)
    return total


class LocalSession(Session):
    """A session kept in memory by a :class:`LocalSessionFactory` (stored from its first attribute)."""

    def __init__(self, factory: LocalSessionFactory, session_id: str, now: float) -> None:
        super().__init__()
        self._factory = factory
        self._id = session_id
        self._creation_time = now
        self._last_accessed_time = now
        self._is_new = True
        self._valid = True
        self._stored = False
        self._attributes: dict[str, Any] = {}
        # Estimated bytes of each attribute (name and value), and of the whole session.
        self._costs: dict[str, int] = {}
        self._size = SESSION_OVERHEAD + sys.getsizeof(session_id)

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
    def is_stored(self) -> bool:
        """True while the factory keeps the session: from its first attribute until it is
        invalidated, evicted or expired. Only then does the response carry its cookie."""
        return self._stored

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
        """Set an attribute; the first one stores the session in its factory.

        On a session that is no longer stored (invalidated, or evicted by another request under
        load) the value stays on this object for the rest of the request but is not kept: a
        request must not fail because the store dropped its session meanwhile.
        """
        cost = sys.getsizeof(name) + estimate_size(value)  # outside the lock: it walks the value
        with self._factory._lock:
            self._attributes[name] = value
            growth = cost - self._costs.get(name, 0)
            self._costs[name] = cost
            self._size += growth
            self._factory._kept(self, growth)

    def remove_attribute(self, name: str) -> None:
        """Remove an attribute (no error if it is not set); the session stays stored."""
        with self._factory._lock:
            self._attributes.pop(name, None)
            cost = self._costs.pop(name, 0)
            self._size -= cost
            if self._stored:
                self._factory._memory -= cost

    def invalidate(self) -> None:
        """Forget the session and its attributes; its id will not be accepted again."""
        self._factory._remove(self)

    def __repr__(self) -> str:
        # The id is a credential: keep it out of logs and tracebacks.
        return (f"<LocalSession valid={self._valid} new={self._is_new} stored={self._stored} "
                f"attributes={len(self._attributes)}>")


class LocalSessionFactory(SessionFactory):
    """Sessions in this process's memory: thread-safe, bounded, expiring (see the module notes).

    - Ids are ``secrets.token_urlsafe(32)``; an id this factory did not issue, or one that has
      expired or been invalidated, is never adopted (no session fixation).
    - A session is stored from its first attribute; until then it costs nothing and gets no
      cookie.
    - A session expires ``max_inactive_interval`` seconds after its last lookup. Expired sessions
      are dropped lazily on lookups (no background thread): each part of the store is kept in
      least-recently-used order, so they gather at its front and each lookup drops those.
    - ``max_memory`` caps the store's estimated bytes and ``max_sessions`` its sessions; past
      either, sessions whose id never came back are evicted first (oldest first), then the
      least recently used.
    - ``clock`` gives the time in seconds (``time.time`` by default; tests inject their own).
    """

    def __init__(
        self,
        max_inactive_interval: int = DEFAULT_MAX_INACTIVE_INTERVAL,
        max_sessions: int = 100_000,
        clock: Callable[[], float] = time.time,
        max_memory: int = 128 * _MIB,
    ) -> None:
        if max_inactive_interval <= 0:
            raise ValueError(f"max_inactive_interval must be > 0 seconds, not {max_inactive_interval!r}")
        if max_sessions < 1:
            raise ValueError(f"max_sessions must be >= 1, not {max_sessions!r}")
        if max_memory < SESSION_OVERHEAD:
            raise ValueError(f"max_memory must be >= {SESSION_OVERHEAD} bytes (one session), not {max_memory!r}")
        self.max_inactive_interval: int = max_inactive_interval
        self.max_sessions: int = max_sessions
        self.max_memory: int = max_memory
        self._clock = clock
        # One lock guards the store and every session's attributes.
        self._lock = threading.Lock()
        # Stored sessions whose id has not come back yet, in the order they were stored; and
        # those a request brought back, least recently used first.
        self._fresh: OrderedDict[str, LocalSession] = OrderedDict()
        self._returned: OrderedDict[str, LocalSession] = OrderedDict()
        self._memory = 0

    @property
    def memory(self) -> int:
        """The estimated bytes of the stored sessions (see the module notes)."""
        return self._memory

    def _expired(self, session: LocalSession, now: float) -> bool:
        return now - session._last_accessed_time > self.max_inactive_interval

    def _drop(self, session: LocalSession) -> None:
        # Caller holds the lock.
        if session._stored:
            store = self._fresh if session._is_new else self._returned
            if store.get(session._id) is session:
                del store[session._id]
            self._memory -= session._size
            session._stored = False
        session._valid = False
        session._attributes.clear()

    def _remove(self, session: LocalSession) -> None:
        with self._lock:
            self._drop(session)

    def _drop_expired_front(self, now: float) -> None:
        # Caller holds the lock. Each part is in (nearly) last-access order, so with a steady
        # clock the expired sessions are a prefix of it: O(1) per dropped session.
        for store in (self._fresh, self._returned):
            while store:
                oldest = next(iter(store.values()))
                if not self._expired(oldest, now):
                    break
                self._drop(oldest)

    def _kept(self, session: LocalSession, growth: int) -> None:
        """After an attribute was set: store ``session`` if it is not yet (else count its
        ``growth`` in bytes), then evict to fit. Caller holds the lock."""
        if not session._valid:
            return  # invalidated or evicted: the value stays on the object only
        if session._stored:
            self._memory += growth
        else:
            self._drop_expired_front(self._clock())
            session._stored = True
            self._fresh[session._id] = session
            self._memory += session._size
        self._evict(session)

    def _evict(self, keep: LocalSession) -> None:
        """Drop sessions until the store is within both caps: never-returned ones first
        (oldest first), then the least recently used, but not ``keep`` (the one just written)
        unless it alone is over ``max_memory``: then only it goes. Caller holds the lock."""
        if keep._size > self.max_memory:
            self._drop(keep)
            return
        for store in (self._fresh, self._returned):
            while self._over() and store:
                victim = next(iter(store.values()))
                if victim is keep:
                    if len(store) == 1:
                        break
                    store.move_to_end(keep._id)  # look past it, at the next oldest
                    continue
                self._drop(victim)

    def _over(self) -> bool:
        return self._memory > self.max_memory or len(self._fresh) + len(self._returned) > self.max_sessions

    def get_session(self, session_id: Optional[str], create: bool = False) -> Optional[LocalSession]:
        """The valid stored session with this id (now accessed: no longer new); else, with
        ``create``, a new session that is stored once an attribute is set on it; else None.

        An unknown, expired or invalidated id is never adopted: with ``create`` the new session
        gets a new random id, without it the answer is None.
        """
        now = self._clock()
        with self._lock:
            self._drop_expired_front(now)
            session = None
            if session_id:
                session = self._returned.get(session_id) or self._fresh.get(session_id)
            if session is not None:
                if self._expired(session, now):  # possible if the clock stepped back meanwhile
                    self._drop(session)
                else:
                    if session._is_new:
                        del self._fresh[session._id]
                        session._is_new = False
                        self._returned[session._id] = session
                    else:
                        self._returned.move_to_end(session._id)
                    session._last_accessed_time = now
                    return session
            if not create:
                return None
            new_id = secrets.token_urlsafe(32)
            while new_id in self._fresh or new_id in self._returned:  # 256 random bits: never in practice
                new_id = secrets.token_urlsafe(32)
            return LocalSession(self, new_id, now)

    def clean_expired(self) -> None:
        """Drop every expired session now (a full pass; lookups already drop them as they go)."""
        now = self._clock()
        with self._lock:
            for store in (self._fresh, self._returned):
                for session in [s for s in store.values() if self._expired(s, now)]:
                    self._drop(session)

    def __len__(self) -> int:
        """How many sessions are stored (expired ones not yet dropped included)."""
        return len(self._fresh) + len(self._returned)
