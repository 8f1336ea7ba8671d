"""An application's own startup and shutdown work: ``on_startup``/``on_shutdown`` callbacks
and a ``lifespan`` context, each sync or async.

Entered, in this order, after the plugins' ``naja_atra_lifespan`` contexts: the
``lifespan`` context, then the startup callbacks in registration order. Left in reverse:
the shutdown callbacks in registration order, then the ``lifespan`` context, then the
plugins'. A startup step that raises stops the start: what was entered is left (the
``lifespan`` context, the plugins'), the shutdown callbacks do not run (startup never
finished), and the error propagates, its message naming the step.

Two ways to run it: :meth:`Lifecycle.run_async` on the event loop that serves (the asyncio
server's ``start_async``, ASGI servers), and :meth:`Lifecycle.run_sync` for drivers without
a loop of their own to share (the threading server, ``start()``, WSGI, the test client),
where async steps run on one private event loop kept for the whole lifespan.
"""
from __future__ import annotations

import asyncio
import contextlib
import inspect
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Iterator, Optional

from ..http.errors import ConfigurationError

if TYPE_CHECKING:
    from .application import Application

__all__ = ["Lifecycle", "StartupError"]

#: ``lifespan(app)`` returns a context manager, sync or async (Starlette's ``lifespan=``).
LifespanFactory = Callable[["Application"], Any]


class StartupError(RuntimeError):
    """A startup step of the application failed; ``__cause__`` is what it raised."""


def _name(step: Any) -> str:
    return getattr(step, "__qualname__", None) or repr(step)


class Lifecycle:
    """The startup callbacks, shutdown callbacks and ``lifespan`` factory of one application."""

    def __init__(self) -> None:
        self.startup: list[Callable[[], Any]] = []
        self.shutdown: list[Callable[[], Any]] = []
        self.lifespan: Optional[LifespanFactory] = None

    def add(self, which: list[Callable[[], Any]], func: Callable[[], Any], what: str) -> None:
        """Register a callback (checked: it must be callable)."""
        if not callable(func):
            raise ConfigurationError(f"{what} needs a function, not {func!r}")
        which.append(func)

    @property
    def empty(self) -> bool:
        """Nothing to run (the usual application: no cost at start or stop)."""
        return not (self.startup or self.shutdown or self.lifespan is not None)

    # -- on the serving loop ------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def run_async(self, app: Application) -> AsyncIterator[None]:
        """Run on the running event loop: sync steps are called, async ones awaited."""
        async with contextlib.AsyncExitStack() as stack:
            if self.lifespan is not None:
                cm = self._context(app)
                try:
                    if hasattr(cm, "__aenter__"):
                        await stack.enter_async_context(cm)
                    else:
                        stack.enter_context(cm)
                except Exception as exc:
                    raise StartupError(f"lifespan {_name(self.lifespan)} failed at startup: {exc!r}") from exc
            for func in self.startup:
                try:
                    result = func()
                    if inspect.isawaitable(result):
                        await result
                except Exception as exc:
                    raise StartupError(f"startup callback {_name(func)} failed: {exc!r}") from exc
            try:
                yield
            finally:
                for func in self.shutdown:
                    result = func()
                    if inspect.isawaitable(result):
                        await result

    # -- without a loop to share ----------------------------------------------------------
    @contextlib.contextmanager
    def run_sync(self, app: Application) -> Iterator[None]:
        """Run here; async steps on one private event loop, kept until the end."""
        loop: Optional[asyncio.AbstractEventLoop] = None

        def finish(result: Any) -> Any:
            nonlocal loop
            if not inspect.isawaitable(result):
                return result
            if loop is None:
                loop = asyncio.new_event_loop()
            return loop.run_until_complete(result)

        try:
            with contextlib.ExitStack() as stack:
                if self.lifespan is not None:
                    cm = self._context(app)
                    try:
                        if hasattr(cm, "__aenter__"):
                            finish(cm.__aenter__())
                            stack.callback(lambda: finish(cm.__aexit__(None, None, None)))
                        else:
                            stack.enter_context(cm)
                    except Exception as exc:
                        raise StartupError(f"lifespan {_name(self.lifespan)} failed at startup: {exc!r}") from exc
                for func in self.startup:
                    try:
                        finish(func())
                    except Exception as exc:
                        raise StartupError(f"startup callback {_name(func)} failed: {exc!r}") from exc
                try:
                    yield
                finally:
                    for func in self.shutdown:
                        finish(func())
        finally:
            if loop is not None:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

    def _context(self, app: Application) -> Any:
        assert self.lifespan is not None
        cm = self.lifespan(app)
        if not (hasattr(cm, "__aenter__") or hasattr(cm, "__enter__")):
            raise ConfigurationError(f"lifespan {_name(self.lifespan)} must return a context manager "
                                     f"(sync or async), not {cm!r}")
        return cm
