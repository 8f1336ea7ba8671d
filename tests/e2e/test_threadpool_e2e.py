"""The asyncio server's choice for plain controllers: a thread pool (default) or inline."""
from __future__ import annotations

import threading

import pytest

from naja_atra import Application

from ..support import WAIT, Client, wait_until


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


def test_blocking_sync_controllers_leave_the_asyncio_server_responsive_by_default() -> None:
    """The table's row, scaled down: sync controllers that block (10 here, 40 sleeping 6 s
    there) hold pool threads, not the event loop: /fast is answered meanwhile."""
    release = threading.Event()
    app = _blocking_app(release)
    app.run_in_thread(host="127.0.0.1", port=0, prefer_coroutine=True)
    blocked = [threading.Thread(target=_get, args=(app, "/slow")) for _ in range(10)]
    try:
        assert app.server is not None
        for thread in blocked:
            thread.start()
        assert wait_until(lambda: app._executor is not None and app._executor.thread_count == 10)
        assert Client(app.server.port).get("/fast").text == "fast"
        assert not release.is_set()
    finally:
        release.set()
        for thread in blocked:
            thread.join(WAIT)
        app.stop()


def test_the_pool_is_bounded_and_a_full_pool_queues_sync_requests() -> None:
    """At ``threadpool_size`` blocked controllers, a further sync request waits for a thread
    (async controllers are still answered); once one is free it is served."""
    release = threading.Event()
    app = _blocking_app(release, threadpool_size=2)

    @app.route("/async")
    async def on_loop() -> str:
        return "async"

    app.run_in_thread(host="127.0.0.1", port=0, prefer_coroutine=True)
    results: list[str] = []
    blocked = [threading.Thread(target=lambda: results.append(_get(app, "/slow"))) for _ in range(2)]
    try:
        assert app.server is not None
        for thread in blocked:
            thread.start()
        assert wait_until(lambda: app._executor is not None and app._executor.thread_count == 2)
        queued = threading.Thread(target=lambda: results.append(_get(app, "/fast")))
        queued.start()
        assert Client(app.server.port).get("/async").text == "async"
        queued.join(0.3)
        assert queued.is_alive() and results == []  # no third thread: /fast waits its turn
        assert app._executor is not None and app._executor.thread_count == 2
        release.set()
        for thread in (queued, *blocked):
            thread.join(WAIT)
        assert sorted(results) == ["fast", "slow", "slow"]
    finally:
        release.set()
        for thread in blocked:
            thread.join(WAIT)
        app.stop()


def _get(app: Application, path: str) -> str:
    assert app.server is not None
    return Client(app.server.port, timeout=WAIT).get(path).text


def test_sync_controllers_run_in_the_pool_by_default() -> None:
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
    assert len(seen) == 1 and seen[0].startswith("naja_atra-sync")


@pytest.mark.parametrize("where", ["application", "start"])
def test_inline_mode_runs_sync_controllers_on_the_event_loop_thread(where: str) -> None:
    seen: list[str] = []
    app = Application(run_sync_in_threadpool=False) if where == "application" else Application()

    @app.route("/where")
    def handler() -> str:
        seen.append(threading.current_thread().name)
        return "ok"

    options = {"run_sync_in_threadpool": False} if where == "start" else {}
    app.run_in_thread(host="127.0.0.1", port=0, prefer_coroutine=True, **options)
    try:
        assert app.server is not None
        assert Client(app.server.port).get("/where").text == "ok"
    finally:
        app.stop()
    assert seen == ["naja_atra-server"]  # the thread run_in_thread serves the loop on
