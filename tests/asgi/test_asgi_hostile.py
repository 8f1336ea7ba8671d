"""The ASGI adapter under hostile clients, behind real servers: uvicorn (``--http h11`` and
``--http httptools``) and hypercorn, each a subprocess serving ``tests.asgi.hostile_app:app``
on a free 127.0.0.1 port, stopped by its PID afterwards.

- Item 6 (desynchronisation): a request with both ``Transfer-Encoding`` and
  ``Content-Length``, or a head the core refuses, with a request pipelined behind it: one 400,
  then the connection closes and the pipelined request is never served; a 413 answered
  before the body was read closes the connection too.
- Item 3 (streamed responses): clients that stop reading, leave half-way, or read it all,
  for a sync controller (in the thread pool) and an async one (awaiting each write).

A server that is not installed is skipped (httptools is optional for uvicorn).
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Iterator

import pytest

from ..support import ServerProcess, free_port
from . import hostile_checks as checks

TARGET = "tests.asgi.hostile_app:app"
SERVERS = ("uvicorn-h11", "uvicorn-httptools", "hypercorn")
#: What each server needs importable.
_NEEDS = {"uvicorn-h11": ("uvicorn", "h11"), "uvicorn-httptools": ("uvicorn", "httptools"),
          "hypercorn": ("hypercorn",)}


def _command(name: str, port: int) -> list[str]:
    if name.startswith("uvicorn"):
        return [sys.executable, "-m", "uvicorn", TARGET, "--host", "127.0.0.1", "--port", str(port),
                "--http", name.split("-", 1)[1], "--log-level", "warning", "--no-access-log"]
    return [sys.executable, "-m", "hypercorn", TARGET, "--bind", f"127.0.0.1:{port}", "--log-level", "warning"]


@pytest.fixture(scope="module", params=SERVERS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    name: str = request.param
    for module in _NEEDS[name]:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")
    port = free_port()
    folder: Path = tmp_path_factory.mktemp(name)
    served = ServerProcess(name, _command(name, port), port, folder / "server.log")
    try:
        served.wait_ready()
        yield served
    finally:
        served.stop()


@pytest.fixture
def streaming_server(server: ServerProcess) -> ServerProcess:
    """The servers the streaming checks run on (httptools frames responses as h11 does)."""
    if server.name == "uvicorn-httptools":
        pytest.skip("streaming is checked on uvicorn-h11 and hypercorn")
    return server


# -- item 6: nothing is served behind a refused request ----------------------------------------------
def test_te_and_cl_is_refused_and_closes(server: ServerProcess) -> None:
    checks.check_refused_and_closed(server.port, checks.TE_CL, 400)


def test_a_head_the_core_refuses_closes(server: ServerProcess) -> None:
    received = checks.check_refused_and_closed(server.port, checks.BAD_ESCAPE, 400)
    assert b"\r\nconnection: close\r\n" in received.lower()


def test_413_before_the_body_closes(server: ServerProcess) -> None:
    received = checks.check_body_too_large_closes(server.port)
    assert b"\r\nconnection: close\r\n" in received.lower()


# -- item 3: streamed responses ----------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/stream", "/astream"])
def test_slow_readers_are_given_up_without_buffering(streaming_server: ServerProcess, path: str) -> None:
    checks.check_slow_readers(streaming_server.port, path, f"slow{path[1:]}")


@pytest.mark.parametrize("path", ["/stream", "/astream"])
def test_a_client_that_leaves_mid_stream_is_noticed(streaming_server: ServerProcess, path: str) -> None:
    checks.check_partial_reader(streaming_server.port, path, f"partial{path[1:]}")


@pytest.mark.parametrize("path", ["/stream", "/astream"])
def test_a_fast_reader_gets_the_whole_body(streaming_server: ServerProcess, path: str) -> None:
    checks.check_fast_reader(streaming_server.port, path, f"fast{path[1:]}")
