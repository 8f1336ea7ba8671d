"""Sessions kept in Redis, shared by every process that serves the application.

Install with ``pip install naja_atra[redis]`` (the ``redis`` package), then either register
the plugin::

    from naja_atra import Application
    from naja_atra.plugins.redis_sessions import RedisSessionsPlugin

    app = Application()
    app.register(RedisSessionsPlugin("redis://127.0.0.1:6379/0"))

or hand a factory to SPEC.md's API (no start-time check, no asynchronous loading then)::

    set_session_factory(RedisSessionFactory("redis://127.0.0.1:6379/0"))

Storage
    One Redis hash per session, at ``prefix + id``: ``m:created`` and ``m:accessed`` (seconds
    since the epoch) and one ``a:<name>`` field per attribute, whose value is
    ``serializer.dumps(value)`` (JSON by default). The key's TTL is the inactivity limit; it is
    refreshed (``PEXPIRE``) by every lookup and every write, so Redis itself expires idle
    sessions. Lookups and writes are Lua scripts: a write never recreates a session that
    expired or was invalidated meanwhile, and an id this factory did not issue is never
    adopted (``get_session(unknown, create=True)`` makes a session with a new random id).
    Attribute values are read from the snapshot taken at lookup: ``get_attribute`` returns a
    fresh copy each time, so set an attribute again after changing a mutable value.

The event loop
    SPEC.md's session API is synchronous, and the asyncio server runs plain controllers on
    its event loop, where a Redis round trip would stall every connection. So:

    * a controller's ``Session`` parameter is loaded *before* the controller runs, off the
      loop (in a small thread pool of the factory), and the writes it makes are kept and
      written back (off the loop again) once the controller has returned, before the response
      goes out. That is done for ``async def`` controllers, and for plain ones unless the
      application runs them in its thread pool (``Application(run_sync_in_threadpool=True)``),
      where ordinary blocking calls are fine and the session writes through at once. (A plain
      controller with a ``Session`` parameter thus makes its route asynchronous; the
      controller itself still runs where plain controllers run.) Saving writes only the
      attributes this request set or removed, so concurrent requests of one session do not
      undo each other's other attributes; an invalidation wins over later saves;
    * any other Redis call made on a running event loop (``request.get_session()`` called
      directly in a plain controller served on the loop, or in a filter of an async route)
      would block it. With the plugin on the asyncio server that raises
      :class:`EventLoopBlockingError`, a clear 500, instead of silently stalling the
      server; on the threading server (whose loops belong to one connection thread) it is
      allowed; elsewhere it is logged once as a warning. ``on_loop_blocking`` sets this.

    Use a ``Session`` parameter, or ``run_sync_in_threadpool=True``, and nothing blocks the loop.

Failures
    A Redis connection error or timeout during a request answers ``503 Session store
    unavailable`` (logged as a warning), never a crash. At start the plugin pings Redis and
    raises :class:`SessionStoreUnavailable` if it cannot be reached, so a server does not
    start silently broken.

Entry point
    ``naja_atra.plugins.redis_sessions:autoload`` is installed as the ``redis_sessions``
    plugin of every application, and does nothing unless the ``NAJA_ATRA_REDIS_SESSIONS_URL``
    environment variable (or the ``--redis-sessions-url`` option) names a Redis URL; then it
    registers a :class:`RedisSessionsPlugin` for that URL in each application that has none.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import json
import os
import re
import secrets
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Optional, Protocol, TypeVar, Union
from urllib.parse import urlsplit, urlunsplit

from ..hooks.specs import hookimpl
from ..http.errors import ConfigurationError, HttpError
from ..injection import builtin as _builtin
from ..sessions import DEFAULT_MAX_INACTIVE_INTERVAL, SESSION_COOKIE_NAME, Session, SessionFactory
from ..utils.logger import get_logger

if TYPE_CHECKING:
    import argparse

    from redis import Redis
    from redis.commands.core import Script

    from ..app.application import Application
    from ..app.context import RequestContext
    from ..app.routes import Route
    from ..injection.params import Param, Resolver

__all__ = [
    "DEFAULT_PREFIX",
    "DEFAULT_URL",
    "ENV_URL",
    "EventLoopBlockingError",
    "JsonSerializer",
    "RedisSession",
    "RedisSessionFactory",
    "RedisSessionsAutoload",
    "RedisSessionsPlugin",
    "Serializer",
    "SessionStoreUnavailable",
    "autoload",
]

#: The Redis URL used when none is given.
DEFAULT_URL = "redis://127.0.0.1:6379/0"
#: The prefix of the session keys.
DEFAULT_PREFIX = "naja_atra:session:"
#: The environment variable that makes the ``redis_sessions`` entry point register a plugin.
ENV_URL = "NAJA_ATRA_REDIS_SESSIONS_URL"

_log = get_logger("naja_atra.redis_sessions")
_T = TypeVar("_T")

# Hash fields: metadata under "m:", attributes under "a:" (so no attribute name can clash).
_CREATED = b"m:created"
_ACCESSED = b"m:accessed"
_ATTR = "a:"
_ATTR_BYTES = b"a:"
# What ``secrets.token_urlsafe`` produces, with room for other issuers' lengths. Anything else
# cannot be one of our ids and is answered without asking Redis.
_PLAUSIBLE_ID = re.compile(r"[A-Za-z0-9_-]{16,128}")

# KEYS[1] = session key; ARGV[1] = now; ARGV[2] = ttl in ms.
# An existing session: record the access, refresh the TTL, return every field. Else nil.
_LOAD_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSET', KEYS[1], 'm:accessed', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('HGETALL', KEYS[1])
"""

# KEYS[1] = session key; ARGV[1] = 'new' | 'existing'; ARGV[2] = ttl in ms; ARGV[3] = n,
# then n field/value pairs to set, then the fields to delete.
# Returns 1 when written, 0 when an existing session is gone (expired or invalidated: it is
# not recreated), -1 when a new session's key is already taken.
_WRITE_SCRIPT = """
local exists = redis.call('EXISTS', KEYS[1])
if ARGV[1] == 'new' then
  if exists == 1 then return -1 end
elseif exists == 0 then
  return 0
end
local n = tonumber(ARGV[3])
if n > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 4, 3 + 2 * n)) end
if #ARGV > 3 + 2 * n then redis.call('HDEL', KEYS[1], unpack(ARGV, 4 + 2 * n, #ARGV)) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""


class SessionStoreUnavailable(RuntimeError):
    """Redis cannot be reached (raised at start by the plugin's ping)."""


class EventLoopBlockingError(RuntimeError):
    """A synchronous Redis call was about to block the asyncio server's event loop."""


class Serializer(Protocol):
    """Turns attribute values into bytes for Redis and back."""

    def dumps(self, value: Any) -> bytes:
        """The bytes stored for ``value``."""
        ...

    def loads(self, data: bytes) -> Any:
        """The value stored as ``data``."""
        ...


class JsonSerializer:
    """JSON (UTF-8): str, int, float, bool, None, lists and dicts with string keys.

    Other values fail at ``set_attribute`` with ``TypeError``; tuples come back as lists.
    Pass your own serializer (any object with ``dumps``/``loads``) for richer values; only
    use ``pickle`` if nobody else can write to your Redis.
    """

    def dumps(self, value: Any) -> bytes:
        """``value`` as compact UTF-8 JSON."""
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def loads(self, data: bytes) -> Any:
        """The value of UTF-8 JSON ``data``."""
        return json.loads(data.decode("utf-8"))

    def __repr__(self) -> str:
        return "JsonSerializer()"


def _redacted(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable Redis URL>"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))


def _unavailable_errors() -> tuple[type[BaseException], ...]:
    """The redis-py errors that mean "the store cannot serve now" (answered with 503)."""
    from redis import exceptions as rex
    return (rex.ConnectionError, rex.TimeoutError, rex.ReadOnlyError, rex.ClusterDownError)


class RedisSession(Session):
    """A session stored in a Redis hash (see the module's documentation).

    Made by :class:`RedisSessionFactory`. A session looked up by a plain
    ``factory.get_session`` writes through: ``set_attribute``, ``remove_attribute`` and
    ``invalidate`` go to Redis at once. A session loaded for a ``Session`` parameter by
    :class:`RedisSessionsPlugin` is *deferred*: those calls change only this object, and the
    plugin saves the changes once the controller has returned (``save()`` does it at once).
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
        # Whether the key exists in Redis: a deferred new session is only written at save().
        self._stored = not (is_new and deferred)
        self._dirty: set[str] = set()
        self._removed: set[str] = set()
        self._lock = threading.Lock()

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
        self._write({_ATTR + name: bytes(data)}, ())

    def remove_attribute(self, name: str) -> None:
        """Remove an attribute (no error if it is not set)."""
        with self._lock:
            self._values.pop(name, None)
            if self._deferred:
                self._dirty.discard(name)
                self._removed.add(name)
                return
        self._write({}, (_ATTR + name,))

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
            self._factory._delete(self._id)

    @property
    def needs_save(self) -> bool:
        """Whether a deferred session has changes that :meth:`save` would write."""
        with self._lock:
            if not self._valid:
                return self._stored
            return not self._stored or bool(self._dirty or self._removed)

    def save(self) -> None:
        """Write a deferred session's changes to Redis now (blocking; nothing to do otherwise).

        A new session is created with every attribute; an existing one gets the attributes set
        or removed since it was loaded (other requests' changes to other attributes are kept).
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
                    fields = {_ATTR + n: self._values[n] for n in self._dirty if n in self._values}
                    removed = tuple(_ATTR + n for n in self._removed)
                    if not fields and not removed:
                        return
                else:
                    fields = {_ATTR + n: v for n, v in self._values.items()}
                    removed = ()
                    fields["m:created"] = repr(self._creation_time).encode()
                    fields["m:accessed"] = repr(self._last_accessed_time).encode()
                new = not self._stored
                self._dirty.clear()
                self._removed.clear()
        if delete:
            self._factory._delete(self._id)
            return
        result = self._factory._write_fields(self._id, "new" if new else "existing", fields, removed)
        with self._lock:
            if new and result == 1:
                self._stored = True
            elif result == 0:
                self._valid = False
            elif result == -1:  # 256 random bits collided: never in practice
                raise RuntimeError("A new session id is already taken in Redis")

    def _write(self, fields: Mapping[str, bytes], removed: tuple[str, ...]) -> None:
        """Write-through: apply one change to the stored session."""
        if not self._stored:
            return
        if self._factory._write_fields(self._id, "existing", fields, removed) == 0:
            with self._lock:  # expired or invalidated elsewhere: keep the value here only
                self._valid = False
                self._stored = False

    def __repr__(self) -> str:
        # The id is a credential: keep it out of logs and tracebacks.
        mode = "deferred" if self._deferred else "write-through"
        return f"<RedisSession {mode} valid={self._valid} new={self._is_new} attributes={len(self._values)}>"


class _RequestScope:
    """The sessions a request loaded off the loop; lets ``get_session`` answer without I/O."""

    def __init__(self, factory: RedisSessionFactory) -> None:
        self.factory = factory
        self.known: dict[str, Optional[RedisSession]] = {}
        self.sessions: list[RedisSession] = []
        self.token: Optional[Token[Optional[_RequestScope]]] = None

    def remember(self, session_id: str, session: Optional[RedisSession]) -> None:
        self.known[session_id] = session
        if session is not None:
            self.sessions.append(session)

    def get_session(self, session_id: Optional[str], create: bool) -> Optional[RedisSession]:
        factory = self.factory
        if session_id and factory.is_plausible_id(session_id):
            if session_id not in self.known:  # not loaded ahead: only reachable off the plugin's path
                self.remember(session_id, factory._load(session_id, deferred=True))
            found = self.known[session_id]
            if found is not None and found.is_valid:
                return found
        if not create:
            return None
        session = factory._new_session(deferred=True)
        self.remember(session.id, session)
        return session

    async def finish(self, error: Optional[BaseException]) -> None:
        """Save every changed session (off the loop), then leave the request's scope."""
        try:
            for session in self.sessions:
                if session.needs_save:
                    await self.factory.run_io(session.save)
        except Exception as exc:
            if error is None:
                raise
            # The request already failed: answer that error, not this one.
            _log.warning("Could not save a session after a failed request: %s", exc)
        finally:
            token, self.token = self.token, None
            if token is not None:
                try:
                    _SCOPE.reset(token)
                except ValueError:  # not the context it was set in
                    _SCOPE.set(None)


_SCOPE: ContextVar[Optional[_RequestScope]] = ContextVar("naja_atra_redis_session_scope", default=None)
_SCOPE_KEY = "naja_atra.redis_sessions.scope"


class RedisSessionFactory(SessionFactory):
    """Finds and creates :class:`RedisSession` objects (see the module's documentation).

    - ``url``: the Redis URL (``redis://[user:password@]host:port/db``, ``rediss://``,
      ``unix://``), used unless ``client`` is given. The client made from it has a 2 s connect
      and 5 s read timeout and retries a failed command once, without delay (a stale pooled
      connection); ``client_options`` adds or overrides ``redis.Redis`` keywords.
    - ``client``: a ready ``redis.Redis`` (it must not use ``decode_responses``); it is not
      closed by :meth:`close`, its owner closes it.
    - ``prefix``: prepended to the session id to make its key.
    - ``max_inactive_interval``: seconds without a request before a session expires (its TTL).
    - ``serializer``: ``dumps(value) -> bytes`` / ``loads(bytes) -> value`` for attributes.
    - ``io_threads``: the size of the pool that runs Redis calls off the event loop.
    - ``on_loop_blocking``: what a synchronous Redis call on a running event loop does:
      ``"error"`` (raise :class:`EventLoopBlockingError`), ``"warn"`` (log once, go on),
      ``"ignore"``, or ``"auto"``: error on the asyncio server, ignore on the threading server
      (as told by :class:`RedisSessionsPlugin` at start), warn when the server is not known.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        client: Optional[Redis] = None,
        prefix: str = DEFAULT_PREFIX,
        max_inactive_interval: int = DEFAULT_MAX_INACTIVE_INTERVAL,
        serializer: Serializer = JsonSerializer(),
        client_options: Optional[Mapping[str, Any]] = None,
        io_threads: int = 16,
        on_loop_blocking: str = "auto",
    ) -> None:
        if isinstance(max_inactive_interval, bool) or not isinstance(max_inactive_interval, int) \
                or max_inactive_interval <= 0:
            raise ValueError(f"max_inactive_interval must be a number of seconds > 0, not {max_inactive_interval!r}")
        if on_loop_blocking not in ("auto", "error", "warn", "ignore"):
            raise ValueError(f"on_loop_blocking must be 'auto', 'error', 'warn' or 'ignore', not {on_loop_blocking!r}")
        if io_threads < 1:
            raise ValueError(f"io_threads must be >= 1, not {io_threads!r}")
        if not callable(getattr(serializer, "dumps", None)) or not callable(getattr(serializer, "loads", None)):
            raise TypeError(f"serializer {serializer!r} needs dumps(value) -> bytes and loads(bytes) -> value")
        self.url = url
        self.prefix = prefix
        self.max_inactive_interval: int = max_inactive_interval
        self.serializer: Serializer = serializer
        self.io_threads = io_threads
        self.on_loop_blocking = on_loop_blocking
        #: ``"asyncio"``, ``"threading"`` or None: the server being run (see :meth:`serving`).
        self.server_kind: Optional[str] = None
        self._owns_client = client is None
        if client is None:
            client = self._make_client(url, client_options or {})
        elif client.connection_pool.connection_kwargs.get("decode_responses"):
            raise ValueError("The Redis client for sessions must not use decode_responses=True")
        self.client: Redis = client
        self._load_script: Script = client.register_script(_LOAD_SCRIPT)
        self._write_script: Script = client.register_script(_WRITE_SCRIPT)
        self._unavailable = _unavailable_errors()
        self._executor: Optional[ThreadPoolExecutor] = None
        self._executor_lock = threading.Lock()
        self._warned = False
        self._servers: list[Optional[str]] = []  # the kinds of the servers started with this factory

    @staticmethod
    def _make_client(url: str, options: Mapping[str, Any]) -> Redis:
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise ImportError("Redis sessions need the redis package: pip install 'naja_atra[redis]'") from exc
        kwargs: dict[str, Any] = {
            "socket_connect_timeout": 2.0,
            "socket_timeout": 5.0,
            "retry": Retry(NoBackoff(), 1),
        }
        kwargs.update(options)
        kwargs["decode_responses"] = False
        return redis.Redis.from_url(url, **kwargs)

    # -- public helpers ---------------------------------------------------------------------
    def key_for(self, session_id: str) -> str:
        """The Redis key of the session ``session_id``."""
        return self.prefix + session_id

    @staticmethod
    def is_plausible_id(session_id: str) -> bool:
        """Whether ``session_id`` could be an id of ours (others are never looked up)."""
        return bool(_PLAUSIBLE_ID.fullmatch(session_id))

    def ping(self) -> None:
        """Check that Redis answers; :class:`SessionStoreUnavailable` if it does not."""
        try:
            self.client.ping()
        except Exception as exc:
            where = _redacted(self.url) if self._owns_client else "the given client"
            raise SessionStoreUnavailable(
                f"Redis session store unreachable at {where}: {exc}. "
                "Start Redis, or fix the URL given to RedisSessionsPlugin / RedisSessionFactory.") from exc

    def serving(self, server_kind: Optional[str]) -> contextlib.AbstractContextManager[None]:
        """While a server of ``server_kind`` (``"asyncio"``, ``"threading"``, None) runs.

        Sets :attr:`server_kind` (for ``on_loop_blocking="auto"`` and :meth:`run_io`) and, when
        the last server using this factory stops, closes it (see :meth:`close`).
        """
        return self._serving(server_kind)

    @contextlib.contextmanager
    def _serving(self, server_kind: Optional[str]) -> Iterator[None]:
        with self._executor_lock:
            self._servers.append(server_kind)
            self.server_kind = server_kind
        try:
            yield
        finally:
            with self._executor_lock:
                self._servers.remove(server_kind)
                last = not self._servers
                self.server_kind = self._servers[-1] if self._servers else None
            if last:
                self.close()

    def close(self) -> None:
        """Stop the I/O threads and, if this factory made the client, close its connections.

        The factory stays usable: connections and threads are made again on demand.
        """
        with self._executor_lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        if self._owns_client:
            self.client.close()

    async def run_io(self, func: Callable[..., _T], *args: Any) -> _T:
        """Run a blocking Redis call without blocking the running event loop.

        On the threading server (whose loops each belong to one connection thread) it is
        called in place; elsewhere in the factory's I/O threads.
        """
        if self.server_kind == "threading":
            return func(*args)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._io_executor(), functools.partial(func, *args))

    def _io_executor(self) -> ThreadPoolExecutor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.io_threads, thread_name_prefix="naja_atra-redis-session")
            return self._executor

    # -- SessionFactory ----------------------------------------------------------------------
    def get_session(self, session_id: Optional[str], create: bool = False) -> Optional[RedisSession]:
        """The stored session with this id, its TTL refreshed; else a new one (with a new id)
        if ``create``; else None. Blocking (see the module's documentation on event loops);
        ``HttpError(503)`` when Redis cannot be reached.
        """
        scope = _SCOPE.get()
        if scope is not None and scope.factory is self:
            return scope.get_session(session_id, create)
        session = None
        if session_id and self.is_plausible_id(session_id):
            session = self._load(session_id, deferred=False)
        if session is None and create:
            session = self._new_session(deferred=False)
        return session

    def clean_expired(self) -> None:
        """Nothing to do: Redis expires idle sessions by their TTL."""

    # -- internals ---------------------------------------------------------------------------
    def _check_blocking(self) -> None:
        """Refuse (or report) a blocking call made on a running event loop."""
        policy = self.on_loop_blocking
        if policy == "ignore":
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # not on an event loop: blocking is fine
        if policy == "auto":
            policy = {"asyncio": "error", "threading": "ignore"}.get(self.server_kind or "", "warn")
        message = ("A Redis session call would block the event loop: take the session as a Session "
                   "parameter of the controller (it is then loaded before the controller runs, off the "
                   "loop), or use Application(run_sync_in_threadpool=True) for plain controllers that "
                   "call request.get_session()")
        if policy == "error":
            raise EventLoopBlockingError(message)
        if policy == "warn" and not self._warned:
            self._warned = True
            _log.warning("%s", message)
            warnings.warn(message, RuntimeWarning, stacklevel=2)

    @contextlib.contextmanager
    def _store(self) -> Iterator[None]:
        """Around every Redis call: refuse to block an event loop (see ``on_loop_blocking``);
        Redis errors that mean "unavailable" become a 503."""
        self._check_blocking()
        try:
            yield
        except self._unavailable as exc:
            _log.warning("Redis session store unavailable: %s", exc)
            raise HttpError(503, "Session store unavailable") from exc

    def _ttl_ms(self) -> int:
        return self.max_inactive_interval * 1000

    def _load(self, session_id: str, deferred: bool) -> Optional[RedisSession]:
        now = time.time()
        with self._store():
            reply = self._load_script(keys=[self.key_for(session_id)], args=[repr(now), self._ttl_ms()])
        if not reply:
            return None
        items = iter(reply)
        created = now
        values: dict[str, bytes] = {}
        for field, value in zip(items, items):
            field_b = field if isinstance(field, bytes) else str(field).encode("utf-8")
            value_b = value if isinstance(value, bytes) else str(value).encode("utf-8")
            if field_b.startswith(_ATTR_BYTES):
                values[field_b[2:].decode("utf-8", "replace")] = value_b
            elif field_b == _CREATED:
                with contextlib.suppress(ValueError):
                    created = float(value_b)
        return RedisSession(self, session_id, created, now, values, is_new=False, deferred=deferred)

    def _new_session(self, deferred: bool) -> RedisSession:
        now = time.time()
        session = RedisSession(self, secrets.token_urlsafe(32), now, now, {}, is_new=True, deferred=deferred)
        if not deferred:
            fields = {"m:created": repr(now).encode(), "m:accessed": repr(now).encode()}
            while self._write_fields(session.id, "new", fields, ()) == -1:  # never in practice
                session._id = secrets.token_urlsafe(32)
        return session

    def _write_fields(self, session_id: str, mode: str, fields: Mapping[str, bytes],
                      removed: tuple[str, ...]) -> int:
        args: list[Union[str, bytes, int]] = [mode, self._ttl_ms(), len(fields)]
        for name, value in fields.items():
            args += [name.encode("utf-8"), value]
        args += [name.encode("utf-8") for name in removed]
        with self._store():
            return int(self._write_script(keys=[self.key_for(session_id)], args=args))

    def _delete(self, session_id: str) -> None:
        with self._store():
            self.client.delete(self.key_for(session_id))

    def __repr__(self) -> str:
        where = _redacted(self.url) if self._owns_client else repr(self.client)
        return (f"<RedisSessionFactory {where} prefix={self.prefix!r} "
                f"max_inactive_interval={self.max_inactive_interval}>")


def _server_kind(server: Any) -> Optional[str]:
    from ..servers.asyncio_server import AsyncioServer
    from ..servers.threaded import ThreadingServer
    if isinstance(server, AsyncioServer):
        return "asyncio"
    if isinstance(server, ThreadingServer):
        return "threading"
    return None


def _wants_session(param: Param) -> bool:
    """Whether the built-in resolvers would give ``param`` the request's session."""
    try:
        return _builtin.builtin_resolver(param, fallback=False) is _builtin.session
    except ConfigurationError:
        return False  # not ours: the built-in plugin reports it


class RedisSessionsPlugin:
    """Redis sessions for an application: ``app.register(RedisSessionsPlugin(url_or_factory))``.

    - ``naja_atra_make_session_factory``: the factory (made once, from the URL and
      ``factory_options`` when a URL is given);
    - ``naja_atra_make_resolver``: ``Session`` parameters loaded before the controller and
      saved after it, off the event loop (see the module's documentation); ``preload=False``
      leaves them to the built-in (blocking) resolver;
    - ``naja_atra_lifespan``: at start, pings Redis (:class:`SessionStoreUnavailable` if it
      does not answer) and tells the factory which server runs; at stop, closes the factory
      (its I/O threads, and the client if the factory made it) unless another application
      sharing it is still serving.
    """

    def __init__(self, factory_or_url: Union[RedisSessionFactory, str] = DEFAULT_URL, *, preload: bool = True,
                 **factory_options: Any) -> None:
        if isinstance(factory_or_url, RedisSessionFactory):
            if factory_options:
                raise TypeError("Give factory options to RedisSessionFactory, not with a ready factory")
            self.factory = factory_or_url
        elif isinstance(factory_or_url, str):
            self.factory = RedisSessionFactory(factory_or_url, **factory_options)
        else:
            raise TypeError(f"RedisSessionsPlugin needs a Redis URL or a RedisSessionFactory, not {factory_or_url!r}")
        self.preload = preload

    @hookimpl
    def naja_atra_make_session_factory(self, app: Application) -> SessionFactory:
        """The Redis factory (the same at every build)."""
        return self.factory

    @hookimpl
    def naja_atra_make_resolver(self, app: Application, route: Route, param: Param) -> Optional[Resolver]:
        """A ``Session`` parameter, loaded off the loop (None: left to the built-in)."""
        if not self.preload or not _wants_session(param):
            return None
        if app.run_sync_in_threadpool and not inspect.iscoroutinefunction(route.handler):
            return None  # a plain controller run in the thread pool: blocking calls are fine there
        return self._session_resolver()

    def _session_resolver(self) -> Resolver:
        factory = self.factory

        async def load_session(ctx: RequestContext) -> Optional[Session]:
            state = ctx.state
            if state is None:
                state = ctx.state = {}
            scope = state.get(_SCOPE_KEY)
            if not isinstance(scope, _RequestScope):
                scope = state[_SCOPE_KEY] = _RequestScope(factory)
                scope.token = _SCOPE.set(scope)
                ctx.add_cleanup(scope.finish)
            morsel = ctx.request.cookies.get(SESSION_COOKIE_NAME)
            session_id = morsel.value if morsel is not None else ""
            if session_id and factory.is_plausible_id(session_id) and session_id not in scope.known:
                scope.remember(session_id, await factory.run_io(factory._load, session_id, True))
            # Through the request, so that request.get_session() gives the same object; the
            # factory answers from the scope, without I/O.
            return ctx.request.get_session(True)
        return load_session

    @hookimpl
    def naja_atra_lifespan(self, app: Application) -> contextlib.AbstractContextManager[None]:
        """Ping Redis at start, close the factory at stop."""
        return self._serving(app)

    @contextlib.contextmanager
    def _serving(self, app: Application) -> Iterator[None]:
        factory = self.factory
        factory.ping()
        kind = _server_kind(app.server)
        if kind == "asyncio":
            _log.info("Redis sessions on the asyncio server: Session parameters are loaded and saved off the "
                      "event loop; a blocking call on the loop raises EventLoopBlockingError")
        with factory.serving(kind):
            yield

    def __repr__(self) -> str:
        return f"<RedisSessionsPlugin {self.factory!r}>"


class RedisSessionsAutoload:
    """The ``redis_sessions`` entry point: inert unless a Redis URL is configured.

    With ``NAJA_ATRA_REDIS_SESSIONS_URL`` set (or ``--redis-sessions-url`` on the command line
    when the plugin is registered before the CLI parses it), it registers a
    :class:`RedisSessionsPlugin` for that URL in each application that does not have one.
    """

    @hookimpl
    def naja_atra_add_cli_options(self, parser: argparse.ArgumentParser) -> None:
        """``--redis-sessions-url URL``."""
        parser.add_argument("--redis-sessions-url", default=None, metavar="URL",
                            help=f"keep sessions in Redis at URL (default: ${ENV_URL}, if set)")

    @hookimpl
    def naja_atra_configure(self, app: Application) -> None:
        """Register a :class:`RedisSessionsPlugin` if a URL is configured and none is registered."""
        url = getattr(app.cli_args, "redis_sessions_url", None) or os.environ.get(ENV_URL, "").strip()
        if not url:
            return
        if any(isinstance(p, RedisSessionsPlugin) for p in app.plugin_manager.get_plugins()):
            return
        app.register(RedisSessionsPlugin(url), name="redis_sessions.configured")

    def __repr__(self) -> str:
        return "<RedisSessionsAutoload>"


#: The object the ``redis_sessions`` entry point names.
autoload = RedisSessionsAutoload()
