"""Built-in plugin ``naja_atra.servers``: the threading and asyncio drivers."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..hooks.specs import hookimpl
from ..servers.asyncio_server import AsyncioServer
from ..servers.threaded import ThreadingServer

if TYPE_CHECKING:
    from ..app.application import Application
    from ..servers.common import Server
    from ..servers.config import ServerConfig


@hookimpl(trylast=True)
def naja_atra_make_server(app: Application, config: ServerConfig) -> Server:
    """The asyncio server with ``prefer_coroutine``, else the threading server."""
    if config.prefer_coroutine:
        return AsyncioServer(app, config)
    return ThreadingServer(app, config)
