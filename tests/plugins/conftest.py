"""Fixtures for the optional plugins: a real ``redis-server`` on a free loopback port.

Without ``redis-server`` on PATH (or without the ``redis`` / ``jinja2`` packages) the tests
that need it are skipped, except under CI (``CI`` set), where they fail: CI installs them,
and must not pass by skipping.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator, NoReturn, Optional

import pytest

from ..support import free_port, stop_process

_START_TIMEOUT = 5.0


def unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it under CI."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: not skipping)", pytrace=False)
    pytest.skip(reason)


def require_module(name: str) -> None:
    """Skip (fail under CI) unless ``name`` can be imported."""
    try:
        __import__(name)
    except ImportError:
        unavailable(f"the {name!r} package is not installed (pip install 'naja_atra[{name}]')")


def _pong(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"*1\r\n$4\r\nPING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One ``redis-server`` subprocess, in memory only, on 127.0.0.1."""

    def __init__(self, executable: str, workdir: Path) -> None:
        self.executable = executable
        self.workdir = workdir
        self.port = 0
        self.process: Optional[subprocess.Popen[bytes]] = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start on a free port and wait (bounded) until it answers PING."""
        last_error = ""
        for _ in range(3):  # the free port may be taken between the probe and the bind
            self.port = free_port()
            log = self.workdir / f"redis-{self.port}.log"
            with open(log, "wb") as out:
                self.process = subprocess.Popen(
                    [self.executable, "--port", str(self.port), "--bind", "127.0.0.1",
                     "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            deadline = time.monotonic() + _START_TIMEOUT
            while time.monotonic() < deadline and self.process.poll() is None:
                if _pong(self.port):
                    return
                time.sleep(0.02)
            last_error = log.read_text(errors="replace")[-2000:]
            self.stop()
        raise RuntimeError(f"redis-server did not start within {_START_TIMEOUT} s:\n{last_error}")

    def stop(self) -> None:
        """Stop it by its PID (SIGTERM, then SIGKILL after 5 s); idempotent."""
        process, self.process = self.process, None
        if process is not None:
            stop_process(process, 5)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh ``redis-server`` for one test (the test may stop it with ``.stop()``)."""
    require_module("redis")
    executable = shutil.which("redis-server")
    if executable is None:
        unavailable("redis-server is not on PATH (apt-get install redis-server)")
    server = RedisServer(executable, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of a fresh ``redis-server`` (``redis://127.0.0.1:PORT/0``)."""
    return redis_server.url
