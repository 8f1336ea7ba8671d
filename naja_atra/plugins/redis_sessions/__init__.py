"""Sessions kept in Redis, shared by every process that serves the application.

Install with ``pip install naja_atra[redis]`` (the ``redis`` package), then either register
the plugin::

    from naja_atra import Application
    from naja_atra.plugins.redis_sessions import RedisSessionsPlugin

    app = Application()
    app.register(RedisSessionsPlugin("redis://127.0.0.1:6379/0"))

or hand a factory to ``set_session_factory`` (no start-time check, no asynchronous loading then)::

    set_session_factory(RedisSessionFactory("redis://127.0.0.1:6379/0"))

In short: one Redis hash per session, expired by Redis itself after the inactivity limit,
and made by the session's first attribute (a request that only looks at its session writes
nothing to Redis and gets no cookie, as with the in-memory store); a ``Session`` parameter
is loaded and saved off the event loop (or use ``run_sync_in_threadpool=True``), and a
blocking call on the asyncio server's loop raises :class:`EventLoopBlockingError`; an
unreachable Redis answers 503 during a request, and stops a server from starting
(:class:`SessionStoreUnavailable`). The details are next to
the code, one concept a module:

- ``plugin``: :class:`RedisSessionsPlugin` and its hooks (factory, ``Session`` parameters,
  lifespan);
- ``factory``: :class:`RedisSessionFactory`, which finds, creates and writes sessions, and
  runs Redis calls off the event loop;
- ``session``: :class:`RedisSession`, write-through or deferred until the request is over;
- ``storage``: how a session is kept in Redis (its key, hash fields and TTL) and the Lua
  scripts that read and write it;
- ``serializers``: :class:`Serializer` and the default :class:`JsonSerializer`;
- ``event_loop``: why and how Redis calls are kept off the event loop (the request's
  scope, ``on_loop_blocking``);
- ``errors``: :class:`SessionStoreUnavailable`, :class:`EventLoopBlockingError`, and what
  happens when Redis fails;
- ``config``: the default URL and key prefix, the environment variable, the logger;
- ``entry_point``: ``autoload``, the ``redis_sessions`` entry point (inert unless
  ``NAJA_ATRA_REDIS_SESSIONS_URL`` or ``--redis-sessions-url`` names a Redis URL).
"""
from __future__ import annotations

from .config import DEFAULT_PREFIX, DEFAULT_URL, ENV_URL
from .entry_point import RedisSessionsAutoload, autoload
from .errors import EventLoopBlockingError, SessionStoreUnavailable
from .factory import RedisSessionFactory
from .plugin import RedisSessionsPlugin
from .serializers import JsonSerializer, Serializer
from .session import RedisSession

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
