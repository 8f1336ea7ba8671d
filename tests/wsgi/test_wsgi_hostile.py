"""The WSGI adapter under hostile clients, behind real servers: gunicorn (``sync`` and
``gthread`` workers, subprocesses stopped by their PID) and ``wsgiref.simple_server`` (in a
thread), serving ``tests.asgi.hostile_app:wsgi_app`` on free 127.0.0.1 ports.

- Item 6 (desynchronisation): a request with both ``Transfer-Encoding`` and
  ``Content-Length`` (gunicorn refuses it itself), a head the adapter refuses, a 413 answered
  before the body was read: one response, then the connection closes and a request pipelined
  behind is never served. gunicorn drops a ``Connection`` header the application sets, so the
  adapter has it close the connection its own way (see ``naja_atra.adapters.wsgi``).
- Item 3 (streamed responses, through the server's ``write()``): a client that stops reading
  is given up after ``write_timeout``; one that leaves half-way is noticed; one that reads
  gets the whole body.
"""
from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any, Iterator
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from ..asgi import hostile_app
from ..asgi import hostile_checks as checks
from ..support import STOP_TIMEOUT, ServerProcess, free_port

WORKERS = {"sync": ["-k", "sync"], "gthread": ["-k", "gthread", "--threads", "4"]}


@pytest.fixture(scope="module", params=sorted(WORKERS))
def gunicorn(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    pytest.importorskip("gunicorn")
    worker: str = request.param
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "-w", "1", *WORKERS[worker], "-b", f"127.0.0.1:{port}",
               "--graceful-timeout", "3", "--timeout", "30", "--log-level", "warning",
               "tests.asgi.hostile_app:wsgi_app"]
    folder: Path = tmp_path_factory.mktemp(f"gunicorn-{worker}")
    served = ServerProcess(f"gunicorn ({worker})", command, port, folder / "server.log")
    try:
        served.wait_ready()
        yield served
    finally:
        served.stop()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def wsgiref_port() -> Iterator[int]:
    server = make_server("127.0.0.1", 0, hostile_app.wsgi_app, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(STOP_TIMEOUT)


# -- item 6: nothing is served behind a refused request ----------------------------------------------
def test_te_and_cl_is_refused_and_closes(gunicorn: ServerProcess) -> None:
    checks.check_refused_and_closed(gunicorn.port, checks.TE_CL, 400)  # gunicorn's own 400


def test_a_head_the_adapter_refuses_closes(gunicorn: ServerProcess) -> None:
    received = checks.check_refused_and_closed(gunicorn.port, checks.BAD_ESCAPE, 400)
    assert b"\r\nconnection: close\r\n" in received.lower()  # announced, not only done


def test_413_before_the_body_closes(gunicorn: ServerProcess) -> None:
    received = checks.check_body_too_large_closes(gunicorn.port)
    assert b"\r\nconnection: close\r\n" in received.lower()


def test_wsgiref_closes_after_a_refusal(wsgiref_port: int) -> None:
    checks.check_refused_and_closed(wsgiref_port, checks.TE_CL, 400)
    checks.check_refused_and_closed(wsgiref_port, checks.NUL_PATH, 400)  # no raw URI: %zz would pass
    checks.check_body_too_large_closes(wsgiref_port)


# -- item 3: streamed responses ----------------------------------------------------------------------
def test_a_slow_reader_is_given_up_without_buffering(gunicorn: ServerProcess) -> None:
    checks.check_slow_readers(gunicorn.port, "/stream", "slow", clients=1)


def test_a_client_that_leaves_mid_stream_is_noticed(gunicorn: ServerProcess) -> None:
    checks.check_partial_reader(gunicorn.port, "/stream", "partial")


@pytest.mark.parametrize("path", ["/stream", "/astream"])
def test_a_fast_reader_gets_the_whole_body(gunicorn: ServerProcess, path: str) -> None:
    checks.check_fast_reader(gunicorn.port, path, f"fast{path[1:]}")


def test_a_stream_the_client_left_is_not_an_error_for_gunicorn(gunicorn: ServerProcess) -> None:
    """The adapter returns normally once a write failed: gunicorn logs no error for it."""
    checks.check_partial_reader(gunicorn.port, "/stream", "quiet")
    assert "Error handling request" not in gunicorn.output(100_000)
