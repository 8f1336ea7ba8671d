"""The plugin's exceptions, and which Redis errors mean "the store cannot serve now".

Failures
    A Redis connection error or timeout during a request answers ``503 Session store
    unavailable`` (logged as a warning), never a crash. At start the plugin pings Redis and
    raises :class:`SessionStoreUnavailable` if it cannot be reached, so a server does not
    start silently broken.
"""
from __future__ import annotations

__all__ = ["EventLoopBlockingError", "SessionStoreUnavailable", "unavailable_errors"]


class SessionStoreUnavailable(RuntimeError):
    """Redis cannot be reached (raised at start by the plugin's ping)."""


class EventLoopBlockingError(RuntimeError):
    """A synchronous Redis call was about to block the asyncio server's event loop."""


def unavailable_errors() -> tuple[type[BaseException], ...]:
    """The redis-py errors that mean "the store cannot serve now" (answered with 503)."""
    from redis import exceptions as rex
    return (rex.ConnectionError, rex.TimeoutError, rex.ReadOnlyError, rex.ClusterDownError)
