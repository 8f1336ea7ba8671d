"""Keeping Redis round trips off the event loop.

The event loop
    The session API (of naja-atra 1.x) is synchronous, and the asyncio server runs plain controllers on
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

Here: the first point's :class:`RequestScope` (the plugin loads into it, the factory answers
from it, it saves at the end of the request), and the second point's :func:`blocking_policy`.
The factory's ``run_io`` runs the calls in its thread pool.
"""
from __future__ import annotations

import asyncio
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any, Optional

from .config import log

if TYPE_CHECKING:
    from .factory import RedisSessionFactory
    from .session import RedisSession

__all__ = [
    "BLOCKING_MESSAGE",
    "LOOP_BLOCKING_POLICIES",
    "SCOPE_KEY",
    "RequestScope",
    "blocking_policy",
    "current_scope",
    "kind_of_server",
]

#: The values of ``RedisSessionFactory(on_loop_blocking=...)``.
LOOP_BLOCKING_POLICIES = ("auto", "error", "warn", "ignore")

#: What a blocking call on the event loop raises or logs.
BLOCKING_MESSAGE = ("A Redis session call would block the event loop: take the session as a Session "
                    "parameter of the controller (it is then loaded before the controller runs, off the "
                    "loop), or use Application(run_sync_in_threadpool=True) for plain controllers that "
                    "call request.get_session()")


def blocking_policy(on_loop_blocking: str, server_kind: Optional[str]) -> str:
    """What a blocking Redis call made now does: ``"error"``, ``"warn"`` or ``"ignore"``.

    ``"ignore"`` off a running event loop; else ``on_loop_blocking``, where ``"auto"`` means
    error on the asyncio server, ignore on the threading server, warn on an unknown one.
    """
    if on_loop_blocking == "ignore":
        return "ignore"
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return "ignore"  # not on an event loop: blocking is fine
    if on_loop_blocking == "auto":
        return {"asyncio": "error", "threading": "ignore"}.get(server_kind or "", "warn")
    return on_loop_blocking


def kind_of_server(server: Any) -> Optional[str]:
    """``"asyncio"``, ``"threading"`` or None (another server, or none) for ``app.server``."""
    from ...servers.asyncio_server import AsyncioServer
    from ...servers.threaded import ThreadingServer
    if isinstance(server, AsyncioServer):
        return "asyncio"
    if isinstance(server, ThreadingServer):
        return "threading"
    return None


class RequestScope:
    """The sessions a request loaded off the loop; lets ``get_session`` answer without I/O."""

    def __init__(self, factory: RedisSessionFactory) -> None:
        self.factory = factory
        self.known: dict[str, Optional[RedisSession]] = {}
        self.sessions: list[RedisSession] = []
        self.token: Optional[Token[Optional[RequestScope]]] = None

    def remember(self, session_id: str, session: Optional[RedisSession]) -> None:
        """Record what was found for ``session_id`` (None: no such session)."""
        self.known[session_id] = session
        if session is not None:
            self.sessions.append(session)

    def get_session(self, session_id: Optional[str], create: bool) -> Optional[RedisSession]:
        """``factory.get_session`` within the request: the deferred session loaded ahead."""
        factory = self.factory
        if session_id and factory.is_plausible_id(session_id):
            if session_id not in self.known:  # not loaded ahead: only reachable off the plugin's path
                self.remember(session_id, factory.load(session_id, deferred=True))
            found = self.known[session_id]
            if found is not None and found.is_valid:
                return found
        if not create:
            return None
        session = factory.new_session(deferred=True)
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
            log.warning("Could not save a session after a failed request: %s", exc)
        finally:
            token, self.token = self.token, None
            if token is not None:
                try:
                    current_scope.reset(token)
                except ValueError:  # not the context it was set in
                    current_scope.set(None)


#: The scope of the request being served in this context (None outside one).
current_scope: ContextVar[Optional[RequestScope]] = ContextVar("naja_atra_redis_session_scope", default=None)
#: Where a request's scope is kept in ``ctx.state``.
SCOPE_KEY = "naja_atra.redis_sessions.scope"
