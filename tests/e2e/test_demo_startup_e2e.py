"""The development loop's first seconds: ``examples/demo.py --port`` serves where it is told
and says so, and ``start()`` warns when an application has nothing to serve."""
from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from naja_atra import Application
from naja_atra.utils import logger

from ..support import HOST, ROOT, STOP_TIMEOUT, WAIT, Client, ServerProcess, free_port, wait_until


def test_the_demo_serves_on_the_port_given_and_prints_its_url(tmp_path: Path) -> None:
    port = free_port()
    demo = ServerProcess("demo", [sys.executable, str(ROOT / "examples" / "demo.py"), "--port", str(port)],
                         port, tmp_path / "demo.log")
    try:
        demo.wait_ready()
        assert Client(port).get("/hello?name=you").text == "Hello, you!"
        assert wait_until(lambda: f"serving on http://127.0.0.1:{port} with the threading server" in demo.output(),
                          timeout=WAIT), demo.output()
    finally:
        assert demo.stop() is not None


def _start_and_stop(app: Application, caplog: pytest.LogCaptureFixture, **options: object) -> None:
    logger.add_handler(caplog.handler)
    try:
        thread = threading.Thread(target=lambda: app.start(host=HOST, port=0, handle_signals=False, **options),
                                  daemon=True)
        thread.start()
        assert wait_until(app.is_ready, timeout=WAIT)
        app.stop()
        thread.join(STOP_TIMEOUT)
        assert not thread.is_alive()
    finally:
        logger.remove_handler(caplog.handler)


@pytest.mark.parametrize("prefer_coroutine, kind", [(False, "threading"), (True, "asyncio")])
def test_start_logs_the_url_and_the_server(caplog: pytest.LogCaptureFixture, prefer_coroutine: bool,
                                           kind: str) -> None:
    app = Application(load_entry_points=False)

    @app.get("/")
    def index() -> str:
        return "home"

    _start_and_stop(app, caplog, prefer_coroutine=prefer_coroutine)
    lines = [record.getMessage() for record in caplog.records if record.name == "naja_atra.app"]
    assert len(lines) == 1 and lines[0].startswith("serving on http://127.0.0.1:")
    assert f"with the {kind} server" in lines[0]


def test_an_application_with_nothing_to_serve_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    _start_and_stop(Application(load_entry_points=False), caplog)
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert any("has no routes" in message for message in warnings)


def test_static_resources_alone_are_something_to_serve(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    _start_and_stop(Application(load_entry_points=False, resources={"/files/**": str(tmp_path)}), caplog)
    assert not [record for record in caplog.records if record.levelname == "WARNING"]
