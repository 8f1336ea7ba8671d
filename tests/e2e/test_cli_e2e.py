"""``python -m naja_atra``: the route table and a served project, in subprocesses."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ..support import free_port, stop_process

CONTROLLERS = '''
from naja_atra import route

@route("/hello")
def hello():
    return "hello from the cli"

@route("/items/{item_id}", method="POST")
def item(item_id):
    return item_id
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "shop_controller.py").write_text(CONTROLLERS)
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "robots.txt").write_text("User-agent: *\n")
    return tmp_path


def test_routes_option_prints_the_table(project: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "naja_atra", "-s", str(project), "--routes"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    lines = [line.split() for line in done.stdout.splitlines()]
    assert ["*", "/hello", "shop_controller.hello"] in lines
    assert ["POST", "/items/{item_id}", "shop_controller.item"] in lines


@pytest.mark.parametrize("extra", [[], ["--prefer-coroutine"]])
def test_cli_serves_a_scanned_project(project: Path, extra: list[str]) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "naja_atra", "-s", str(project), "-b", "127.0.0.1",
                             "-p", str(port), "-r", str(project / "public"), *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/hello", timeout=2) as r:
                    assert r.read() == b"hello from the cli"
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "the CLI server did not start"
                time.sleep(0.1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/robots.txt", timeout=2) as r:
            assert r.read() == b"User-agent: *\n"
    finally:
        try:
            assert stop_process(proc, 10) == 0  # SIGTERM: the CLI stops the server and exits
        finally:
            if proc.stderr:
                proc.stderr.close()


def test_plugins_option_lists_builtins_and_entry_points(project: Path,
                                                      tmp_path_factory: pytest.TempPathFactory) -> None:
    dist_root = tmp_path_factory.mktemp("site")  # outside the scanned project
    (dist_root / "cliplug_mod.py").write_text(
        "import naja_atra\n\n@naja_atra.hookimpl\ndef naja_atra_route_added(app, route):\n    pass\n")
    info = dist_root / "cliplug-3.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cliplug\nVersion: 3.1\n")
    (info / "entry_points.txt").write_text("[naja_atra]\ncliplug = cliplug_mod\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAJA_ATRA_")}
    env["PYTHONPATH"] = os.pathsep.join([str(dist_root), *sys.path])
    done = subprocess.run([sys.executable, "-m", "naja_atra", "-s", str(project), "--plugins"],
                          capture_output=True, text=True, timeout=30, env=env)
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines()}
    assert lines["cliplug"].split(None, 1)[1] == "cliplug 3.1: naja_atra_route_added"
    assert "naja_atra_make_router" in lines["naja_atra.routing"]
    assert set(lines) >= {"naja_atra.routing", "naja_atra.resolvers", "naja_atra.sessions", "naja_atra.errors",
                          "naja_atra.filters", "naja_atra.render", "naja_atra.static", "naja_atra.websocket",
                          "naja_atra.servers", "naja_atra.openapi"}
