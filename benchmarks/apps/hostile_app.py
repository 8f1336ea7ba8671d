"""The app ``benchmarks/hostile.py`` attacks. It uses only API that the code before the
hostile-load work (``/work/base``) and this tree share, so ``hostile.py --tree`` can measure
either::

    python hostile_app.py --port 8080 --driver threading            # or --driver asyncio
    python hostile_app.py --port 8080 --driver asyncio --set shutdown_timeout=10 --set max_connections=500

``--set NAME=VALUE`` (repeatable) passes a keyword to ``server.start`` (a limit of
``naja_atra.http.limits.Limits`` or ``shutdown_timeout``); ``--app NAME=VALUE`` sets an
attribute of ``naja_atra.default_app`` (say ``run_sync_in_threadpool=true``). Values are
read as JSON when they parse (numbers, ``true``), else kept as text.

Routes:

* ``GET /hello``: ``Hello, World!``, what the normal client asks for while an attack runs;
* ``GET /stats``: JSON: the broadcast loop's round times, the WebSocket sessions that closed
  (name, seconds open, close code) and the messages ``/sink`` received;
* ``GET /stream?mib=64&piece=65536``: a sync controller that writes ``mib`` MiB with
  ``response.write_bytes`` in ``piece``-byte pieces;
* ``GET /sleep?seconds=2``: a sync controller that sleeps (``time.sleep``);
* ``POST /upload``: reads the body as it arrives with a ``RequestBodyReader`` when the tree has
  one (answers ``streamed N``), else ``request.body`` (``buffered N``);
* ``POST /size``: ``naja_body_app``'s route (``request.body``, read whole), imported from there;
* ``POST /form``: the number of fields of a URL-encoded form (``request.parameters``);
* WebSocket ``/feed?name=X``: every open session gets a 256 KiB binary message from one
  broadcast thread every ``--broadcast-interval`` seconds (``--broadcast-size``);
* WebSocket ``/sink``: answers every message with ``got <length>``.

The soft ``RLIMIT_NOFILE`` is raised to the hard limit at start-up (thousands of sockets).
"""

# No ``from __future__ import annotations``: the framework reads the real annotation objects.

import argparse
import json
import resource
import threading
import time
from collections import deque
from typing import Any, Optional

import naja_body_app  # noqa: F401  (registers POST /size on the default app)

import naja_atra
from naja_atra import Request, Response, WebsocketHandler, WebsocketSession, route, server, websocket_handler
from naja_atra.utils import logger

RequestBodyReader = getattr(naja_atra, "RequestBodyReader", None)

#: Broadcast round times kept for ``/stats`` (the newest ones).
MAX_ROUNDS = 5000
#: Closed sessions and received messages kept for ``/stats``.
MAX_EVENTS = 1000


class Broadcaster:
    """One thread sends the same message to every open ``/feed`` session, round after round,
    and times each round: a client that does not read shows up as long rounds."""

    def __init__(self, size: int, interval: float) -> None:
        self.payload = b"b" * size
        self.interval = interval
        self.lock = threading.Lock()
        self.sessions: dict[WebsocketSession, tuple[str, float]] = {}
        self.rounds: deque[float] = deque(maxlen=MAX_ROUNDS)
        self.round_started: Optional[float] = None
        self.send_errors = 0
        self.closed: deque[dict[str, Any]] = deque(maxlen=MAX_EVENTS)
        self.thread: Optional[threading.Thread] = None

    def add(self, session: WebsocketSession, name: str) -> None:
        """A ``/feed`` session opened; the thread starts with the first one."""
        with self.lock:
            self.sessions[session] = (name, time.monotonic())
            if self.thread is None:
                self.thread = threading.Thread(target=self.run, name="broadcast", daemon=True)
                self.thread.start()

    def remove(self, session: WebsocketSession, code: int) -> None:
        """A ``/feed`` session closed: remember who, after how long, with which code."""
        with self.lock:
            name, opened = self.sessions.pop(session, ("?", time.monotonic()))
            self.closed.append({"name": name, "open_s": round(time.monotonic() - opened, 3), "code": code})

    def run(self) -> None:
        """Broadcast forever (a daemon thread: it ends with the process)."""
        while True:
            time.sleep(self.interval)
            with self.lock:
                targets = list(self.sessions)
            if not targets:
                continue
            started = time.monotonic()
            self.round_started = started
            for session in targets:
                try:
                    session.send(self.payload)
                except Exception:  # a session closing under us: count it, keep broadcasting
                    self.send_errors += 1
            self.round_started = None
            with self.lock:
                self.rounds.append((time.monotonic() - started) * 1000.0)

    def stats(self) -> dict[str, Any]:
        """What ``/stats`` reports about the broadcast."""
        with self.lock:
            started = self.round_started
            return {
                "rounds_ms": [round(ms, 2) for ms in self.rounds],
                "round_running_s": round(time.monotonic() - started, 3) if started is not None else 0.0,
                "open": sorted(name for name, _ in self.sessions.values()),
                "closed": list(self.closed),
                "send_errors": self.send_errors,
            }


BROADCAST = Broadcaster(256 * 1024, 0.1)
SINK_MESSAGES: deque[dict[str, Any]] = deque(maxlen=MAX_EVENTS)
SINK_CLOSED: deque[int] = deque(maxlen=MAX_EVENTS)


def close_code(reason: Any) -> int:
    """The close code of a ``WebsocketCloseReason`` (1006 when it has none)."""
    return int(getattr(reason, "code", 1006))


@route("/hello", method="GET")
def hello() -> str:
    """The normal client's request."""
    return "Hello, World!"


@route("/stats", method="GET")
def stats() -> dict[str, Any]:
    """The server-side numbers of the WebSocket scenarios."""
    return {"broadcast": BROADCAST.stats(), "sink_messages": list(SINK_MESSAGES), "sink_closed": list(SINK_CLOSED)}


@route("/stream", method="GET")
def stream(request: Request, response: Response) -> None:
    """Write ``mib`` MiB in ``piece``-byte pieces, as a sync controller producing a big export would."""
    total = int(float(request.parameter.get("mib", "64")) * 1024 * 1024)
    piece = b"s" * int(request.parameter.get("piece", "65536"))
    response.set_header("Content-Type", "application/octet-stream")
    sent = 0
    while sent < total:
        chunk = piece[: total - sent]
        response.write_bytes(chunk)
        sent += len(chunk)
    response.close()


@route("/sleep", method="GET")
def sleep(request: Request) -> str:
    """Block the calling thread, as a slow synchronous call (a database, a remote API) does."""
    seconds = float(request.parameter.get("seconds", "2"))
    time.sleep(seconds)
    return f"slept {seconds:g}"


if RequestBodyReader is not None:

    @route("/upload", method="POST")
    def upload(reader: RequestBodyReader) -> str:
        """Count the body as it arrives, never holding it whole."""
        total = 0
        for piece in reader:
            total += len(piece)
        return f"streamed {total}"

else:

    @route("/upload", method="POST")
    def upload(request: Request) -> str:
        """This tree has no streamed request bodies: the body is read whole first."""
        return f"buffered {len(request.body)}"


@route("/form", method="POST")
def form(request: Request) -> str:
    """Parse a URL-encoded form and count its fields."""
    return f"fields {len(request.parameters)}"


@websocket_handler(endpoint="/feed")
class Feed(WebsocketHandler):
    """Broadcast receivers (see :class:`Broadcaster`)."""

    def on_open(self, session: WebsocketSession) -> None:
        BROADCAST.add(session, session.request.parameter.get("name", ""))

    def on_close(self, session: WebsocketSession, reason: Any) -> None:
        BROADCAST.remove(session, close_code(reason))


@websocket_handler(endpoint="/sink")
class Sink(WebsocketHandler):
    """Receives messages (the fragments scenario) and says how long each was."""

    def on_text_message(self, session: WebsocketSession, message: str) -> None:
        SINK_MESSAGES.append({"kind": "text", "length": len(message)})
        session.send(f"got {len(message)}")

    def on_binary_message(self, session: WebsocketSession, message: bytes = b"") -> None:
        SINK_MESSAGES.append({"kind": "binary", "length": len(message)})
        session.send(f"got {len(message)}")

    def on_close(self, session: WebsocketSession, reason: Any) -> None:
        SINK_CLOSED.append(close_code(reason))


def parse_value(text: str) -> Any:
    """``10`` -> 10, ``true`` -> True, ``abc`` -> 'abc'."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_pairs(pairs: list[str]) -> dict[str, Any]:
    """``["a=1", "b=x"]`` -> ``{"a": 1, "b": "x"}``."""
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"expected NAME=VALUE, got {pair!r}")
        values[name] = parse_value(value)
    return values


def raise_nofile_limit() -> None:
    """Soft RLIMIT_NOFILE up to the hard limit: the attacks open thousands of sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main() -> None:
    """Start the server (blocks until SIGTERM)."""
    parser = argparse.ArgumentParser(description="naja_atra hostile-load app")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--driver", choices=("threading", "asyncio"), default="threading")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a server.start keyword")
    parser.add_argument("--app", action="append", default=[], metavar="NAME=VALUE", help="a default_app attribute")
    parser.add_argument("--broadcast-size", type=int, default=256 * 1024)
    parser.add_argument("--broadcast-interval", type=float, default=0.1)
    args = parser.parse_args()
    raise_nofile_limit()
    logger.set_level("ERROR")
    BROADCAST.payload = b"b" * args.broadcast_size
    BROADCAST.interval = args.broadcast_interval
    for name, value in parse_pairs(args.app).items():
        setattr(naja_atra.default_app, name, value)
    options = parse_pairs(args.set)
    server.start(host="127.0.0.1", port=args.port, prefer_coroutine=args.driver == "asyncio", **options)


if __name__ == "__main__":
    main()
