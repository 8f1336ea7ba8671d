"""I/O drivers over the sans-I/O HTTP core: a threading server and an asyncio server.

Both implement :class:`Server`; :func:`make_server` picks one from
``ServerConfig.prefer_coroutine``. Both turn bytes into requests with the same
:class:`~naja_atra.http.connection.RequestReader`, so framing, limits and error answers match.

Timeouts (``Limits``), identical in both drivers:

- ``header_timeout``: a request head must be complete this long after its first byte (the
  first request of a connection: after the accept). A deadline, not a per-read timeout, so
  trickling bytes does not extend it. A partial head then gets ``408`` and the connection
  closes; a connection that sent nothing is closed silently.
- ``keep_alive_timeout``: idle time allowed between requests; then a silent close.
- ``body_timeout``: silence allowed while a body is read (then close), and while the
  client does not read our response (then abort).
- ``ServerConfig.handshake_timeout``: the TLS handshake.
"""
from __future__ import annotations

from .asyncio_server import AsyncioServer
from .common import AppLike, BaseServer, DispatcherLike, Server
from .config import ServerConfig
from .threaded import ThreadingServer
from .tls import make_ssl_context

__all__ = [
    "AppLike",
    "AsyncioServer",
    "BaseServer",
    "DispatcherLike",
    "Server",
    "ServerConfig",
    "ThreadingServer",
    "make_server",
    "make_ssl_context",
]


def make_server(app: AppLike, config: ServerConfig) -> Server:
    """The asyncio driver when ``config.prefer_coroutine``, else the threading one (not yet bound)."""
    if config.prefer_coroutine:
        return AsyncioServer(app, config)
    return ThreadingServer(app, config)
