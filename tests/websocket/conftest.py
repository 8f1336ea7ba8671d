"""Fixtures of the runner tests: an event loop on a thread, and ``runner``, each test once per
connection runner (threading and asyncio)."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from naja_atra.websocket import run_asyncio, run_threaded

from .runners_support import WAIT, Runner


@pytest.fixture(scope="module")
def event_loop_thread() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="test-ws-loop", daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(WAIT)
    loop.close()


@pytest.fixture(params=["threaded", "asyncio"])
def runner(request: pytest.FixtureRequest, event_loop_thread: asyncio.AbstractEventLoop) -> Iterator[Runner]:
    r = Runner(request.param, event_loop_thread)
    yield r
    r.finish()


@pytest.fixture
def short_close_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_threaded, "CLOSE_TIMEOUT", 0.3)
    monkeypatch.setattr(run_asyncio, "CLOSE_TIMEOUT", 0.3)
