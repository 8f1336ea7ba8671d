"""The per-request context handed to filters, resolvers and error handlers."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:
    from .application import Application
    from .http.request import Request
    from .http.response import Response


class RequestContext:
    """``ctx.request``, ``ctx.response`` and ``ctx.app`` of one request; ``ctx.state`` is
    free for plugins (request-scoped values)."""

    __slots__ = ("app", "request", "response", "state")

    def __init__(self, app: Application, request: Request, response: Response) -> None:
        self.app = app
        self.request = request
        self.response = response
        self.state: Optional[dict[str, Any]] = None


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
