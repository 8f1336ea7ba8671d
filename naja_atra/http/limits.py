"""The limits that protect a server from oversized or slow input."""
from __future__ import annotations

from dataclasses import dataclass

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class Limits:
    """Per-server limits; each field is also a keyword of ``start()`` and ``Application``.

    - ``max_header_size``: request line plus headers, in bytes (431 past it).
    - ``max_headers``: number of header lines (431 past it).
    - ``max_body_size``: request body, in bytes, of a route without a limit of its own
      (``@route(..., max_body_size=...)``); 413 before reading when the length is known,
      else as soon as the body passes it.
    - ``spool_threshold``: bytes of one buffered body kept in memory; the rest of it goes to
      a temporary file, removed when the request ends.
    - ``body_memory_budget``: bytes of buffered bodies in memory across all requests of the
      server; past it, bodies go to temporary files at once (nothing waits or is refused).
    - ``keep_alive_timeout``: seconds an idle keep-alive connection is kept open.
    - ``header_timeout``: seconds a client has to send a whole request head once it starts.
    - ``body_timeout``: seconds of silence tolerated while reading a body.
    - ``keep_alive_max_requests``: requests served on one connection before it is closed (0: no limit).
    - ``max_websocket_message``: bytes in one WebSocket message (1009 past it).
    - ``max_websocket_fragments``: frames in one fragmented WebSocket message (1009 past it).
    - ``websocket_send_buffer``: bytes of outgoing WebSocket data one session may have
      waiting for a client that does not read; past it the connection is dropped.
    - ``write_timeout``: seconds one write (a response piece, a WebSocket frame) may wait
      for a client that does not read before its connection is dropped.
    - ``max_connections``: open connections per built-in server; past it the oldest idle
      keep-alive connection is closed, or, when none is idle, the new one is refused.
    - ``worker_threads``: threads that run requests on the threading server (idle and
      incomplete connections wait in a selector, not in a thread).
    - ``min_receive_rate``: bytes per second a client must keep sending while a request
      head or body is incomplete, averaged over ``receive_rate_window`` seconds (408 below
      it; 0 turns the rule off).
    - ``receive_rate_window``: the window, in seconds, of ``min_receive_rate``.
    - ``max_form_fields``: fields of one URL-encoded form, parts of one multipart form (400 past it).
    - ``max_json_depth``: nesting of arrays and objects in a JSON body (400 past it).
    """

    max_header_size: int = 64 * KIB
    max_headers: int = 100
    max_body_size: int = 16 * MIB
    spool_threshold: int = 1 * MIB
    body_memory_budget: int = 64 * MIB
    keep_alive_timeout: float = 15.0
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive_max_requests: int = 0
    max_websocket_message: int = 16 * MIB
    max_websocket_fragments: int = 128 * KIB
    websocket_send_buffer: int = 4 * MIB
    write_timeout: float = 30.0
    max_connections: int = 10_000
    worker_threads: int = 64
    min_receive_rate: int = 256
    receive_rate_window: float = 10.0
    max_form_fields: int = 1000
    max_json_depth: int = 100
