"""Running blocking code from a thread that may be running an event loop."""
from __future__ import annotations

import asyncio
import threading
from typing import Callable, TypeVar

__all__ = ["call_off_loop"]

T = TypeVar("T")


def call_off_loop(func: Callable[[], T], name: str = "naja_atra-off-loop") -> T:
    """``func()``, on this thread unless it runs an event loop; then on a helper thread,
    waited for (the loop is blocked meanwhile, as the caller asked for a synchronous call).

    Code that starts an event loop of its own (``run_until_complete``) cannot do so inside
    a running one, hence the helper thread. What ``func`` raises is raised here.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return func()
    result: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(func())
        except BaseException as exc:  # noqa: B036 - re-raised on the calling thread
            failure.append(exc)

    helper = threading.Thread(target=run, name=name, daemon=True)
    helper.start()
    helper.join()
    if failure:
        raise failure[0]
    return result[0]
