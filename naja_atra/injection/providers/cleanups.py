"""Generator providers' cleanups: the code after their ``yield``.

Generator cleanups run after the controller, last created first, through one
``ctx.add_cleanup`` per request. The controller's exception is thrown into the generator
at its ``yield`` (so ``try/except/finally`` works as in a context manager); a cleanup that
raises a new exception (``except IntegrityError: raise HttpError(409)``) replaces the
request's outcome. A generator cannot suppress the controller's exception.

The generators of app-scoped values are finished the same way (:class:`Exit`), when the
application stops: see :mod:`.app_scope`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Optional

if TYPE_CHECKING:
    from ...app.context import RequestContext

#: ``ctx.state`` key of a request's generator cleanups.
EXITS_KEY = "naja_atra.providers.exits"


class Exit:
    """The part after ``yield`` of one generator provider."""

    __slots__ = ("gen", "name", "is_async")

    def __init__(self, gen: Any, name: str, is_async: bool) -> None:
        self.gen = gen
        self.name = name
        self.is_async = is_async

    def finish(self, error: Optional[BaseException]) -> None:
        """Resume a generator: to its end, or with ``error`` thrown in at the ``yield``."""
        gen = self.gen
        try:
            if error is None:
                next(gen)
            else:
                gen.throw(error)
        except StopIteration:
            return
        except BaseException as exc:
            if exc is error:  # re-raised (or not caught): the request already fails with it
                return
            raise
        gen.close()
        raise RuntimeError(f"provider {self.name} yielded more than once")

    async def finish_async(self, error: Optional[BaseException]) -> None:
        """:meth:`finish` for an async generator (a plain one is finished synchronously)."""
        if not self.is_async:
            self.finish(error)
            return
        agen = self.gen
        try:
            if error is None:
                await agen.__anext__()
            else:
                await agen.athrow(error)
        except StopAsyncIteration:
            return
        except BaseException as exc:
            if exc is error:
                return
            raise
        await agen.aclose()
        raise RuntimeError(f"provider {self.name} yielded more than once")


class RequestExits:
    """The generator cleanups of one request, registered as a single ``ctx`` cleanup.

    One cleanup for all (rather than one each) so that they behave like an ``ExitStack``:
    all run, last created first, each seeing the exception the previous ones left (a
    cleanup that raises replaces the request's outcome), and the last such exception is
    raised once they all ran.
    """

    __slots__ = ("exits", "has_async")

    def __init__(self) -> None:
        self.exits: list[Exit] = []
        self.has_async = False

    def add(self, exit_: Exit) -> None:
        self.exits.append(exit_)
        self.has_async = self.has_async or exit_.is_async

    def __call__(self, error: Optional[BaseException]) -> Optional[Awaitable[None]]:
        # Only a route with an async generator provider is asynchronous here, and only such
        # a route may get an awaitable back from a cleanup.
        if self.has_async:
            return self._run_async(error)
        current = error
        for exit_ in reversed(self.exits):
            try:
                exit_.finish(current)
            except BaseException as exc:  # passed on to the next cleanups, then raised
                current = exc
        if current is not error and current is not None:
            raise current
        return None

    async def _run_async(self, error: Optional[BaseException]) -> None:
        current = error
        for exit_ in reversed(self.exits):
            try:
                await exit_.finish_async(current)
            except BaseException as exc:  # passed on to the next cleanups, then raised
                current = exc
        if current is not error and current is not None:
            raise current


def keep_for_request(ctx: RequestContext, exit_: Exit) -> None:
    """Finish ``exit_`` when the request ends (with the request's other cleanups)."""
    state = ctx.state
    if state is None:
        state = ctx.state = {}
    exits = state.get(EXITS_KEY)
    if exits is None:
        exits = state[EXITS_KEY] = RequestExits()
        ctx.add_cleanup(exits)
    exits.add(exit_)
