"""The session factory: finds, creates and writes :class:`RedisSession` objects.

It runs the ``storage`` module's scripts, each call guarded against blocking an event loop
(see the ``event_loop`` module) and turning an unreachable Redis into a 503 (see ``errors``),
and owns the thread pool that runs those calls off the loop.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Optional, TypeVar

from ...http.errors import HttpError
from ...sessions import DEFAULT_MAX_INACTIVE_INTERVAL, SessionFactory
from .config import DEFAULT_PREFIX, DEFAULT_URL, log, redacted
from .errors import EventLoopBlockingError, SessionStoreUnavailable, unavailable_errors
from .event_loop import BLOCKING_MESSAGE, LOOP_BLOCKING_POLICIES, blocking_policy, current_scope
from .serializers import JsonSerializer, Serializer
from .session import RedisSession
from .storage import LOAD_SCRIPT, PLAUSIBLE_ID, WRITE_SCRIPT, new_session_id, parse_hash, write_args

if TYPE_CHECKING:
    from redis import Redis
    from redis.commands.core import Script

__all__ = ["RedisSessionFactory"]

_T = TypeVar("_T")


class RedisSessionFactory(SessionFactory):
    """Finds and creates :class:`RedisSession` objects (see the package's overview).

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
        if on_loop_blocking not in LOOP_BLOCKING_POLICIES:
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
        self._load_script: Script = client.register_script(LOAD_SCRIPT)
        self._write_script: Script = client.register_script(WRITE_SCRIPT)
        self._unavailable = unavailable_errors()
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
        return bool(PLAUSIBLE_ID.fullmatch(session_id))

    def ping(self) -> None:
        """Check that Redis answers; :class:`SessionStoreUnavailable` if it does not."""
        try:
            self.client.ping()
        except Exception as exc:
            where = redacted(self.url) if self._owns_client else "the given client"
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
        """The stored session with this id, its TTL refreshed; else a new one (with a new id,
        written to Redis with its first attribute) if ``create``; else None. Blocking (see the
        ``event_loop`` module); ``HttpError(503)`` when Redis cannot be reached.
        """
        scope = current_scope.get()
        if scope is not None and scope.factory is self:
            return scope.get_session(session_id, create)
        session = None
        if session_id and self.is_plausible_id(session_id):
            session = self.load(session_id, deferred=False)
        if session is None and create:
            session = self.new_session(deferred=False)
        return session

    def clean_expired(self) -> None:
        """Nothing to do: Redis expires idle sessions by their TTL."""

    # -- internals ---------------------------------------------------------------------------
    def _check_blocking(self) -> None:
        """Refuse (or report) a blocking call made on a running event loop."""
        policy = blocking_policy(self.on_loop_blocking, self.server_kind)
        if policy == "error":
            raise EventLoopBlockingError(BLOCKING_MESSAGE)
        if policy == "warn" and not self._warned:
            self._warned = True
            log.warning("%s", BLOCKING_MESSAGE)
            warnings.warn(BLOCKING_MESSAGE, RuntimeWarning, stacklevel=2)

    @contextlib.contextmanager
    def _store(self) -> Iterator[None]:
        """Around every Redis call: refuse to block an event loop (see ``on_loop_blocking``);
        Redis errors that mean "unavailable" become a 503."""
        self._check_blocking()
        try:
            yield
        except self._unavailable as exc:
            log.warning("Redis session store unavailable: %s", exc)
            raise HttpError(503, "Session store unavailable") from exc

    def _ttl_ms(self) -> int:
        return self.max_inactive_interval * 1000

    def load(self, session_id: str, deferred: bool) -> Optional[RedisSession]:
        """The stored session with this id, its expiry renewed (one script call), or None."""
        now = time.time()
        with self._store():
            reply = self._load_script(keys=[self.key_for(session_id)], args=[repr(now), self._ttl_ms()])
        if not reply:
            return None
        created, values = parse_hash(reply, now)
        return RedisSession(self, session_id, created, now, values, is_new=False, deferred=deferred)

    def new_session(self, deferred: bool) -> RedisSession:
        """A new session with a fresh id, not in Redis yet: it is written with its first
        attribute (at once, or at the end of the request when ``deferred``). No I/O here."""
        now = time.time()
        return RedisSession(self, new_session_id(), now, now, {}, is_new=True, deferred=deferred)

    def write_fields(self, session_id: str, mode: str, fields: Mapping[str, bytes],
                      removed: tuple[str, ...]) -> int:
        """Write ``fields`` and remove ``removed`` of session ``session_id`` (mode "new" or
        "existing"); the script's answer (-1: the id is taken, 0: the session is gone)."""
        args = write_args(mode, self._ttl_ms(), fields, removed)
        with self._store():
            return int(self._write_script(keys=[self.key_for(session_id)], args=args))

    def delete(self, session_id: str) -> None:
        """Remove a session from the store."""
        with self._store():
            self.client.delete(self.key_for(session_id))

    def __repr__(self) -> str:
        where = redacted(self.url) if self._owns_client else repr(self.client)
        return (f"<RedisSessionFactory {where} prefix={self.prefix!r} "
                f"max_inactive_interval={self.max_inactive_interval}>")
