"""Build a virtualenv with a working Autobahn|Testsuite ``wstest``.

``autobahntestsuite`` is Python 2.7 code whose package declares no dependency versions, so a
plain ``pip install`` gives a ``wstest`` that cannot import. This builds a Python 2.7
virtualenv (with ``virtualenv`` < 20.22, the last line that creates 2.7 environments) and
installs the suite with the versions of its dependencies that work with Autobahn 0.10.9,
the library it was written for.

Python 2.7 is taken from ``$PY2``, else pyenv's 2.7.18, else ``python2.7`` on the PATH.
Run it alone with ``python tests/conformance/wstest_install.py [VENV]``; ``run_autobahn.py``
calls :func:`install` when it finds no working ``wstest``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

__all__ = ["InstallError", "find_python27", "install", "wstest_works"]

#: Versions known to work together with autobahn 0.10.9 on Python 2.7.
PINS = {
    "autobahn": "0.10.9",
    "txaio": "2.1.0",
    "incremental": "16.10.1",
    "Twisted": "19.10.0",
    "zope.interface": "4.6.0",
    "pyOpenSSL": "19.1.0",
    "cryptography": "3.3.2",
    "service_identity": "18.1.0",
    "klein": "17.10.0",
    "Werkzeug": "1.0.1",
    "jinja2": "2.11.3",
    "markupsafe": "1.1.1",
    "unittest2": "1.1.0",
    "six": "1.16.0",
}
SUITE = "autobahntestsuite==25.10.1"
#: Bound of one pip or virtualenv step (s): a slow index must not hang CI.
STEP_TIMEOUT = 600.0


class InstallError(RuntimeError):
    """The virtualenv could not be built."""


def wstest_works(path: str) -> bool:
    """True when ``path -a`` (print the Autobahn versions) succeeds within a minute."""
    try:
        done = subprocess.run([path, "-a"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _is_python27(path: str) -> bool:
    try:
        done = subprocess.run([path, "-c", "import sys; sys.exit(sys.version_info[:2] != (2, 7))"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def find_python27() -> Optional[str]:
    """A Python 2.7 interpreter: ``$PY2``, pyenv's 2.7.18, or ``python2.7`` on the PATH."""
    candidates = [os.environ.get("PY2", "")]
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            root = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            root = ""
        if root:
            candidates.append(os.path.join(root, "versions", "2.7.18", "bin", "python2.7"))
    candidates.append(shutil.which("python2.7") or "")
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK) and _is_python27(candidate):
            return candidate
    return None


def _step(command: list[str], what: str, env: Optional[dict[str, str]] = None) -> None:
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=STEP_TIMEOUT, check=False, env=env)
    except subprocess.TimeoutExpired as exc:
        raise InstallError(f"{what} did not finish in {STEP_TIMEOUT:.0f} s") from exc
    if done.returncode != 0:
        tail = "\n".join(line for line in done.stdout.splitlines() if "is ignored" not in line)[-3000:]
        raise InstallError(f"{what} failed ({done.returncode}):\n{tail}")


def install(venv: Path) -> str:
    """Build ``venv`` (unless its ``wstest`` already works) and return the ``wstest`` path."""
    wstest = str(venv / "bin" / "wstest")
    if wstest_works(wstest):
        return wstest
    python27 = find_python27()
    if python27 is None:
        raise InstallError("no Python 2.7 found for wstest (set PY2=/path/to/python2.7)")
    started = time.monotonic()
    print(f"wstest: building {venv} with {python27} ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="wstest-tools-") as tools:
        _step([python27, "-m", "pip", "install", "-q", "--target", tools, "virtualenv<20.22"], "installing virtualenv")
        _step([python27, "-m", "virtualenv", "-q", str(venv)], "creating the virtualenv",
              env={**os.environ, "PYTHONPATH": tools})
    pip = str(venv / "bin" / "pip")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", prefix="wstest-pins-", delete=False) as pins:
        pins.write("".join(f"{name}=={version}\n" for name, version in PINS.items()))
    try:
        packages = [name for name in PINS if name != "autobahn"] + ["autobahn[twisted,accelerate]"]
        _step([pip, "install", "-q", "-c", pins.name, *packages], "installing autobahn and its dependencies")
    finally:
        os.unlink(pins.name)
    _step([pip, "install", "-q", "--no-deps", SUITE], "installing autobahntestsuite")
    if not wstest_works(wstest):
        raise InstallError(f"{wstest} does not run after the install")
    print(f"wstest: built in {time.monotonic() - started:.0f} s", flush=True)
    return wstest


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/wstest-venv")
    try:
        print(install(target))
    except InstallError as error:
        print(f"wstest_install: {error}", file=sys.stderr)
        sys.exit(2)
