"""The asyncio server's choice for plain controllers: inline (default) or a thread pool."""
from __future__ import annotations

import threading

from naja_atra import Application

from ..support import Client


def _blocking_app(release: threading.Event, **options: object) -> Application:
    app = Application(**options)  # type: ignore[arg-type]

    @app.route("/slow")
    def slow() -> str:
        release.wait(5)
        return "slow"

    @app.route("/fast")
    def fast() -> str:
        return "fast"

    return app


def test_threadpool_keeps_the_loop_free_while_a_controller_blocks() -> None:
    release = threading.Event()
    app = _blocking_app(release, run_sync_in_threadpool=True)
    app.run_in_thread(host="127.0.0.1", port=0, prefer_coroutine=True)
    try:
        assert app.server is not None
        client = Client(app.server.port)
        slow_result: list[str] = []
        worker = threading.Thread(target=lambda: slow_result.append(client.get("/slow").text))
        worker.start()
        # The slow controller is parked on the event; the fast one must still be answered.
        assert client.get("/fast").text == "fast"
        assert not release.is_set() and not slow_result
        release.set()
        worker.join(5)
        assert slow_result == ["slow"]
    finally:
        release.set()
        app.stop()


def test_inline_controllers_run_on_the_event_loop_thread() -> None:
    seen: list[str] = []
    app = Application()

    @app.route("/where")
    def where() -> str:
        seen.append(threading.current_thread().name)
        return "ok"

    app.run_in_thread(host="127.0.0.1", port=0, prefer_coroutine=True)
    try:
        assert app.server is not None
        assert Client(app.server.port).get("/where").text == "ok"
    finally:
        app.stop()
    assert seen == ["naja_atra-server"]  # the thread run_in_thread serves the loop on
