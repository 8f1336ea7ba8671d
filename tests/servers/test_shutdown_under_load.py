"""SIGTERM under load, on both built-in servers, in a real subprocess: every accepted request
is answered (a connection whose request the server has not read yet is not idle), and
handlers that hang cannot hold the process past ``shutdown_timeout`` plus a small bound."""
from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Callable, Optional

import pytest

from ..support import HOST, WAIT, ScriptProcess, free_port

pytestmark = pytest.mark.skipif(os.name != "posix", reason="delivers POSIX signals to a subprocess")

SCRIPT = r'''
import asyncio
import sys
import threading
import time

from naja_atra import Application

DRIVER, PORT, SHUTDOWN_TIMEOUT, INLINE = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "inline"
app = Application(load_entry_points=False, run_sync_in_threadpool=not INLINE)
printing = threading.Lock()


def say(text):
    with printing:  # one line at a time: handlers on several threads print at once
        print(text, flush=True)


@app.route("/sleep")
def sleep(seconds: float) -> str:
    say("start")
    time.sleep(seconds)
    return "slept"


@app.route("/asleep")
async def asleep(seconds: float) -> str:
    say("start")
    await asyncio.sleep(seconds)
    return "slept"


app.start(host="127.0.0.1", port=PORT, prefer_coroutine=DRIVER == "asyncio",
          shutdown_timeout=SHUTDOWN_TIMEOUT, worker_threads=4)
say("served")
'''


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., ScriptProcess]]:
    script = tmp_path / "shutdown_app.py"
    script.write_text(SCRIPT)
    started: list[ScriptProcess] = []

    def run(driver: str, shutdown_timeout: float, inline: bool = False) -> ScriptProcess:
        port = free_port()
        process = ScriptProcess(script, driver, str(port), str(shutdown_timeout), "inline" if inline else "pool",
                                port=port)
        started.append(process)
        process.wait_for_port()
        return process

    yield run
    for process in started:
        process.end()


class Pending:
    """One ``GET /sleep`` (or ``path``) on its own connection, read on a thread."""

    def __init__(self, port: int, seconds: float, path: str = "/sleep") -> None:
        self.sock = socket.create_connection((HOST, port), timeout=WAIT + 10)
        self.reply = b""
        self.error: Optional[BaseException] = None
        self.sock.sendall(f"GET {path}?seconds={seconds} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                self.reply += data
        except OSError as exc:
            self.error = exc
        finally:
            self.sock.close()

    def answered(self) -> bool:
        self.thread.join(WAIT + 10)
        return self.reply.startswith(b"HTTP/1.1 200") and self.reply.endswith(b"slept")


@pytest.mark.parametrize("driver, inline", [("threading", False), ("asyncio", False), ("asyncio", True)])
def test_sigterm_answers_every_accepted_request(start: Callable[..., ScriptProcess], driver: str,
                                                inline: bool) -> None:
    """20 requests in flight (the threading server runs 4 at a time, the inline asyncio server
    one: the others are accepted, some not even read yet), then SIGTERM: all 20 answered."""
    count, seconds = (8, 0.25) if inline else (20, 0.5)
    process = start(driver, shutdown_timeout=10.0, inline=inline)
    assert process.port is not None
    pending = [Pending(process.port, seconds) for _ in range(count)]
    process.wait_for_line("start")
    os.kill(process.proc.pid, signal.SIGTERM)
    answered = sum(request.answered() for request in pending)
    assert answered == count
    assert process.proc.wait(WAIT) == 0


@pytest.mark.parametrize("driver, path", [("threading", "/sleep"), ("asyncio", "/sleep"), ("threading", "/asleep")])
def test_hung_handlers_do_not_hold_the_exit(start: Callable[..., ScriptProcess], driver: str, path: str) -> None:
    """3 requests that sleep 120 s, ``shutdown_timeout=1``: the process exits about a second
    after SIGTERM (the pool threads are daemons), not when the handlers end; an async
    handler left running on a worker's event loop is left to the process's end, quietly."""
    process = start(driver, shutdown_timeout=1.0)
    assert process.port is not None
    pending = [Pending(process.port, 120, path) for _ in range(3)]
    for _ in pending:
        process.wait_for_line("start")
    signalled = time.monotonic()
    os.kill(process.proc.pid, signal.SIGTERM)
    assert process.proc.wait(1.0 + WAIT) == 0
    assert time.monotonic() - signalled < 1.0 + WAIT
    assert not any(request.answered() for request in pending)
    assert "Traceback" not in process.stderr(), process.stderr()
