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


def _installed(tmp_path_factory: pytest.TempPathFactory, module: str, name: str = "optplug") -> dict[str, str]:
    """An installed distribution whose ``naja_atra`` entry point is ``module`` (its code):
    a ``.dist-info`` folder on ``PYTHONPATH``, as pip leaves one; the environment to run with."""
    dist_root = tmp_path_factory.mktemp("site")
    (dist_root / f"{name}_mod.py").write_text(module)
    info = dist_root / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[naja_atra]\n{name} = {name}_mod\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAJA_ATRA_")}
    env["PYTHONPATH"] = os.pathsep.join([str(dist_root), *sys.path])
    return env


OPTION_PLUGIN = '''
import naja_atra

@naja_atra.hookimpl
def naja_atra_add_cli_options(parser):
    parser.add_argument("--greeting", default="hi")

@naja_atra.hookimpl
def naja_atra_configure(app):
    greeting = app.cli_args.greeting if app.cli_args is not None else "none"

    @app.route("/greet/" + greeting)
    def greet():
        return greeting
'''


def test_an_installed_plugins_option_is_accepted(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    env = _installed(tmp_path_factory, OPTION_PLUGIN)
    done = subprocess.run([sys.executable, "-m", "naja_atra", "-s", str(project), "--greeting", "salut", "--routes"],
                          capture_output=True, text=True, timeout=30, env=env)
    assert done.returncode == 0, done.stderr
    assert any(line.split()[1:2] == ["/greet/salut"] for line in done.stdout.splitlines()), done.stdout
    helped = subprocess.run([sys.executable, "-m", "naja_atra", "--help"], capture_output=True, text=True,
                            timeout=30, env=env)
    assert "--greeting" in helped.stdout


def test_plugins_lists_without_importing_the_project(tmp_path: Path,
                                                     tmp_path_factory: pytest.TempPathFactory) -> None:
    """A folder whose modules cannot be imported (a benchmark needing flask, say), and a
    blocked plugin: ``--plugins`` still lists, marks the blocked one, and imports nothing."""
    (tmp_path / "needs_flask.py").write_text("import flask_that_is_not_installed\n")
    env = _installed(tmp_path_factory, "import naja_atra\n")
    env["NAJA_ATRA_DISABLED_PLUGINS"] = "optplug"
    done = subprocess.run([sys.executable, "-m", "naja_atra", "-s", str(tmp_path), "--plugins"],
                          capture_output=True, text=True, timeout=30, env=env)
    assert done.returncode == 0, done.stderr
    assert "flask_that_is_not_installed" not in done.stdout + done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines()}
    assert lines["optplug"].endswith("(blocked)")
    assert "naja_atra.routing" in lines


def test_routes_reports_a_failed_import_with_module_and_file(project: Path) -> None:
    """With ``--scan-errors raise`` one line names the module, its file and the error (the
    default, ``log``, logs the same with its traceback and lists the other routes: 1.x's way)."""
    broken = project / "broken_controller.py"
    broken.write_text("from naja_atra import route\n\nraise RuntimeError('half-written controller')\n")
    done = subprocess.run([sys.executable, "-m", "naja_atra", "-s", str(project), "--routes", "--scan-errors", "raise"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    error_lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, done.stderr
    assert "'broken_controller'" in error_lines[0] and str(broken) in error_lines[0]
    assert "RuntimeError: half-written controller" in error_lines[0]
    assert "Traceback" not in done.stderr
