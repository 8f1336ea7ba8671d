"""Graceful shutdown: SIGTERM/SIGINT drain in-flight requests, close WebSockets with 1001,
then the lifespan ends in reverse order; plus the drivers' ``stop_accepting`` and the
``Connection: close`` of a connection's last response.

The signal tests run a real application in a subprocess (signals go to a process) on both
drivers, and end it by its PID in ``finally`` whatever happens. The script serves the way
``Application.start()``/``start_async()`` do with graceful shutdown wired in: through
them when ``make_server`` takes ``shutdown_timeout`` (the wiring in ``application.py``), otherwise
with the very helpers that wiring uses (``naja_atra.shutdown``) around ``make_server``,
``lifespan`` and ``serve_forever``/``serve``.
"""
from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
import websocket
from websocket import ABNF

import naja_atra
from naja_atra.http.limits import Limits
from naja_atra.servers.shutdown import stop_on_signals, stop_on_signals_async

from .conftest import WAIT, Running, is_closed, read_reply

pytestmark = pytest.mark.skipif(os.name != "posix", reason="delivers POSIX signals to a subprocess")

REPO_ROOT = str(Path(naja_atra.__file__).resolve().parent.parent)
START_TIMEOUT = 15.0

SCRIPT = r'''
import asyncio
import contextlib
import inspect
import sys
import time

from naja_atra import Application, WebsocketHandler, hookimpl
from naja_atra.servers.shutdown import stop_on_signals, stop_on_signals_async

DRIVER, ENTRY = sys.argv[1], sys.argv[2]
SHUTDOWN_TIMEOUT, SLOW = float(sys.argv[3]), float(sys.argv[4])
ASYNC = DRIVER == "asyncio"


def say(text):
    print(text, flush=True)


class Marker:
    """A lifespan plugin printing when its context is entered and exited."""

    def __init__(self, name):
        self.name = name

    @hookimpl
    def naja_atra_lifespan(self, app):
        return self.span(app)

    @contextlib.contextmanager
    def span(self, app):
        say(f"enter {self.name}")
        if self.name == "B":
            say(f"port {app.server.port}")
        yield
        say(f"exit {self.name}")


app = Application(load_entry_points=False)
app.register(Marker("A"), name="marker-a")
app.register(Marker("B"), name="marker-b")

if ASYNC:
    @app.route("/slow")
    async def slow():
        say("slow start")
        await asyncio.sleep(SLOW)
        say("slow done")
        return "slow body"
else:
    @app.route("/slow")
    def slow():
        say("slow start")
        time.sleep(SLOW)
        say("slow done")
        return "slow body"


@app.route("/fast")
def fast():
    return "fast body"


@app.websocket_handler(endpoint="/ws")
class Socket(WebsocketHandler):
    def on_open(self, session):
        session.send("hi")

    def on_close(self, session, reason):
        say(f"ws close {reason.code}")


OPTIONS = dict(host="127.0.0.1", port=0, prefer_coroutine=ASYNC)


# start()/start_async() wired for graceful shutdown take shutdown_timeout (via make_server).
WIRED = "shutdown_timeout" in inspect.signature(app.make_server).parameters


def run_sync():
    if WIRED:
        say("via start")
        app.start(shutdown_timeout=SHUTDOWN_TIMEOUT, **OPTIONS)
        return
    say("via helpers")
    server = app.make_server(**OPTIONS)
    server.config.shutdown_timeout = SHUTDOWN_TIMEOUT
    with app.lifespan():
        with stop_on_signals(server, app.websocket_sessions) as installed:
            assert installed
            server.serve_forever()


async def run_async():
    if WIRED:
        say("via start_async")
        await app.start_async(shutdown_timeout=SHUTDOWN_TIMEOUT, **OPTIONS)
        return
    say("via helpers")
    server = app.make_server(**OPTIONS)
    server.config.shutdown_timeout = SHUTDOWN_TIMEOUT
    with app.lifespan():
        async with stop_on_signals_async(server, app.websocket_sessions) as installed:
            assert installed
            await server.serve()


if ENTRY == "sync":
    run_sync()
else:
    asyncio.run(run_async())
say("served")
'''


class Served:
    """The subprocess, its stdout lines (collected by a thread) and its port."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.port = int(self.wait_for(r"port (\d+)", START_TIMEOUT).group(1))

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self.lines.append("<eof>")
            self._changed.notify_all()

    def wait_for(self, pattern: str, timeout: float = WAIT) -> re.Match[str]:
        """The first stdout line matching ``pattern`` (fails after ``timeout`` or at EOF)."""
        regex = re.compile(pattern)
        end = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    found = regex.fullmatch(line)
                    if found:
                        return found
                remaining = end - time.monotonic()
                if remaining <= 0 or "<eof>" in self.lines:
                    raise AssertionError(f"no line matching {pattern!r} in {self.lines}")
                self._changed.wait(remaining)

    def index(self, line: str) -> int:
        with self._changed:
            assert line in self.lines, f"{line!r} not in {self.lines}"
            return self.lines.index(line)

    def signal(self, signum: int) -> None:
        os.kill(self.proc.pid, signum)

    def connect(self, timeout: float = WAIT) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """``serve(driver, entry, shutdown_timeout, slow)`` starts the script; killed by PID after."""
    script = tmp_path / "graceful_app.py"
    script.write_text(SCRIPT)
    procs: list[subprocess.Popen[str]] = []

    def start(driver: str, entry: str, shutdown_timeout: float = 10.0, slow: float = 1.0) -> Served:
        env = {**os.environ, "PYTHONPATH": REPO_ROOT, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(
            [sys.executable, str(script), driver, entry, str(shutdown_timeout), str(slow)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=str(tmp_path),
        )
        procs.append(proc)
        return Served(proc)

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()  # by PID
        try:
            proc.communicate(timeout=WAIT)
        except subprocess.TimeoutExpired:
            pass


class SlowRequest:
    """``GET /slow`` on a keep-alive connection, on a thread; keeps what came back."""

    def __init__(self, served: Served, sock: Optional[socket.socket] = None) -> None:
        self.sock = sock if sock is not None else served.connect(timeout=10.0)
        self.status: Optional[int] = None
        self.headers: dict[str, str] = {}
        self.body = b""
        self.error: Optional[BaseException] = None
        self.closed_after = False
        self.finished_at = 0.0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.sock.sendall(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
            reply = read_reply(self.sock.makefile("rb"))
            self.status, self.headers, self.body = reply.status, reply.headers, reply.body
            self.closed_after = is_closed(self.sock, timeout=WAIT)
        except (OSError, EOFError, ValueError, IndexError) as exc:
            self.error = exc
        finally:
            self.finished_at = time.monotonic()
            self.sock.close()

    def join(self, timeout: float = 10.0) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the /slow request did not end"


def wait_refused(served: Served, timeout: float = 3.0) -> float:
    """Connect until the port refuses; the monotonic time it first did."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            sock = socket.create_connection(("127.0.0.1", served.port), timeout=0.5)
        except ConnectionRefusedError:
            return time.monotonic()
        except OSError:
            pass  # a timeout: the listener is going away
        else:
            sock.close()  # accepted before the listener closed: try again
        time.sleep(0.02)
    raise AssertionError("new connections were still accepted after the signal")


def assert_exits_cleanly(served: Served, within: float) -> None:
    try:
        code = served.proc.wait(within)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the server did not exit within {within} s: {served.lines}") from None
    stderr = served.proc.stderr.read() if served.proc.stderr else ""
    assert code == 0, stderr
    served.wait_for("served")


# -- SIGTERM with a request in flight ----------------------------------------------------------


@pytest.mark.parametrize("driver, entry", [("threading", "sync"), ("asyncio", "sync"), ("asyncio", "async")])
def test_sigterm_lets_the_in_flight_request_finish(serve: Callable[..., Served], driver: str, entry: str) -> None:
    served = serve(driver, entry, shutdown_timeout=10.0, slow=1.0)
    # The server answers (and serves a keep-alive connection that stays idle).
    idle = served.connect()
    idle.sendall(b"GET /fast HTTP/1.1\r\nHost: t\r\n\r\n")
    assert read_reply(idle.makefile("rb")).body == b"fast body"
    ws = websocket.create_connection(f"ws://127.0.0.1:{served.port}/ws", timeout=WAIT)
    try:
        assert ws.recv() == "hi"
        slow = SlowRequest(served)
        served.wait_for("slow start")
        signalled = time.monotonic()
        served.signal(signal.SIGTERM)

        refused_at = wait_refused(served)
        # The port closed while the request was still being handled.
        assert "slow done" not in served.lines
        assert refused_at - signalled < 1.0
        # The idle keep-alive connection is closed at once.
        assert is_closed(idle, timeout=2.0)
        # The WebSocket is closed with 1001 ("going away").
        opcode, frame = ws.recv_data_frame(True)  # answers the close frame
        assert opcode == ABNF.OPCODE_CLOSE
        assert int.from_bytes(frame.data[:2], "big") == 1001

        slow.join()
        assert slow.error is None, slow.error
        assert (slow.status, slow.body) == (200, b"slow body")
        # Its response was the connection's last: announced, then the connection closed.
        assert slow.headers.get("connection") == "close"
        assert slow.closed_after
        assert refused_at < slow.finished_at
    finally:
        idle.close()
        ws.close(timeout=1)  # swallows errors and always shuts the socket down

    assert_exits_cleanly(served, within=5.0)
    assert time.monotonic() - signalled < 5.0
    served.wait_for("ws close 1001")
    enter_a, enter_b = served.index("enter A"), served.index("enter B")
    slow_done, ws_closed = served.index("slow done"), served.index("ws close 1001")
    exit_b, exit_a = served.index("exit B"), served.index("exit A")
    assert enter_a < enter_b < slow_done < exit_b < exit_a
    assert ws_closed < exit_b


@pytest.mark.parametrize("driver", ["threading", "asyncio"])
def test_a_request_outliving_the_shutdown_timeout_is_cut_off(serve: Callable[..., Served], driver: str) -> None:
    served = serve(driver, "sync", shutdown_timeout=0.5, slow=5.0)
    slow = SlowRequest(served)
    served.wait_for("slow start")
    signalled = time.monotonic()
    served.signal(signal.SIGTERM)
    slow.join()
    # No response: the connection was aborted at the cut-off, long before the 5 s handler ends.
    assert slow.status is None
    assert isinstance(slow.error, (EOFError, ConnectionError)), slow.error
    assert slow.finished_at - signalled < 3.0
    assert_exits_cleanly(served, within=5.0)
    assert "slow done" not in served.lines
    assert served.index("exit B") < served.index("exit A")


@pytest.mark.parametrize("driver, entry", [("threading", "sync"), ("asyncio", "async")])
def test_a_second_sigint_forces_the_stop(serve: Callable[..., Served], driver: str, entry: str) -> None:
    served = serve(driver, entry, shutdown_timeout=10.0, slow=5.0)
    slow = SlowRequest(served)
    served.wait_for("slow start")
    served.signal(signal.SIGINT)
    wait_refused(served)
    served.signal(signal.SIGINT)
    forced = time.monotonic()
    slow.join()
    assert slow.status is None  # cut, not answered
    assert slow.finished_at - forced < 2.0
    assert_exits_cleanly(served, within=5.0)
    assert time.monotonic() - forced < 3.0
    assert served.index("exit B") < served.index("exit A")


# -- the drivers, in process -------------------------------------------------------------------


def test_stop_accepting_closes_the_port_and_idle_connections(start_server: Callable[..., Running]) -> None:
    srv = start_server()
    srv.dispatcher.slow_seconds = 0.5
    idle = srv.connect()
    idle.sendall(b"GET /one HTTP/1.1\r\nHost: t\r\n\r\n")
    assert read_reply(idle.makefile("rb")).status == 200
    busy = srv.connect()
    busy.sendall(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
    time.sleep(0.15)
    started = time.monotonic()
    srv.server.stop_accepting()
    assert time.monotonic() - started < 1.0
    assert not srv.server.is_ready()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=WAIT).close()
    assert is_closed(idle, timeout=2.0)
    # The request in flight is answered, as the connection's last.
    reply = read_reply(busy.makefile("rb"))
    assert (reply.status, reply.body) == (200, b"GET /slow 0\n")
    assert reply.headers.get("connection") == "close"
    assert is_closed(busy, timeout=2.0)
    # With nothing left, serving ends without a shutdown() call.
    srv.thread.join(WAIT)
    assert not srv.thread.is_alive()
    idle.close()
    busy.close()


def test_shutdown_timeout_beyond_the_plain_grace(start_server: Callable[..., Running]) -> None:
    srv = start_server(shutdown_grace=0.1)
    srv.dispatcher.slow_seconds = 1.2  # longer than a plain shutdown() would wait
    with srv.connect() as sock:
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        time.sleep(0.1)
        started = time.monotonic()
        srv.server.shutdown(timeout=3.0)
        assert time.monotonic() - started < 3.0
        reply = read_reply(sock.makefile("rb"))
        assert reply.body == b"GET /slow 0\n"
        assert reply.headers.get("connection") == "close"


def test_keep_alive_max_requests_last_response_says_close(start_server: Callable[..., Running]) -> None:
    srv = start_server(limits=Limits(keep_alive_max_requests=2))
    with srv.connect() as sock:
        stream = sock.makefile("rb")
        sock.sendall(b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n")
        first = read_reply(stream)
        assert first.headers.get("connection") is None
        sock.sendall(b"GET /b HTTP/1.1\r\nHost: t\r\n\r\n")
        second = read_reply(stream)
        assert second.body == b"GET /b 0\n"
        assert second.headers.get("connection") == "close"
        assert is_closed(sock)


# -- the signal wiring, in process -------------------------------------------------------------


class _NoServer:
    """Enough of a server for installing and removing the handlers (never signalled)."""

    class config:
        shutdown_timeout = 1.0

    def shutdown(self, timeout: Optional[float] = None) -> None:
        raise AssertionError("not signalled")


def test_handlers_are_restored_and_only_installed_on_the_main_thread() -> None:
    server: Any = _NoServer()
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    with stop_on_signals(server) as installed:
        assert installed
        assert all(signal.getsignal(sig) is not before[sig] for sig in before)
    assert {sig: signal.getsignal(sig) for sig in before} == before

    async def in_loop() -> bool:
        async with stop_on_signals_async(server) as done:
            return done

    assert asyncio.run(in_loop())
    assert {sig: signal.getsignal(sig) for sig in before} == before

    results: list[bool] = []

    def elsewhere() -> None:
        with stop_on_signals(server) as done:
            results.append(done)
        results.append(asyncio.run(in_loop()))

    worker = threading.Thread(target=elsewhere)
    worker.start()
    worker.join(WAIT)
    assert results == [False, False]
    assert {sig: signal.getsignal(sig) for sig in before} == before
