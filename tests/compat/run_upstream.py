"""Run naja-atra 1.2.2's own test suite against this package (a compatibility check).

usage: python tests/compat/run_upstream.py SUITE_DIR [--timeout SECONDS] [-- PYTEST_ARGS...]

SUITE_DIR holds the ``tests/`` folder of the naja-atra repository at tag 1.2.2
(``test_all_ctrls.py``, ``ctrls/``, ``static/``). It is not part of this repository: CI
passes its path. The suite imports itself as the package ``tests``, so it is copied to a
scratch folder as ``tests/``; the only change made to it is the two server ports
(``PORT = 9090`` / ``PORT = 9091``), replaced by free ports of 127.0.0.1. It then runs with
pytest in that folder, against the ``naja_atra`` installed in this interpreter, with a time
bound, and the scratch folder is removed. The exit status is pytest's (124 on timeout,
2 for a bad SUITE_DIR).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
if sys.path[:1] != [str(REPO_ROOT)]:  # run as a script: ``tests.support`` comes from this checkout
    sys.path.insert(0, str(REPO_ROOT))

from tests.support import free_port, stop_process  # noqa: E402

PORT_LINE = re.compile(r"^(\s*PORT\s*=\s*)(\d+)\s*$", re.MULTILINE)
DEFAULT_TIMEOUT = 600.0


def prepare(suite: Path, scratch: Path) -> list[int]:
    """Copy ``suite`` to ``scratch/tests`` with free ports; the ports used."""
    target = scratch / "tests"
    shutil.copytree(suite, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for path in target.rglob("*"):  # the copy must be writable (the suite writes files beside itself)
        path.chmod(path.stat().st_mode | 0o200)
    target.chmod(target.stat().st_mode | 0o200)
    main = target / "test_all_ctrls.py"
    text = main.read_text(encoding="utf-8")
    ports: list[int] = []

    def replace(match: re.Match[str]) -> str:
        port = free_port()
        while port in ports:
            port = free_port()
        ports.append(port)
        return f"{match.group(1)}{port}"

    main.write_text(PORT_LINE.sub(replace, text), encoding="utf-8")
    if len(ports) != 2:
        raise SystemExit(f"expected two PORT lines in {main}, found {len(ports)}")
    return ports


def main(argv: list[str]) -> int:
    """Run the suite; returns pytest's exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", type=Path, help="the 1.2.2 tests/ folder")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="bound of the whole run (s)")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: arguments for pytest")
    args = parser.parse_args(argv)
    if not (args.suite / "test_all_ctrls.py").is_file():
        print(f"run_upstream: no test_all_ctrls.py in {args.suite}", file=sys.stderr)
        return 2
    extra = [a for a in args.pytest_args if a != "--"]
    with tempfile.TemporaryDirectory(prefix="naja-atra-upstream-") as scratch:
        ports = prepare(args.suite, Path(scratch))
        print(f"upstream 1.2.2 suite from {args.suite} on ports {ports[0]} and {ports[1]}", flush=True)
        env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", *extra]
        process = subprocess.Popen(command, cwd=scratch, env=env)
        try:
            return process.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            print(f"run_upstream: the suite did not finish within {args.timeout:.0f} s", file=sys.stderr)
            stop_process(process)
            return 124


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
