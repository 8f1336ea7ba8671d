"""HTTP sessions: the ``Session`` / ``SessionFactory`` contract of naja-atra 1.x and the
in-memory default.

A session is found by the id in the ``PY_SIM_HTTP_SER_SESSION_ID`` cookie. The default
:class:`LocalSessionFactory` keeps sessions in this process; subclass :class:`Session` and
:class:`SessionFactory` to keep them elsewhere (Redis, a database, ...).

The built-in stores keep a session, and the response hands out its cookie, only once an
attribute is set on it (``Session.is_stored``): requests that merely look at a session cost
nothing. The in-memory store is capped by an estimate of its memory (``max_memory``, 128 MiB)
and by a count (``max_sessions``, 100,000), and evicts sessions whose id never came back
before those a client returned, so one-off clients cannot push logged-in users out.

- :mod:`.contract`: ``Session``, ``SessionFactory`` and the cookie name;
- :mod:`.local`: ``LocalSessionFactory``, sessions in memory;
- :mod:`.cookies`: the ``Set-Cookie`` values of a session.
"""
from __future__ import annotations

from .contract import DEFAULT_MAX_INACTIVE_INTERVAL, SESSION_COOKIE_NAME, Session, SessionFactory
from .cookies import SessionCookie, expired_session_cookie, session_cookie
from .local import LocalSession, LocalSessionFactory

__all__ = [
    "DEFAULT_MAX_INACTIVE_INTERVAL",
    "SESSION_COOKIE_NAME",
    "LocalSession",
    "LocalSessionFactory",
    "Session",
    "SessionCookie",
    "SessionFactory",
    "expired_session_cookie",
    "session_cookie",
]
