"""Real servers on 127.0.0.1: ``tests/deploy_app.py`` under uvicorn and hypercorn (subprocesses;
the ``Application`` is the ASGI app) and under the built-in servers (in-process, both drivers),
all held to the same checks (``tests/deploy_checks.py``).

Each ASGI server runs with ``NAJA_ATRA_DEPLOY_MARKERS`` pointing at a file, so its lifespan is
observable: ``startup`` once it serves, ``shutdown`` after SIGTERM. Every wait is bounded and
every process is stopped by its PID. Skipped when uvicorn or hypercorn is not installed.
"""
from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Iterator

import pytest

from .. import deploy_app
from ..deploy_app import MARKERS_ENV
from ..deploy_checks import check_http, check_websocket
from ..support import ServerProcess, free_port, serving

#: ``module:attribute`` the servers load: the application itself is the ASGI app.
TARGET = "tests.deploy_app:app"


class Served(ServerProcess):
    """One ASGI server process, with the deploy app's lifespan markers written to ``markers``."""

    def __init__(self, name: str, folder: Path) -> None:
        self.markers = folder / "markers.txt"
        port = free_port()
        super().__init__(name, _command(name, port), port, folder / "server.log", {MARKERS_ENV: str(self.markers)})

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
    served = Served(name, tmp_path_factory.mktemp(name))
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


def test_builtin_servers_pass_the_same_checks(driver: str) -> None:
    with serving(deploy_app.app, driver) as client:
        check_http(client.base_url)
        check_websocket(client.ws_url)
