"""The per-request context handed to filters, resolvers and error handlers."""
from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:
    from ..http.request import Request
    from ..http.response import Response
    from .application import Application
    from .routes import Route


#: A cleanup gets the exception the controller raised (or None).
Cleanup = Callable[[Optional[BaseException]], Any]


class RequestContext:
    """``ctx.request``, ``ctx.response`` and ``ctx.app`` of one request; ``ctx.route`` the
    route it was matched to (None when it matched none); ``ctx.state`` is free for plugins
    (request-scoped values)."""

    __slots__ = ("app", "request", "response", "route", "state", "controller", "cleanups")

    def __init__(self, app: Application, request: Request, response: Response,
                 route: Optional[Route] = None) -> None:
        self.app = app
        self.request = request
        self.response = response
        self.route = route
        self.state: Optional[dict[str, Any]] = None
        #: The object a class-based route ran on (None for function routes).
        self.controller: Any = None
        #: Callbacks run, last added first, once the controller has returned or raised.
        self.cleanups: Optional[list[Cleanup]] = None

    def add_cleanup(self, cleanup: Cleanup) -> None:
        """Run ``cleanup(error)`` after the controller (``error`` is what it raised, or None);
        it may return an awaitable on an asynchronous route."""
        if self.cleanups is None:
            self.cleanups = []
        self.cleanups.append(cleanup)

    def _pop_cleanups(self) -> list[Cleanup]:
        cleanups, self.cleanups = self.cleanups or [], None
        cleanups.reverse()
        return cleanups

    def run_cleanups(self, error: Optional[BaseException]) -> None:
        """Run the cleanups (synchronous route)."""
        for cleanup in self._pop_cleanups():
            cleanup(error)

    async def run_cleanups_async(self, error: Optional[BaseException]) -> None:
        """Run the cleanups, awaiting those that return an awaitable."""
        for cleanup in self._pop_cleanups():
            result = cleanup(error)
            if inspect.isawaitable(result):
                await result


class FilterContext(RequestContext):
    """What a filter receives: the request context plus ``do_chain()`` to go on.

    A filter that neither calls ``do_chain`` nor sends a response ends the request with
    whatever the response holds. In a chain that runs asynchronously, ``do_chain``
    returns an awaitable: an ``async`` filter may ``await`` it to act after the rest of the
    chain; a plain filter just calls it and the chain continues when the filter returns.
    """

    __slots__ = ("_next",)

    def __init__(self, app: Application, request: Request, response: Response,
                 next_step: Callable[[], Any]) -> None:
        super().__init__(app, request, response)
        self._next = next_step

    def do_chain(self) -> Any:
        """Run the rest of the chain (the next filter, then the controller)."""
        return self._next()
