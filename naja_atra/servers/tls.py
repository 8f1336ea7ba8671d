"""Building the server-side TLS context from ``start(ssl=True, ...)``'s arguments."""
from __future__ import annotations

import ssl
from typing import Optional

__all__ = ["make_ssl_context"]


def make_ssl_context(
    *,
    ssl_protocol: int = ssl.PROTOCOL_TLS_SERVER,
    ssl_check_hostname: bool = False,
    keyfile: str = "",
    certfile: str = "",
    keypass: str = "",
) -> ssl.SSLContext:
    """A server ``SSLContext`` loaded with ``certfile`` and ``keyfile``.

    - ``ssl_protocol``: an ``ssl.PROTOCOL_*`` constant; the default negotiates the highest
      version both sides support.
    - ``ssl_check_hostname``: set on the context as ``check_hostname``; turning it on also
      makes the context require (and verify against the default CAs) a client certificate,
      since there is no host name to check without one.
    - ``keyfile``: the private key; empty when ``certfile`` holds the key too.
    - ``keypass``: the key's password, empty when it has none.

    Raises ``ValueError`` without a ``certfile`` and the ``ssl``/``OSError`` exceptions of
    ``load_cert_chain`` for unreadable or mismatched files, so a bad configuration fails
    at start, not on the first connection.
    """
    if not certfile:
        raise ValueError("TLS needs a certfile (and a keyfile unless the certfile holds the key)")
    context = ssl.SSLContext(ssl_protocol)
    if ssl_check_hostname:
        # check_hostname only works with verification on: ask for a client certificate.
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_default_certs(ssl.Purpose.CLIENT_AUTH)
    context.check_hostname = ssl_check_hostname
    password: Optional[str] = keypass or None
    context.load_cert_chain(certfile=certfile, keyfile=keyfile or None, password=password)
    return context
