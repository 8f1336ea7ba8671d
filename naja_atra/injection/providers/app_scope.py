"""The app-scoped values of an application: :class:`AppScope`, found by :func:`app_scope_of`.

An app-scoped value (``Depends(f, scope="app")``) is made once, lazily, on first use (one
creation even under concurrent first requests, on threads or event loops), and torn down
when the application stops (the built-in ``naja_atra.providers`` plugin's
``naja_atra_lifespan`` calls :meth:`AppScope.close`), last made first.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Optional

from ...utils.logger import get_logger
from ...utils.threads import call_off_loop
from .cleanups import Exit

if TYPE_CHECKING:
    from ...app.application import Application
    from ...app.context import RequestContext

#: The attribute of an application holding its app-scoped values.
APP_SCOPE_ATTR = "_naja_atra_app_scope"

#: "No value yet" (in :class:`AppScope` and in the scopes' caches, :mod:`.scopes`).
MISSING: Any = object()
_log = get_logger("naja_atra.providers")


class AppScope:
    """The app-scoped values of one application and their cleanups.

    A value is made at most once: the first caller makes it while the others (other
    threads, other tasks, other event loops) wait for the same ``concurrent.futures.Future``
    — a thread-safe primitive that ``asyncio.wrap_future`` can await from any loop, which an
    ``asyncio.Lock`` (bound to one loop) or a ``threading.Lock`` held across an ``await``
    (it would block the loop) could not offer. ``lock`` only guards the dictionaries, never
    a creation. A creation that fails is not kept: the next request tries again.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: dict[Any, Any] = {}
        self.pending: dict[Any, concurrent.futures.Future[Any]] = {}
        self.exits: list[Exit] = []

    def keep(self, exit_: Exit) -> None:
        """Remember a generator to finish at :meth:`close`."""
        with self.lock:
            self.exits.append(exit_)

    def _claim(self, key: Any) -> tuple[Any, Optional[concurrent.futures.Future[Any]], bool]:
        """(value, future, mine): the value if made, else the creation to wait for or to do."""
        with self.lock:
            value = self.values.get(key, MISSING)
            if value is not MISSING:
                return value, None, False
            future = self.pending.get(key)
            if future is not None:
                return MISSING, future, False
            future = self.pending[key] = concurrent.futures.Future()
            future.set_running_or_notify_cancel()  # a waiter's cancellation cannot cancel it
            return MISSING, future, True

    def _settle(self, key: Any, future: concurrent.futures.Future[Any], value: Any,
                error: Optional[BaseException]) -> None:
        with self.lock:
            del self.pending[key]
            if error is None:
                self.values[key] = value
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)

    def get(self, key: Any, create: Callable[[RequestContext], Any], ctx: RequestContext) -> Any:
        """The value of ``key``, made by ``create(ctx)`` if it is the first use."""
        value, future, mine = self._claim(key)
        if future is None:
            return value
        if not mine:
            return future.result()
        try:
            value = create(ctx)
        except BaseException as exc:
            self._settle(key, future, None, exc)
            raise
        self._settle(key, future, value, None)
        return value

    async def get_async(self, key: Any, create: Callable[[RequestContext], Awaitable[Any]],
                        ctx: RequestContext) -> Any:
        """:meth:`get` for an asynchronous ``create``."""
        value, future, mine = self._claim(key)
        if future is None:
            return value
        if not mine:
            # shield: this task being cancelled must not cancel the creation others wait for.
            return await asyncio.shield(asyncio.wrap_future(future))
        try:
            value = await create(ctx)
        except BaseException as exc:
            self._settle(key, future, None, exc)
            raise
        self._settle(key, future, value, None)
        return value

    def close(self) -> None:
        """Finish every app-scoped generator, last made first, and forget every value (a
        later use makes a new one). A failing cleanup is logged; the others still run."""
        with self.lock:
            exits, self.exits = self.exits, []
            self.values.clear()
        for exit_ in reversed(exits):
            try:
                if exit_.is_async:
                    _run_coroutine(functools.partial(exit_.finish_async, None))
                else:
                    exit_.finish(None)
            except Exception as exc:
                _log.error("Cleanup of app-scoped provider %s failed", exit_.name, exc_info=exc)


def _run_coroutine(make: Callable[[], Awaitable[None]]) -> None:
    """Run a coroutine to its end from synchronous code, on a private event loop.

    The application's lifespan is left synchronously, possibly on a thread whose loop is
    running (the asyncio server): that loop cannot run anything until we return, so the
    coroutine then runs on a helper thread's loop.
    """
    def run() -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(make())
        finally:
            loop.close()

    call_off_loop(run, name="naja_atra-providers-close")


def app_scope_of(app: Application, create: bool = True) -> Optional[AppScope]:
    """The app-scoped values of ``app`` (attached on first use when ``create``: at build,
    under the application's build lock)."""
    scope = getattr(app, APP_SCOPE_ATTR, None)
    if scope is None and create:
        scope = AppScope()
        setattr(app, APP_SCOPE_ATTR, scope)
    return scope if isinstance(scope, AppScope) else None
