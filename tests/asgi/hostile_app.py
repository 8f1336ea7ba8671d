"""The application the hostile-client tests serve under uvicorn, hypercorn and gunicorn:
``tests.asgi.hostile_app:app`` (ASGI) and ``tests.asgi.hostile_app:wsgi_app`` (WSGI).

- ``/smuggled`` counts its hits (``/hits`` tells): a request smuggled behind a refused one
  must never reach it. ``/submit`` is the refused request's target; its body limit is
  ``MAX_BODY``.
- ``/stream`` (a sync controller, run in the thread pool under ASGI) and ``/astream`` (an
  async one, awaiting each write) send ``size`` bytes in pieces of ``piece`` bytes, piece
  ``i`` made of byte ``i % 251``, and record under ``tag`` how that went: ``running``,
  ``done`` or ``disconnected`` (a write raised ``ClientDisconnected``), with the bytes
  written so far. ``/outcome?tag=...`` returns the record, ``/pid`` the serving process.

``write_timeout`` is ``NAJA_HOSTILE_WRITE_TIMEOUT`` seconds (1.5 by default): short, so that
a client that stops reading is given up quickly.
"""
from __future__ import annotations

import os
import threading
from typing import Any

from naja_atra import Application, Response
from naja_atra.http.errors import ClientDisconnected

#: The body limit of ``/submit``.
MAX_BODY = 1024
WRITE_TIMEOUT = float(os.environ.get("NAJA_HOSTILE_WRITE_TIMEOUT", "1.5"))

app = Application(load_entry_points=False, max_body_size=MAX_BODY, write_timeout=WRITE_TIMEOUT,
                  run_sync_in_threadpool=True)
_lock = threading.Lock()
_hits = {"smuggled": 0}
_outcomes: dict[str, dict[str, Any]] = {}


def expected_body(size: int, piece: int) -> bytes:
    """What ``/stream?size=..&piece=..`` sends."""
    return b"".join(bytes([i % 251]) * min(piece, size - start) for i, start in enumerate(range(0, size, piece)))


def _record(tag: str, state: str, written: int) -> None:
    with _lock:
        _outcomes[tag] = {"state": state, "written": written}


@app.route("/smuggled")
def smuggled() -> str:
    with _lock:
        _hits["smuggled"] += 1
    return "smuggled"


@app.route("/hits")
def hits() -> dict[str, int]:
    with _lock:
        return dict(_hits)


@app.route("/submit", method="POST")
def submit() -> str:
    return "ok"


@app.route("/pid")
def pid() -> dict[str, int]:
    return {"pid": os.getpid()}


@app.route("/outcome")
def outcome(tag: str) -> dict[str, Any]:
    with _lock:
        return dict(_outcomes.get(tag, {"state": "unknown", "written": 0}))


@app.route("/stream")
def stream(response: Response, tag: str, size: int, piece: int = 64 * 1024) -> None:
    response.set_header("Content-Type", "application/octet-stream")
    written = 0
    _record(tag, "running", 0)
    try:
        for i, start in enumerate(range(0, size, piece)):
            chunk = bytes([i % 251]) * min(piece, size - start)
            response.write_bytes(chunk)
            written += len(chunk)
            _record(tag, "running", written)
    except ClientDisconnected:
        _record(tag, "disconnected", written)
        return
    _record(tag, "done", written)


@app.route("/astream")
async def astream(response: Response, tag: str, size: int, piece: int = 64 * 1024) -> None:
    response.set_header("Content-Type", "application/octet-stream")
    written = 0
    _record(tag, "running", 0)
    try:
        for i, start in enumerate(range(0, size, piece)):
            chunk = bytes([i % 251]) * min(piece, size - start)
            await response.write_bytes(chunk)
            written += len(chunk)
            _record(tag, "running", written)
    except ClientDisconnected:
        _record(tag, "disconnected", written)
        return
    _record(tag, "done", written)


wsgi_app = app.wsgi
