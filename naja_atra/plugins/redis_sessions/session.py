"""A session stored in Redis: write-through, or deferred until its request is over.

A new session is written to Redis only once an attribute is set on it (as the in-memory
store does): a request that merely looks at its session, as every anonymous request to a
route taking a ``Session`` does, makes no key, no Redis write and no cookie.

Attribute values are read from the snapshot taken at lookup: ``get_attribute`` returns a
fresh copy each time, so set an attribute again after changing a mutable value.
"""
from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Mapping

from ...sessions import Session
from .storage import ATTR, metadata_fields

if TYPE_CHECKING:
    from .factory import RedisSessionFactory

__all__ = ["RedisSession"]


class RedisSession(Session):
    """A session stored in a Redis hash (see the ``storage`` module for its layout).

    Made by :class:`RedisSessionFactory`. A session looked up by a plain
    ``factory.get_session`` writes through: ``set_attribute``, ``remove_attribute`` and
    ``invalidate`` go to Redis at once (a new session's key is made by its first
    ``set_attribute``). A session loaded for a ``Session`` parameter by
    :class:`RedisSessionsPlugin` is *deferred*: those calls change only this object, and the
    plugin saves the changes once the controller has returned (``save()`` does it at once;
    a new session without attributes is not saved).
    """

    def __init__(self, factory: RedisSessionFactory, session_id: str, creation_time: float,
                 last_accessed_time: float, values: dict[str, bytes], *, is_new: bool, deferred: bool) -> None:
        super().__init__()
        self._factory = factory
        self._id = session_id
        self._creation_time = creation_time
        self._last_accessed_time = last_accessed_time
        self._values = values
        self._is_new = is_new
        self._deferred = deferred
        self._valid = True
        # Whether the key exists in Redis: a new session's is made with its first attribute
        # (at once, or at save() when deferred).
        self._stored = not is_new
        self._dirty: set[str] = set()
        self._removed: set[str] = set()
        self._lock = threading.Lock()
        # Serializes the write that makes a new session's key (two threads setting the first
        # attributes of one session must not both try to create it).
        self._create_lock = threading.Lock()

    @property
    def id(self) -> str:
        """The session's id: 43 URL-safe characters, 256 random bits."""
        return self._id

    @property
    def creation_time(self) -> float:
        """When the session was created (seconds since the epoch)."""
        return self._creation_time

    @property
    def last_accessed_time(self) -> float:
        """When this request looked the session up (seconds since the epoch)."""
        return self._last_accessed_time

    @property
    def max_inactive_interval(self) -> int:
        """The factory's inactivity limit in seconds (the key's TTL)."""
        return self._factory.max_inactive_interval

    @property
    def is_new(self) -> bool:
        """True for a session created by this request."""
        return self._is_new

    @property
    def is_valid(self) -> bool:
        """False once invalidated (here or, as found by a write, elsewhere) or idle too long.

        Answered from this object, without asking Redis.
        """
        return self._valid and time.time() - self._last_accessed_time <= self._factory.max_inactive_interval

    @property
    def is_stored(self) -> bool:
        """True when the session's key exists in Redis, or (deferred) will once the request
        saves it: it has attributes. Only then does the response carry the session cookie."""
        with self._lock:
            return self._stored or (self._deferred and self._valid and bool(self._values))

    @property
    def is_deferred(self) -> bool:
        """True when changes are kept here until :meth:`save` (see the class documentation)."""
        return self._deferred

    @property
    def attribute_names(self) -> tuple[str, ...]:
        """The names of the attributes set on this session."""
        with self._lock:
            return tuple(self._values)

    def get_attribute(self, name: str) -> Any:
        """The attribute's value (a fresh copy each call), or None when it is not set."""
        with self._lock:
            data = self._values.get(name)
        return None if data is None else self._factory.serializer.loads(data)

    def set_attribute(self, name: str, value: Any) -> None:
        """Set an attribute; ``value`` is serialized now (a ``TypeError`` here if it cannot be).

        On a session that no longer exists in Redis (expired, or invalidated by another
        request) the value stays on this object for the rest of the request but is not kept.
        """
        data = self._factory.serializer.dumps(value)
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"{self._factory.serializer!r}.dumps() must return bytes, not {type(data).__name__}")
        with self._lock:
            self._values[name] = bytes(data)
            if self._deferred:
                self._dirty.add(name)
                self._removed.discard(name)
                return
        with self._create_lock:
            if not self._stored and self._valid:
                self._create()
                return
        self._write({ATTR + name: bytes(data)}, ())

    def remove_attribute(self, name: str) -> None:
        """Remove an attribute (no error if it is not set)."""
        with self._lock:
            self._values.pop(name, None)
            if self._deferred:
                self._dirty.discard(name)
                self._removed.add(name)
                return
        self._write({}, (ATTR + name,))

    def invalidate(self) -> None:
        """End the session: its key is deleted and its id is never accepted again."""
        with self._lock:
            self._valid = False
            self._values.clear()
            self._dirty.clear()
            self._removed.clear()
            if self._deferred:
                return
            stored, self._stored = self._stored, False
        if stored:
            self._factory.delete(self._id)

    @property
    def needs_save(self) -> bool:
        """Whether a deferred session has changes that :meth:`save` would write."""
        with self._lock:
            if not self._valid:
                return self._stored
            if not self._stored:
                return bool(self._values)
            return bool(self._dirty or self._removed)

    def save(self) -> None:
        """Write a deferred session's changes to Redis now (blocking; nothing to do otherwise).

        A new session is created with every attribute (not at all when it has none); an
        existing one gets the attributes set or removed since it was loaded (other requests'
        changes to other attributes are kept).
        If it was invalidated here its key is deleted; if it is gone from Redis meanwhile the
        changes are dropped and the session becomes invalid.
        """
        with self._lock:
            if not self._valid:
                stored, self._stored = self._stored, False
                delete = stored
            else:
                delete = False
                if self._stored:
                    fields = {ATTR + n: self._values[n] for n in self._dirty if n in self._values}
                    removed = tuple(ATTR + n for n in self._removed)
                    if not fields and not removed:
                        return
                else:
                    if not self._values:
                        return
                    fields = self._new_fields()
                    removed = ()
                new = not self._stored
                self._dirty.clear()
                self._removed.clear()
        if delete:
            self._factory.delete(self._id)
            return
        result = self._factory.write_fields(self._id, "new" if new else "existing", fields, removed)
        with self._lock:
            if new and result == 1:
                self._stored = True
            elif result == 0:
                self._valid = False
            elif result == -1:  # 256 random bits collided: never in practice
                raise RuntimeError("A new session id is already taken in Redis")

    def _new_fields(self) -> dict[str, bytes]:
        """The hash of a session stored for the first time: every attribute and the metadata.
        Caller holds the lock."""
        fields = {ATTR + n: v for n, v in self._values.items()}
        fields.update(metadata_fields(self._creation_time, self._last_accessed_time))
        return fields

    def _create(self) -> None:
        """Write-through: make the key of a new session, with every attribute set so far.
        Caller holds the creation lock."""
        with self._lock:
            fields = self._new_fields()
        result = self._factory.write_fields(self._id, "new", fields, ())
        if result == -1:  # 256 random bits collided: never in practice
            raise RuntimeError("A new session id is already taken in Redis")
        with self._lock:
            self._stored = True

    def _write(self, fields: Mapping[str, bytes], removed: tuple[str, ...]) -> None:
        """Write-through: apply one change to the stored session."""
        if not self._stored:
            return
        if self._factory.write_fields(self._id, "existing", fields, removed) == 0:
            with self._lock:  # expired or invalidated elsewhere: keep the value here only
                self._valid = False
                self._stored = False

    def __repr__(self) -> str:
        # The id is a credential: keep it out of logs and tracebacks.
        mode = "deferred" if self._deferred else "write-through"
        return f"<RedisSession {mode} valid={self._valid} new={self._is_new} attributes={len(self._values)}>"

