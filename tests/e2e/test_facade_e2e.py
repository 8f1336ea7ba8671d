"""End to end: the module-level facade (``from naja_atra import route, ...`` and
``naja_atra.server``, as naja-atra 1.x programs use it), each case in its own Python process
so ``naja_atra.default_app`` starts empty. Every wait is bounded; every process is ended by
its PID."""

import textwrap
from pathlib import Path
from typing import Any, Optional

import pytest

from ..support import Client, ScriptProcess, free_port, port_open

CONTROLLER_MODULE = '''
import asyncio

from naja_atra import (Headers, HttpError, Parameter, PathValue, Redirect, controller, request,
                       request_map, route)


@route("/")
def index():
    return {"hello": "world"}


@request_map("/say_hello", method=["GET", "POST"])
def say_hello(name=Parameter("name", default="KEIJACK")):
    return "<!DOCTYPE html><html><body>hello, %s</body></html>" % name


@controller
@request_map("/obj", method="GET")
class MyController:

    def __init__(self) -> None:
        self._name = "ctr object"
        self.calls = 0

    @request_map
    def my_ctrl_default_mth(self, name: str):
        self.calls += 1
        return {"message": f"hello, {name}, {self._name} says. ", "calls": self.calls}


@request_map("/a/b/{path_val}/x")
def my_path_val_ctr(path_val=PathValue()):
    return f"<html><body>{path_val}</body></html>"


@request("/exact_params", method="GET", params="a=b")
def exact_params(a: str):
    return {"result": "ok", "a": a}


@request_map("/中文/coroutine")
async def coroutine_ctrl(hey: str = "Hey!"):
    await asyncio.sleep(0)
    return f"Success! {hey}"


@request_map("/exception")
def exception_ctrl():
    raise HttpError(400, "Exception")


@request_map("/redirect")
def redirect():
    return Redirect("/")


@request_map("/tuple")
def tuple_results():
    return 200, Headers({"my-header": "headers"}), {"success": True}
'''

HELPER_MODULE = '''
from naja_atra import route


@route("/not-scanned")
def not_scanned():
    return "this module's name does not match the scan expression"
'''

MAIN_SCAN_START = '''
import sys

import naja_atra.server as server


def main(*args):
    server.scan("my_ctr_pkg", r".*controller.*")
    print("SCANNED", flush=True)
    server.start(host="127.0.0.1", port=int(sys.argv[1]), prefer_coroutine=sys.argv[2] == "asyncio")


if __name__ == "__main__":
    main()
'''

MAIN_START_ASYNC = '''
import asyncio
import os
import sys
import threading
import time

import naja_atra.server as server
from naja_atra import route

_SAY_LOCK = threading.Lock()


def say(*parts):
    """One marker line, written whole even when two threads print at once."""
    with _SAY_LOCK:
        sys.stdout.write(" ".join(str(p) for p in parts) + "\\n")
        sys.stdout.flush()


PORT = int(sys.argv[1])
MAIN_LOOP = []
TICKS = []


@route("/ping")
async def ping():
    await asyncio.sleep(0)
    return {"pong": True, "same_loop": asyncio.get_running_loop() is MAIN_LOOP[0], "ticking": len(TICKS) > 0}


def watcher():
    deadline = time.monotonic() + 10
    while not server.is_ready():
        if time.monotonic() > deadline:
            say("NOT READY")
            os._exit(3)
        time.sleep(0.01)
    say("READY", server.is_ready())
    sys.stdin.readline()  # the test says when
    say("STOPPING")
    server.stop()
    say("STOP RETURNED")


async def ticker():
    while True:
        TICKS.append(1)
        await asyncio.sleep(0.01)


async def main():
    MAIN_LOOP.append(asyncio.get_running_loop())
    say("IS_READY_BEFORE", server.is_ready())
    tick = asyncio.ensure_future(ticker())
    WATCHER.start()
    await server.start_async(host="127.0.0.1", port=PORT, prefer_coroutine=True)
    say("START_ASYNC RETURNED")
    tick.cancel()


WATCHER = threading.Thread(target=watcher, daemon=True)
asyncio.run(main())
WATCHER.join(10)
say("EXITED")
'''

MAIN_START_STOP_FROM_THREAD = '''
import os
import sys
import threading
import time

import naja_atra.server as server
from naja_atra import route

_SAY_LOCK = threading.Lock()


def say(*parts):
    """One marker line, written whole even when two threads print at once."""
    with _SAY_LOCK:
        sys.stdout.write(" ".join(str(p) for p in parts) + "\\n")
        sys.stdout.flush()


@route("/")
def index():
    return {"hello": "world"}


def watcher():
    deadline = time.monotonic() + 10
    while not server.is_ready():
        if time.monotonic() > deadline:
            say("NOT READY")
            os._exit(3)
        time.sleep(0.01)
    say("READY", server.is_ready())
    sys.stdin.readline()
    say("STOPPING")
    server.stop()
    say("STOP RETURNED")


say("IS_READY_BEFORE", server.is_ready())
WATCHER = threading.Thread(target=watcher, daemon=True)
WATCHER.start()
server.start(host="127.0.0.1", port=int(sys.argv[1]), prefer_coroutine=sys.argv[2] == "asyncio")
say("START RETURNED")
WATCHER.join(10)
say("EXITED")
'''


def get(port: int, path: str, method: str = "GET", body: Any = None,
        headers: Optional[dict[str, str]] = None) -> tuple[int, dict[str, str], bytes]:
    reply = Client(port).request(method, path, body, headers)
    return reply.status, {k.lower(): v for k, v in reply.headers.items()}, reply.body


def port_is_closed(port: int) -> bool:
    return not port_open(port, timeout=1)


def script_process(project: Path, name: str, *args: str) -> ScriptProcess:
    """``project/name`` run with ``args``; it reads its stdin."""
    return ScriptProcess(project / name, *args, stdin=True)


def write_project(root: Path) -> Path:
    package = root / "my_ctr_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("", "utf-8")
    (package / "user_controller.py").write_text(textwrap.dedent(CONTROLLER_MODULE), "utf-8")
    (package / "helpers.py").write_text(textwrap.dedent(HELPER_MODULE), "utf-8")
    (root / "main.py").write_text(textwrap.dedent(MAIN_SCAN_START), "utf-8")
    (root / "main_async.py").write_text(textwrap.dedent(MAIN_START_ASYNC), "utf-8")
    (root / "main_stop.py").write_text(textwrap.dedent(MAIN_START_STOP_FROM_THREAD), "utf-8")
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path)


def test_scan_then_start_serves_the_example_controllers(project: Path, driver: str) -> None:
    port = free_port()
    script = script_process(project, "main.py", str(port), driver)
    try:
        script.wait_for_line("SCANNED")
        script.wait_for_port(port)

        status, headers, body = get(port, "/")
        assert (status, body) == (200, b'{"hello": "world"}')
        assert headers["content-type"] == "application/json; charset=utf-8"

        assert get(port, "/say_hello")[2] == b"<!DOCTYPE html><html><body>hello, KEIJACK</body></html>"
        status, _, body = get(port, "/say_hello", "POST", "name=kj",
                              {"Content-Type": "application/x-www-form-urlencoded"})
        assert (status, body) == (200, b"<!DOCTYPE html><html><body>hello, kj</body></html>")

        assert get(port, "/obj?name=a")[2] == b'{"message": "hello, a, ctr object says. ", "calls": 1}'
        assert get(port, "/obj?name=b")[2] == b'{"message": "hello, b, ctr object says. ", "calls": 2}'
        status, headers, _ = get(port, "/obj", "POST", b"")
        assert status == 405
        assert headers["allow"] == "GET, HEAD"

        assert get(port, "/a/b/xyz/x")[2] == b"<html><body>xyz</body></html>"
        assert get(port, "/exact_params?a=b")[2] == b'{"result": "ok", "a": "b"}'
        assert get(port, "/exact_params?a=c")[0] == 404
        assert get(port, "/%E4%B8%AD%E6%96%87/coroutine?hey=yo")[2] == b"Success! yo"
        assert get(port, "/exception")[0] == 400
        status, headers, _ = get(port, "/redirect")
        assert (status, headers["location"]) == (302, "/")
        status, headers, body = get(port, "/tuple")
        assert (status, headers["my-header"], body) == (200, "headers", b'{"success": true}')

        # Only modules matching the scan expression were imported.
        assert get(port, "/not-scanned")[0] == 404
    finally:
        script.end()
    assert script.proc.returncode is not None
    assert port_is_closed(port)


def test_start_async_in_asyncio_run_with_is_ready_and_stop_from_a_thread(project: Path) -> None:
    port = free_port()
    script = script_process(project, "main_async.py", str(port))
    try:
        script.wait_for_line("IS_READY_BEFORE")
        script.wait_for_line("READY")
        status, _, body = get(port, "/ping")
        assert status == 200
        assert body == b'{"pong": true, "same_loop": true, "ticking": true}'
        script.send("stop\n")
        lines = script.rest_of_output()
        assert script.proc.returncode == 0, script.stderr()
    finally:
        script.end()
    assert lines[:3] == ["IS_READY_BEFORE False", "READY True", "STOPPING"], lines
    assert sorted(lines[3:5]) == ["START_ASYNC RETURNED", "STOP RETURNED"], lines
    assert lines[5:] == ["EXITED"], lines
    assert port_is_closed(port)


def test_start_then_stop_from_a_thread(project: Path, driver: str) -> None:
    port = free_port()
    script = script_process(project, "main_stop.py", str(port), driver)
    try:
        script.wait_for_line("IS_READY_BEFORE")
        script.wait_for_line("READY")
        status, _, body = get(port, "/")
        assert (status, body) == (200, b'{"hello": "world"}')
        script.send("stop\n")
        lines = script.rest_of_output()
        assert script.proc.returncode == 0, script.stderr()
    finally:
        script.end()
    assert lines[:3] == ["IS_READY_BEFORE False", "READY True", "STOPPING"], lines
    assert sorted(lines[3:5]) == ["START RETURNED", "STOP RETURNED"], lines
    assert lines[5:] == ["EXITED"], lines
    assert port_is_closed(port)
