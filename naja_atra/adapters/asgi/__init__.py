"""Serving an application from an ASGI 3 server (uvicorn, hypercorn, daphne, ...).

``AsgiAdapter(app)`` is an ASGI 3 application for the ``http``, ``websocket`` and
``lifespan`` scopes. ``Application.__call__`` delegates to one (created lazily as
``app.asgi``), so an application *is* an ASGI app: ``uvicorn my_module:app``.

Like the built-in servers, the adapter is a thin driver: the request path (filters, routing,
injection, sessions, error pages, static files, WebSocket handshakes) is
``app.dispatcher.handle_async`` and nothing else. The modules, each with the decisions
worth knowing about its part:

- :mod:`.scope`: the request a scope describes, decided by the core's ``build_head``;
- :mod:`.http`: the ``http`` scope (the request, the response, what closes the connection);
- :mod:`.body`: its request body, and the one reader of ``receive()``;
- :mod:`.stream`: its streamed responses (backpressure, ``write_timeout``, disconnects);
- :mod:`.websocket`: the ``websocket`` scope (handshake, session, callbacks);
- :mod:`.lifespan`: the ``lifespan`` scope;
- :mod:`.events`: the ASGI types, and response headers as ASGI wants them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...http.errors import StreamAborted
from .events import Message, Receive, Scope, Send
from .http import serve_http
from .lifespan import serve_lifespan
from .websocket import AsgiWebsocketSession, serve_websocket

if TYPE_CHECKING:
    from ...app.application import Application

__all__ = ["AsgiAdapter", "AsgiWebsocketSession", "StreamAborted", "Scope", "Message", "Receive", "Send"]


class AsgiAdapter:
    """An :class:`~naja_atra.app.application.Application` as an ASGI 3 application (see the
    modules of this package for what each scope does)."""

    __slots__ = ("app",)

    def __init__(self, app: Application) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await serve_http(self.app, scope, receive, send)
        elif kind == "websocket":
            await serve_websocket(self.app, scope, receive, send)
        elif kind == "lifespan":
            await serve_lifespan(self.app, receive, send)
        else:  # the ASGI spec asks an application to raise for a scope it does not know
            raise ValueError(f"naja_atra cannot serve an ASGI {kind!r} scope")
