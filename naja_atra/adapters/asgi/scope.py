"""The request an ASGI scope describes.

- The head is decided by the core's :func:`~naja_atra.http.parser.build_head`, so header
  checks, the limits (431) and the 413 for a ``Content-Length`` over ``max_body_size`` are
  exactly the built-in servers'. The target is ``raw_path`` when the server gives it (else
  ``path`` quoted again) plus ``query_string``, decoded by the core's
  :func:`~naja_atra.http.parser.parse_target`: normalisation of ``..``/``//``, 400 for a bad
  escape. ``http_version`` ``"2"``/``"3"`` are handled as HTTP/1.1, then
  ``request.version`` says ``HTTP/2``/``HTTP/3``. A missing ``Host`` (HTTP/2 without
  ``:authority``) is taken from ``scope["server"]``. A ``root_path`` that prefixes ``path``
  is removed: routes are relative to where the application is mounted.
- ``request.environment`` is the ASGI scope; ``request.client_address`` its ``client``;
  ``request.scheme`` its ``scheme`` (``ws``/``wss`` read as ``http``/``https``).
- A ``websocket`` scope becomes a ``GET`` with the upgrade headers. The ASGI server has
  already validated the real handshake and computes ``Sec-WebSocket-Accept`` itself, but the
  core's handshake check still wants ``Sec-WebSocket-Key``/``Version``, which some servers
  drop (HTTP/2 WebSockets, RFC 8441, have none). So what the scope carries is kept and what
  is missing added: a random valid key, version 13, ``Upgrade``/``Connection``, and
  ``Sec-WebSocket-Protocol`` from ``scope["subprotocols"]``. ``Sec-WebSocket-Extensions`` is
  dropped: compression is the server's business, the core must not negotiate it.
"""
from __future__ import annotations

import base64
import os
from typing import Optional, Union
from urllib.parse import quote

from ...http.limits import Limits
from ...http.parser import RequestHead, build_head, parse_target
from ...http.request import Request
from ...http.request_body import RequestBodyReader
from .events import Scope

__all__ = ["request_head", "make_request"]

#: Request headers of a WebSocket scope replaced by canonical ones (see the module notes).
_WS_REPLACED = frozenset((b"upgrade", b"connection", b"sec-websocket-extensions"))
_SCHEMES = {"ws": "http", "wss": "https"}
#: Characters left unescaped when a decoded ``path`` has to be re-quoted (no ``raw_path``).
_PATH_SAFE = "/!$&'()*+,;=:@-._~"


def _target(scope: Scope) -> str:
    """The request target as a client sent it: ``raw_path`` (or the quoted ``path``), query."""
    path: str = scope.get("path") or "/"
    raw: Optional[bytes] = scope.get("raw_path")
    root: str = scope.get("root_path") or ""
    if root and path.startswith(root) and path[len(root):len(root) + 1] in ("", "/"):
        # Mounted below root_path (servers that include it in path): route the rest.
        path = path[len(root):] or "/"
        prefix = root.encode("utf-8")
        raw = (raw[len(prefix):] or b"/") if raw is not None and raw.startswith(prefix) else None
    target = raw.decode("latin-1") if raw is not None else quote(path, safe=_PATH_SAFE)
    query: bytes = scope.get("query_string") or b""
    return target + "?" + query.decode("latin-1") if query else target


def _host(scope: Scope) -> str:
    """A Host value from ``scope["server"]``, for a request that came without one."""
    server = scope.get("server")
    if not server:
        return "localhost"
    host, port = server[0], server[1] if len(server) > 1 else None
    if port is None:  # a Unix socket: its path is no host name
        return "localhost"
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}" if port else str(host)


def request_head(scope: Scope, limits: Limits, websocket: bool) -> RequestHead:
    """The head of the scope's request (``ProtocolError`` for one the core refuses)."""
    method = "GET" if websocket else scope.get("method") or "GET"
    version = "HTTP/1.0" if scope.get("http_version") == "1.0" else "HTTP/1.1"
    target, raw_path, query, path, authority = parse_target(method, _target(scope))
    fields: list[tuple[str, str]] = []
    seen: set[bytes] = set()
    for name, value in scope.get("headers") or ():
        lower = name.lower()
        if websocket and lower in _WS_REPLACED:
            continue
        seen.add(lower)
        fields.append((name.decode("latin-1"), value.decode("latin-1")))
    if b"host" not in seen:
        fields.append(("host", _host(scope)))
    if websocket:
        fields += [("upgrade", "websocket"), ("connection", "upgrade")]
        if b"sec-websocket-key" not in seen:
            fields.append(("sec-websocket-key", base64.b64encode(os.urandom(16)).decode("ascii")))
        if b"sec-websocket-version" not in seen:
            fields.append(("sec-websocket-version", "13"))
        subprotocols = scope.get("subprotocols")
        if subprotocols and b"sec-websocket-protocol" not in seen:
            fields.append(("sec-websocket-protocol", ", ".join(subprotocols)))
    return build_head(method, target, version, raw_path, query, path, fields, limits, authority)


def make_request(scope: Scope, head: RequestHead, body: Union[bytes, RequestBodyReader]) -> Request:
    """The ``Request`` of ``head`` with what the scope says about the connection."""
    client = scope.get("client")
    scheme = scope.get("scheme") or "http"
    request = Request(head, body, client_address=(client[0], client[1]) if client else None,
                      scheme=_SCHEMES.get(scheme, scheme))
    version = scope.get("http_version") or "1.1"
    if version not in ("1.0", "1.1"):
        request.version = f"HTTP/{version}"
    request.environment = scope if isinstance(scope, dict) else dict(scope)
    return request
