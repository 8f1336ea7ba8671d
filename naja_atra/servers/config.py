"""What a server driver is told when it is made: address, TLS, limits and timeouts."""
from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Optional

from ..http.limits import Limits

__all__ = ["ServerConfig"]


@dataclass
class ServerConfig:
    """Settings shared by every server driver.

    - ``host``: the address to listen on; ``""`` means every IPv4 interface, ``"::"`` every
      IPv6 one, a name is resolved and its first address used.
    - ``port``: the TCP port; ``0`` lets the OS pick a free one (read it back from
      ``server.port`` after ``bind()``).
    - ``ssl_context``: serve HTTPS with this context (see :func:`~naja_atra.servers.tls.make_ssl_context`);
      None serves plain HTTP.
    - ``limits``: sizes and timeouts that protect the server (:class:`~naja_atra.http.limits.Limits`).
    - ``prefer_coroutine``: pick the asyncio driver instead of the threading one.
    - ``backlog``: the listen queue length (connections accepted by the kernel but not yet by us).
    - ``handshake_timeout``: seconds a client has to finish the TLS handshake.
    - ``shutdown_grace``: seconds a plain ``shutdown()`` (no ``timeout``) lets requests already
      being handled finish before their connections are cut; kept well under the 2 s such a
      call promises (at most 0.9 s of it is used).
    - ``shutdown_timeout``: seconds a *graceful* stop -- SIGTERM/SIGINT under ``start()``, see
      :mod:`naja_atra.shutdown` -- lets in-flight requests finish before the connections left
      are aborted (``shutdown(timeout=config.shutdown_timeout)``).
    """

    host: str = ""
    port: int = 9090
    ssl_context: Optional[ssl.SSLContext] = None
    limits: Limits = field(default_factory=Limits)
    prefer_coroutine: bool = False
    backlog: int = 1024
    handshake_timeout: float = 10.0
    shutdown_grace: float = 1.0
    shutdown_timeout: float = 10.0

    @property
    def scheme(self) -> str:
        """``"https"`` when TLS is on, else ``"http"``."""
        return "https" if self.ssl_context is not None else "http"
