"""Run the Autobahn|Testsuite fuzzing client against naja_atra's WebSocket server.

For each mode (``threading``, ``asyncio``) this starts ``echo_app.py`` on a free port of
127.0.0.1 in a subprocess, runs ``wstest -m fuzzingclient`` against it with a time bound,
reads the report's ``index.json`` and prints a summary. With ``--url`` it tests a server that
is already running instead (to compare with other implementations).

Exit status: 0 when every case passed, 1 when a case FAILED, was UNIMPLEMENTED outside the
optional sections (12 and 13, permessage-deflate), was not run at all, or a run broke (server
did not start, wstest timed out or wrote no report); 2 when wstest cannot be found or installed.

``wstest`` is Python 2.7 code: it is taken from ``--wstest`` or ``$WSTEST``, else from the
virtualenv ``wstest_install.py`` (beside this file) builds, built first when it is missing or
broken. See README.md beside this file.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
if sys.path[:1] != [str(REPO_ROOT)]:  # run as a script: ``tests.support`` comes from this checkout
    sys.path.insert(0, str(REPO_ROOT))

from tests.conformance.wstest_install import InstallError, wstest_works  # noqa: E402
from tests.conformance.wstest_install import install as install_wstest  # noqa: E402
from tests.support import free_port, python_env, stop_process, wait_for_port  # noqa: E402

ECHO_APP = HERE / "echo_app.py"
DEFAULT_WSTEST_VENV = Path("/tmp/wstest-venv")

DEFAULT_CASES = ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "10.*"]
ALL_CASES = ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "9.*", "10.*", "12.*", "13.*"]
#: Sections whose cases may be UNIMPLEMENTED: 12 and 13 need permessage-deflate, which is optional.
OPTIONAL_SECTIONS = ("12", "13")
MODES = ("threading", "asyncio")
BEHAVIORS = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED")
#: Closing behaviours that are a problem; with ``--strict-close`` they fail the case.
BAD_CLOSE = ("FAILED", "UNCLEAN", "WRONG CODE")
MISSING = "MISSING"
MISSING_SHOWN = 10

SERVER_START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
POLL_INTERVAL = 0.5
#: What wstest prints when the case patterns match nothing.
NO_CASES = "Cases = []"


class HarnessError(Exception):
    """wstest is unusable: the run cannot start at all."""


@dataclass
class RunResult:
    """What one wstest run against one server found."""

    agent: str
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)
    expected: list[str] = field(default_factory=list)
    error: Optional[str] = None
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        """Number of cases per behaviour, plus the expected cases that have no result."""
        counts = dict.fromkeys((*BEHAVIORS, MISSING), 0)
        for case in self.cases.values():
            counts[case["behavior"]] = counts.get(case["behavior"], 0) + 1
        counts[MISSING] = len(self.missing())
        return counts

    def missing(self) -> list[str]:
        """Cases wstest announced but did not report (it stops a server's run when a connect fails)."""
        return [case_id for case_id in self.expected if case_id not in self.cases]

    def failing(self, strict_close: bool = False) -> list[tuple[str, str, str]]:
        """``(case id, behavior, behaviorClose)`` of every case that counts as a failure."""
        return [(case_id, case["behavior"], case["behaviorClose"])
                for case_id, case in sorted(self.cases.items(), key=lambda item: case_key(item[0]))
                if is_failure(case_id, case, strict_close)]

    def close_warnings(self) -> list[tuple[str, str, str]]:
        """Cases that passed but whose closing handshake was FAILED, UNCLEAN or a WRONG CODE."""
        return [(case_id, case["behavior"], case["behaviorClose"])
                for case_id, case in sorted(self.cases.items(), key=lambda item: case_key(item[0]))
                if not is_failure(case_id, case, False) and case["behaviorClose"] in BAD_CLOSE]

    def passed(self, strict_close: bool = False) -> bool:
        """True when the run worked, every expected case has a result and none failed."""
        return self.error is None and not self.missing() and not self.failing(strict_close)


def case_key(case_id: str) -> tuple[int, ...]:
    """Sort key of a case id such as ``"6.4.10"``."""
    return tuple(int(part) for part in case_id.split(".") if part.isdigit())


def is_failure(case_id: str, case: dict[str, Any], strict_close: bool) -> bool:
    """Whether one reported case counts as a failure."""
    behavior = case["behavior"]
    if behavior == "FAILED":
        return True
    if behavior == "UNIMPLEMENTED":
        return case_id.split(".")[0] not in OPTIONAL_SECTIONS
    return strict_close and case["behaviorClose"] in BAD_CLOSE


# -- wstest -------------------------------------------------------------------------------------


def find_wstest(explicit: Optional[str], venv: Path) -> str:
    """The wstest to use: ``--wstest``/``$WSTEST``, else the one in ``venv`` (built if needed
    by ``wstest_install.py``)."""
    explicit = explicit or os.environ.get("WSTEST")
    if explicit:
        if not wstest_works(explicit):
            raise HarnessError(f"wstest at {explicit} does not run (`{explicit} -a` failed)")
        return explicit
    try:
        return install_wstest(venv)
    except InstallError as error:
        raise HarnessError(str(error)) from error


def write_spec(path: Path, outdir: Path, agent: str, url: str, cases: Sequence[str]) -> None:
    """Write the fuzzingclient spec for one server."""
    spec = {
        "outdir": str(outdir),
        "servers": [{"agent": agent, "url": url}],
        "cases": list(cases),
        "exclude-cases": [],
        "exclude-agent-cases": {},
    }
    path.write_text(json.dumps(spec, indent=2), encoding="utf-8")


def announced_cases(log: str) -> list[str]:
    """The case ids wstest prints as ``Cases = [...]`` when it starts."""
    for line in log.splitlines():
        if line.startswith("Cases = "):
            return [str(case_id) for case_id in ast.literal_eval(line[len("Cases = "):])]
    return []


def read_report(outdir: Path, agent: str) -> dict[str, dict[str, Any]]:
    """The cases of ``agent`` in ``outdir/index.json`` (empty when the file is missing)."""
    index = outdir / "index.json"
    if not index.is_file():
        return {}
    return dict(json.loads(index.read_text(encoding="utf-8")).get(agent, {}))


def run_wstest(wstest: str, workdir: Path, agent: str, url: str, cases: Sequence[str],
               timeout: float) -> RunResult:
    """Run the fuzzing client against ``url`` and collect its report."""
    workdir.mkdir(parents=True, exist_ok=True)
    outdir = workdir / "report"
    spec = workdir / "spec.json"
    log_path = workdir / "wstest.log"
    write_spec(spec, outdir, agent, url, cases)
    result = RunResult(agent)
    started = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([wstest, "-m", "fuzzingclient", "-s", str(spec)], cwd=workdir,
                                env=dict(os.environ, PYTHONUNBUFFERED="1"),
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            code = wait_wstest(proc, log_path, timeout)
        finally:
            stop_process(proc, STOP_TIMEOUT)
    result.seconds = time.monotonic() - started
    text = log_path.read_text(encoding="utf-8", errors="replace")
    result.expected = announced_cases(text)
    result.cases = read_report(outdir, agent)
    result.error = run_error(code, timeout, result, text, log_path)
    return result


def wait_wstest(proc: subprocess.Popen[bytes], log_path: Path, timeout: float) -> Optional[int]:
    """Wait for wstest's exit status; None when it overran ``timeout`` or announced no case
    (with nothing to run, the fuzzing client never stops on its own)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return proc.wait(timeout=POLL_INTERVAL)
        except subprocess.TimeoutExpired:
            pass
        if time.monotonic() >= deadline or NO_CASES in log_path.read_text(encoding="utf-8", errors="replace"):
            return None


def run_error(code: Optional[int], timeout: float, result: RunResult, log: str, log_path: Path) -> Optional[str]:
    """Why a wstest run is broken as a whole, or None."""
    if code is not None and code != 0:
        return f"wstest exited {code}:\n{tail(log)}"
    if not result.expected:
        return f"wstest ran no case (do the --cases patterns match any?):\n{tail(log)}"
    if code is None:
        return f"wstest did not finish in {timeout:.0f} s (it writes no report before the end); see {log_path}"
    if not result.cases:
        return f"wstest wrote no result for agent {result.agent}:\n{tail(log)}"
    return None


# -- processes ----------------------------------------------------------------------------------


def wait_listening(proc: subprocess.Popen[bytes], port: int, timeout: float) -> Optional[str]:
    """Wait until 127.0.0.1:port accepts connections; the reason it did not, or None."""
    try:
        wait_for_port(port, timeout, proc)
    except AssertionError as problem:
        return str(problem)
    return None


def run_mode(mode: str, python: str, wstest: str, workdir: Path, cases: Sequence[str],
             timeout: float) -> RunResult:
    """Start ``echo_app.py`` in ``mode``, fuzz it, stop it."""
    workdir.mkdir(parents=True, exist_ok=True)
    agent = f"naja_atra-{mode}"
    port = free_port()
    server_log = workdir / "server.log"
    with open(server_log, "wb") as log:
        proc = subprocess.Popen([python, str(ECHO_APP), str(port), mode], cwd=REPO_ROOT,
                                env=python_env({"PYTHONUNBUFFERED": "1"}), stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            problem = wait_listening(proc, port, SERVER_START_TIMEOUT)
            if problem is not None:
                text = server_log.read_text(encoding="utf-8", errors="replace")
                return RunResult(agent, error=f"{problem}:\n{tail(text)}")
            print(f"[{agent}] server pid {proc.pid} on ws://127.0.0.1:{port}; running wstest ...", flush=True)
            result = run_wstest(wstest, workdir, agent, f"ws://127.0.0.1:{port}", cases, timeout)
            if result.error is None and proc.poll() is not None:
                result.error = f"server exited with status {proc.returncode} during the run; see {server_log}"
            return result
        finally:
            stop_process(proc, STOP_TIMEOUT)


# -- report -------------------------------------------------------------------------------------


def tail(text: str, lines: int = 20) -> str:
    """The last lines of a log, indented."""
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


def format_summary(results: Sequence[RunResult], strict_close: bool) -> str:
    """The per-agent table, then the failing cases, close warnings and broken runs."""
    columns = (*BEHAVIORS, MISSING, "total", "seconds")
    width = max([len("agent"), *(len(result.agent) for result in results)])
    lines = ["agent".ljust(width) + "".join(f"{name:>15}" for name in columns)]
    for result in results:
        counts = result.counts()
        values = [*(counts[name] for name in (*BEHAVIORS, MISSING)), len(result.cases) + counts[MISSING]]
        lines.append(result.agent.ljust(width) + "".join(f"{value:>15}" for value in values)
                     + f"{result.seconds:>15.1f}")
    for result in results:
        lines += format_details(result, strict_close)
    return "\n".join(lines)


def format_details(result: RunResult, strict_close: bool) -> list[str]:
    """Lines about one run: broken run, failing cases, close warnings."""
    lines = []
    if result.error is not None:
        lines += ["", f"{result.agent}: RUN ERROR: {result.error}"]
    missing = result.missing()
    if missing:
        shown = ", ".join(missing[:MISSING_SHOWN]) + (", ..." if len(missing) > MISSING_SHOWN else "")
        lines += ["", f"{result.agent}: {len(missing)} case(s) without a result: {shown}"]
    failing = result.failing(strict_close)
    if failing:
        lines += ["", f"{result.agent}: {len(failing)} failing case(s) (case, behavior, behaviorClose):"]
        lines += [f"  {case_id:<10} {behavior:<15} {close}" for case_id, behavior, close in failing]
    warnings = [] if strict_close else result.close_warnings()
    if warnings:
        lines += ["", f"{result.agent}: {len(warnings)} passing case(s) with a bad closing handshake:"]
        lines += [f"  {case_id:<10} {behavior:<15} {close}" for case_id, behavior, close in warnings]
    return lines


# -- command line -------------------------------------------------------------------------------


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    cases = parser.add_mutually_exclusive_group()
    cases.add_argument("--cases", help=f"comma-separated case patterns (default {','.join(DEFAULT_CASES)})")
    cases.add_argument("--all", action="store_true", help=f"run {','.join(ALL_CASES)}")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated server modes (default: %(default)s)")
    parser.add_argument("--url", help="test this already running server (ws://127.0.0.1:PORT) instead")
    parser.add_argument("--agent", default="external", help="agent name for --url (default: %(default)s)")
    parser.add_argument("--wstest", help="wstest executable (default: $WSTEST, else the venv of wstest_install.py)")
    parser.add_argument("--wstest-venv", type=Path, default=DEFAULT_WSTEST_VENV,
                        help="where wstest_install.py builds wstest (default: %(default)s)")
    parser.add_argument("--python", default=sys.executable, help="interpreter for echo_app.py (default: this one)")
    parser.add_argument("--timeout", type=float,
                        help="seconds one wstest run may take (default 600, 2400 with --all)")
    parser.add_argument("--report-dir", type=Path,
                        help="keep the wstest reports (HTML and JSON) and logs here (default: a temp dir, removed)")
    parser.add_argument("--strict-close", action="store_true",
                        help="also fail cases whose closing behaviour is FAILED, UNCLEAN or WRONG CODE")
    args = parser.parse_args(argv)
    args.case_list = ALL_CASES if args.all else split_list(args.cases) or DEFAULT_CASES
    args.mode_list = split_list(args.modes)
    unknown = sorted(set(args.mode_list) - set(MODES))
    if unknown or not args.mode_list:
        parser.error(f"--modes takes some of {','.join(MODES)}, not {args.modes!r}")
    if args.timeout is None:
        args.timeout = 2400.0 if args.all else 600.0
    return args


def split_list(text: Optional[str]) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def run_all(args: argparse.Namespace, wstest: str, workdir: Path) -> list[RunResult]:
    """One run against ``--url``, or one per mode against our own echo server."""
    if args.url:
        print(f"[{args.agent}] running wstest against {args.url} ...", flush=True)
        return [run_wstest(wstest, workdir / args.agent, args.agent, args.url, args.case_list, args.timeout)]
    return [run_mode(mode, args.python, wstest, workdir / mode, args.case_list, args.timeout)
            for mode in args.mode_list]


@contextlib.contextmanager
def report_dir(args: argparse.Namespace) -> Iterator[Path]:
    """Yield the directory for specs, reports and logs; a temp one is removed afterwards."""
    if args.report_dir is not None:
        args.report_dir.mkdir(parents=True, exist_ok=True)
        yield args.report_dir.resolve()
        return
    path = Path(tempfile.mkdtemp(prefix="naja-autobahn-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the suite; 0 all passed, 1 something failed, 2 wstest unavailable."""
    args = parse_args(argv)
    try:
        wstest = find_wstest(args.wstest, args.wstest_venv)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wstest: {wstest}; cases: {','.join(args.case_list)}; timeout {args.timeout:.0f} s per run", flush=True)
    started = time.monotonic()
    with report_dir(args) as workdir:
        results = run_all(args, wstest, workdir)
        print()
        print(format_summary(results, args.strict_close))
        if args.report_dir is not None:
            print(f"\nreports: {workdir}/<agent or mode>/report/index.html")
    passed = all(result.passed(args.strict_close) for result in results)
    print(f"\n{'PASSED' if passed else 'FAILED'} in {time.monotonic() - started:.1f} s")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
