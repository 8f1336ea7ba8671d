"""Real servers on 127.0.0.1: ``tests/deploy_app.py`` under uvicorn and hypercorn (subprocesses,
through the ASGI adapter) and under the built-in servers (in-process, both drivers), all held to
the same checks (``tests/deploy_checks.py``).

Each ASGI server runs with ``NAJA_ATRA_DEPLOY_MARKERS`` pointing at a file, so its lifespan is
observable: ``startup`` once it serves, ``shutdown`` after SIGTERM. Every wait is bounded and
every process is stopped by its PID. Skipped when uvicorn or hypercorn is not installed.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator

import pytest

from .. import deploy_app
from ..deploy_app import MARKERS_ENV
from ..deploy_checks import check_http, check_websocket

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
#: ``module:attribute`` the servers load: the application itself once it is an ASGI app.
TARGET = "tests.deploy_app:app" if callable(deploy_app.app) else "tests.deploy_app:asgi_app"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Served:
    """One server process and where to reach it."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    markers: Path
    log: Path
    log_file: IO[bytes]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def output(self) -> str:
        if not self.log_file.closed:
            self.log_file.flush()
        return self.log.read_text(errors="replace")[-4000:]

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"{self.name} exited with {self.process.returncode}:\n{self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        pytest.fail(f"{self.name} did not listen on {self.port} within {START_TIMEOUT} s:\n{self.output()}")

    def stop(self) -> int:
        """SIGTERM (a graceful stop), then SIGKILL if it does not end in time; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
        self.log_file.close()
        return self.process.returncode

    def marker_lines(self) -> list[str]:
        return self.markers.read_text().split() if self.markers.exists() else []


def _command(name: str, port: int) -> list[str]:
    if name == "uvicorn":
        return [sys.executable, "-m", "uvicorn", TARGET, "--host", "127.0.0.1", "--port", str(port),
                "--lifespan", "on", "--log-level", "warning"]
    return [sys.executable, "-m", "hypercorn", TARGET, "--bind", f"127.0.0.1:{port}", "--log-level", "warning"]


@pytest.fixture(scope="module", params=["uvicorn", "hypercorn"])
def asgi_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    name: str = request.param
    pytest.importorskip(name)
    folder = tmp_path_factory.mktemp(name)
    port = _free_port()
    env = dict(os.environ)
    env[MARKERS_ENV] = str(folder / "markers.txt")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    log = folder / "server.log"
    log_file = log.open("wb")
    process = subprocess.Popen(_command(name, port), cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    served = Served(name, port, process, folder / "markers.txt", log, log_file)
    try:
        served.wait_ready()
        yield served
    finally:
        served.stop()


def test_http_checks_pass(asgi_server: Served) -> None:
    check_http(asgi_server.base_url)


def test_websocket_checks_pass(asgi_server: Served) -> None:
    check_websocket(asgi_server.ws_url)


def test_lifespan_runs_at_start_and_after_sigterm(asgi_server: Served) -> None:
    """Last for each server: it stops the server (the fixture's stop is then a no-op)."""
    assert asgi_server.marker_lines() == ["startup"]
    code = asgi_server.stop()
    # A graceful stop: uvicorn re-raises the signal it handled once it is done, hypercorn exits 0.
    assert code in (0, -signal.SIGTERM), asgi_server.output()
    assert asgi_server.marker_lines() == ["startup", "shutdown"], asgi_server.output()


@pytest.mark.parametrize("driver", ["threading", "asyncio"])
def test_builtin_servers_pass_the_same_checks(driver: str) -> None:
    app = deploy_app.app
    thread = app.run_in_thread(host="127.0.0.1", port=0, prefer_coroutine=driver == "asyncio")
    try:
        assert app.server is not None
        port = app.server.port
        check_http(f"http://127.0.0.1:{port}")
        check_websocket(f"ws://127.0.0.1:{port}")
    finally:
        app.stop()
        thread.join(STOP_TIMEOUT)
