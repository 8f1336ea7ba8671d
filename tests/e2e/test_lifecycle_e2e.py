"""Startup and shutdown work of an application (``on_startup``, ``on_shutdown``,
``lifespan=``, sync or async) on both built-in servers, ``start_async``, uvicorn's lifespan
protocol and WSGI under wsgiref: the order, the loop async steps run on, and a failing
startup."""
from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any, Optional
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from naja_atra import Application, hookimpl
from naja_atra.app.lifecycle import StartupError

from ..support import DRIVERS, HOST, STOP_TIMEOUT, WAIT, Client, free_port, serving, uvicorn_serving, wait_until


class Recorder:
    """What ran, in order, and on which event loop the async steps ran."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.loops: dict[str, Optional[asyncio.AbstractEventLoop]] = {}

    def mark(self, name: str) -> None:
        self.events.append(name)

    def loop_of(self, name: str) -> None:
        self.events.append(name)
        self.loops[name] = asyncio.get_running_loop()


class PluginLifespan:
    """A plugin with a ``naja_atra_lifespan`` context: it is entered before the application's."""

    def __init__(self, record: Recorder) -> None:
        self.record = record

    @hookimpl
    def naja_atra_lifespan(self, app: Application) -> Any:
        @contextlib.contextmanager
        def context() -> Iterator[None]:
            self.record.mark("plugin in")
            try:
                yield
            finally:
                self.record.mark("plugin out")
        return context()


def _app(record: Recorder, fail: bool = False) -> Application:
    @contextlib.asynccontextmanager
    async def lifespan(app: Application) -> AsyncIterator[None]:
        record.loop_of("lifespan in")
        try:
            yield
        finally:
            record.mark("lifespan out")

    app = Application(load_entry_points=False, lifespan=lifespan, on_startup=[lambda: record.mark("startup 1")],
                      on_shutdown=[lambda: record.mark("shutdown 1")])
    app.register(PluginLifespan(record))

    @app.on_startup
    async def startup_2() -> None:
        record.loop_of("startup 2")
        if fail:
            raise OSError("the database is down")

    @app.on_startup
    def startup_3() -> None:
        record.mark("startup 3")

    @app.on_shutdown
    async def shutdown_2() -> None:
        record.loop_of("shutdown 2")

    @app.get("/loop")
    async def loop() -> str:
        record.loops["request"] = asyncio.get_running_loop()
        return "served"

    return app


STARTED = ["plugin in", "lifespan in", "startup 1", "startup 2", "startup 3"]
STOPPED = ["shutdown 1", "shutdown 2", "lifespan out", "plugin out"]


@pytest.mark.parametrize("driver", DRIVERS)
def test_start_and_stop_in_order(driver: str) -> None:
    record = Recorder()
    with serving(_app(record), driver) as client:
        assert record.events == STARTED  # all of it before the first request is accepted
        assert client.get("/loop").text == "served"
    assert record.events == STARTED + STOPPED  # serving() returns once stop() did
    # Without a loop to share (start(), run_in_thread()) the async steps share one private loop.
    assert record.loops["lifespan in"] is record.loops["startup 2"] is record.loops["shutdown 2"]


def test_start_async_runs_async_steps_on_the_serving_loop() -> None:
    record = Recorder()
    app = _app(record)
    port = free_port()
    thread = threading.Thread(target=lambda: asyncio.run(app.start_async(HOST, port, handle_signals=False,
                                                                          prefer_coroutine=True)), daemon=True)
    thread.start()
    try:
        assert wait_until(app.is_ready, timeout=WAIT)
        assert Client(port).get("/loop").text == "served"
        assert record.events == STARTED
    finally:
        app.stop()
        thread.join(STOP_TIMEOUT)
    assert not thread.is_alive()
    assert record.events == STARTED + STOPPED
    assert record.loops["startup 2"] is record.loops["request"] is record.loops["shutdown 2"]


def test_under_uvicorn_the_lifespan_protocol_runs_them_on_its_loop() -> None:
    record = Recorder()
    app = _app(record)
    with uvicorn_serving(app.asgi) as port:
        assert record.events == STARTED
        assert Client(port).get("/loop").text == "served"
    assert record.events == STARTED + STOPPED
    assert record.loops["lifespan in"] is record.loops["request"]


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_failing_startup_fails_the_start_and_releases_the_port(driver: str) -> None:
    record = Recorder()
    app = _app(record, fail=True)
    port = free_port()
    with pytest.raises(StartupError, match=r"startup callback .*startup_2 failed: OSError\('the database is down'\)"):
        app.run_in_thread(host=HOST, port=port, prefer_coroutine=driver == "asyncio")
    # What started was left (the lifespan, the plugin); shutdown callbacks did not run.
    assert record.events == ["plugin in", "lifespan in", "startup 1", "startup 2", "lifespan out", "plugin out"]
    with socket.socket() as probe:
        probe.bind((HOST, port))  # released


def test_a_failing_startup_answers_lifespan_startup_failed() -> None:
    """What an ASGI server (uvicorn exits with status 3 on it) gets from the adapter."""
    record = Recorder()
    app = _app(record, fail=True)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "lifespan.startup"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(asyncio.wait_for(app.asgi({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send), WAIT))
    assert [message["type"] for message in sent] == ["lifespan.startup.failed"]
    assert "startup_2 failed: OSError('the database is down')" in sent[0]["message"]
    assert record.events[-2:] == ["lifespan out", "plugin out"] and "shutdown 1" not in record.events


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_wsgi_starts_at_the_first_request_and_stops_at_close() -> None:
    record = Recorder()
    app = _app(record)

    @app.get("/plain")
    def plain() -> str:
        return "plain"

    adapter = app.wsgi
    server = make_server(HOST, 0, adapter, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert record.events == []
        assert Client(server.server_port).get("/plain").text == "plain"
        assert record.events == STARTED
    finally:
        server.shutdown()
        server.server_close()
        thread.join(STOP_TIMEOUT)
    adapter.close()  # what atexit does at process exit
    assert record.events == STARTED + STOPPED


@pytest.mark.parametrize("options, words", [
    ({"on_startup": lambda: None}, "on_startup="),
    ({"on_shutdown": [1]}, "on_shutdown=[1] is not accepted; expected a list or tuple of functions"),
    ({"lifespan": "yes"}, "lifespan='yes' is not accepted"),
])
def test_bad_lifecycle_settings(options: dict[str, Any], words: str) -> None:
    from naja_atra import ConfigurationError

    with pytest.raises(ConfigurationError, match=words.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        Application(load_entry_points=False, **options)


def test_a_lifespan_that_is_not_a_context_manager() -> None:
    from naja_atra import ConfigurationError

    app = Application(load_entry_points=False, lifespan=lambda app: 42)
    with pytest.raises(ConfigurationError, match="must return a context manager"):
        with app.lifespan():
            pass
