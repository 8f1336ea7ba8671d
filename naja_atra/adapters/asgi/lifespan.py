"""The ``lifespan`` scope.

``lifespan.startup`` builds the application and enters ``app.lifespan_async()`` (every
plugin's ``naja_atra_lifespan`` context, then the application's ``lifespan=`` and
``on_startup`` callbacks, on the server's event loop); a failure answers
``lifespan.startup.failed`` with the error. ``lifespan.shutdown`` closes the open WebSocket
sessions (1001), exits the contexts in reverse order and answers
``lifespan.shutdown.complete`` (or ``.failed``). Without a lifespan the application is
built on its first request.
"""
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from ...utils.logger import get_logger
from .events import Receive, Send

if TYPE_CHECKING:
    from ...app.application import Application

__all__ = ["serve_lifespan"]

_log = get_logger("naja_atra.asgi")


async def serve_lifespan(app: Application, receive: Receive, send: Send) -> None:
    """Serve the ``lifespan`` scope until shutdown."""
    stack = contextlib.AsyncExitStack()
    while True:
        kind = (await receive())["type"]
        if kind == "lifespan.startup":
            try:
                app.build()  # first: entry-point plugins (and their lifespans) join at the build
                await stack.enter_async_context(app.lifespan_async())
            except Exception as exc:
                _log.exception("Application startup failed")
                await send({"type": "lifespan.startup.failed", "message": f"{type(exc).__name__}: {exc}"})
                return
            await send({"type": "lifespan.startup.complete"})
        elif kind == "lifespan.shutdown":
            app.websocket_sessions.close_all(1001, "server shutdown")  # on the loop: only sends the closes
            try:
                await stack.aclose()
            except Exception as exc:
                _log.exception("Application shutdown failed")
                await send({"type": "lifespan.shutdown.failed", "message": f"{type(exc).__name__}: {exc}"})
                return
            await send({"type": "lifespan.shutdown.complete"})
            return
