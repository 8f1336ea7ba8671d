"""On-demand HTTP benchmark: this repository's naja_atra vs naja-atra 1.2.2 vs Starlette/h11.

    python3 benchmarks/http.py [--duration 5] [--connections 32] [--only ours ref starlette]

Every server runs the same app (``benchmarks/apps/naja_app.py``, or its
Starlette twin ``starlette_app.py``) in its own venv under ``benchmarks/.venvs``,
pinned to one CPU while the load generator (``wrk`` if available, otherwise
``benchmarks/loadgen.py``) runs pinned to another.  For each server and each
scenario it warms up, measures requests/s and p99 latency, and prints a table
plus a few ratios.  See ``benchmarks/README.md`` for how to read the output.
"""

from __future__ import annotations

import os
import sys

# This file shares its name with the stdlib package ``http``: take its folder off
# the import path so that any ``import http`` in this process gets the stdlib.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import argparse
import json
import platform
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
APPS_DIR = BENCH_DIR / "apps"
VENV_ROOT = BENCH_DIR / ".venvs"
LOADGEN = BENCH_DIR / "loadgen.py"
HOST = "127.0.0.1"
# Venv interpreters run isolated (-I: neither the working directory, the script's
# folder, PYTHON* variables nor the user site reach sys.path), so each imports only
# its own venv's packages: never, say, a naja_atra.egg-info where the harness runs.
ISOLATED = ("-I", "-u", "-B")
UVICORN_OPTIONS = ("--http", "h11", "--loop", "asyncio", "--log-level", "warning", "--no-access-log")
BUSY_LOADAVG = 0.5  # 1-minute load average above which the report warns about noise

# venv name -> requirements (None: this repository, reinstalled on every run)
VENV_REQUIREMENTS: dict[str, Optional[list[str]]] = {
    "ours": None,
    "ref": ["naja-atra==1.2.2"],
    "starlette": ["starlette", "uvicorn", "h11"],
}
# venv name -> distributions whose versions are reported
VENV_DISTRIBUTIONS = {
    "ours": ["naja-atra"],
    "ref": ["naja-atra"],
    "starlette": ["starlette", "uvicorn", "h11"],
}
# what is not copied when the repository is installed into the "ours" venv (besides
# top-level dot-folders and venvs, see repo_copy_ignore)
REPO_COPY_IGNORE = ("benchmarks", "tests", "docs", "examples", "build", "dist", "*.egg-info", "__pycache__", "*.pyc")


@dataclass(frozen=True)
class Scenario:
    """One URL to load, and a check that the server really serves it."""

    name: str
    path: str
    expect: str


SCENARIOS = (
    Scenario("hello", "/hello", "Hello, World!"),
    Scenario("json", "/json", '"message"'),
    Scenario("params", "/users/42?verbose=1", "user 42, verbose=1"),
    Scenario("route99", "/route99", "route 99"),
)


@dataclass(frozen=True)
class Target:
    """One server in one mode: a row of the result table."""

    key: str
    venv: str
    mode: str

    def command(self, python: Path, port: int) -> list[str]:
        """The argv that starts this server on ``port``."""
        address = ("--host", HOST, "--port", str(port))
        if self.venv == "starlette":
            app = ("starlette_app:app", "--app-dir", str(APPS_DIR))
            return [str(python), *ISOLATED, "-m", "uvicorn", *app, *address, *UVICORN_OPTIONS]
        return [str(python), *ISOLATED, str(APPS_DIR / "naja_app.py"), *address, "--mode", self.mode]


TARGETS = (
    Target("ours-threading", "ours", "threading"),
    Target("ours-asyncio", "ours", "asyncio"),
    Target("ours-asyncio-inline", "ours", "asyncio-inline"),
    Target("ref-threading", "ref", "threading"),
    Target("ref-coroutine", "ref", "asyncio"),
    Target("starlette-h11", "starlette", "asyncio"),
)

# (numerator, denominator) rows compared on the hello scenario
HELLO_RATIOS = (
    ("ours-asyncio", "ref-coroutine"),
    ("ours-asyncio", "starlette-h11"),
    ("ours-threading", "ref-threading"),
    ("ours-asyncio", "ours-asyncio-inline"),
)


class BenchError(Exception):
    """A failure that skips one server (or one scenario) but not the whole run.

    ``summary`` is the one line shown in the result table; the message has the details.
    """

    def __init__(self, message: str, summary: Optional[str] = None) -> None:
        super().__init__(message)
        self.summary = summary or first_line(message)


@dataclass
class Measurement:
    """What one load run against one URL produced."""

    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    requests: int = 0
    errors: int = 0
    reconnects: int = 0
    client_cpu: Optional[float] = None
    error: Optional[str] = None


@dataclass
class Report:
    """Everything measured in one run, as printed and saved."""

    meta: dict[str, object] = field(default_factory=dict)
    scenarios: list[str] = field(default_factory=list)
    versions: dict[str, dict[str, str]] = field(default_factory=dict)
    results: dict[str, dict[str, Measurement]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)


# --- small process helpers ---------------------------------------------------


def log(message: str) -> None:
    """Progress output (stderr, so stdout keeps only the report)."""
    print(message, file=sys.stderr, flush=True)


def usable_cpus(*cpus: int) -> bool:
    """True when every CPU given may be used by this process."""
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
    return all(cpu in allowed for cpu in cpus)


def pinning(cpu: Optional[int]) -> Optional[Callable[[], None]]:
    """A ``preexec_fn`` pinning the child (and all its threads) to ``cpu``."""
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def run_checked(cmd: list[str], what: str, timeout: float = 900.0) -> str:
    """Run ``cmd``; return its stdout, or raise BenchError with the tail of its output."""
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, cwd=VENV_ROOT
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"{what} did not finish within {timeout:g}s") from None
    if proc.returncode != 0:
        output = proc.stdout + proc.stderr
        raise BenchError(
            f"{what} failed (exit {proc.returncode}):\n{tail(output)}",
            f"{what} failed: {last_line(output)}",
        )
    return proc.stdout


def first_line(text: str) -> str:
    """The first non-blank line of ``text``."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def last_line(text: str) -> str:
    """The last non-blank line of ``text`` (where a traceback names its exception)."""
    return next((line.strip() for line in reversed(text.splitlines()) if line.strip()), "(no output)")


def tail(text: str, lines: int = 25) -> str:
    """The last ``lines`` lines of ``text``, indented."""
    kept = text.rstrip().splitlines()[-lines:]
    return "\n".join("    " + line for line in kept) or "    (no output)"


def free_port() -> int:
    """An unused TCP port on the loopback address."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# --- venvs -----------------------------------------------------------------------


def venv_python(name: str) -> Path:
    """The interpreter of venv ``name``."""
    return VENV_ROOT / name / "bin" / "python"


def create_venv(name: str) -> Path:
    """Create venv ``name`` unless it already works; return its interpreter."""
    python = venv_python(name)
    VENV_ROOT.mkdir(parents=True, exist_ok=True)
    if not python.exists():
        log(f"[venv] creating {VENV_ROOT / name}")
        shutil.rmtree(VENV_ROOT / name, ignore_errors=True)
        run_checked([sys.executable, "-m", "venv", str(VENV_ROOT / name)], f"creating venv {name}")
    return python


def pip_install(python: Path, args: list[str], what: str) -> None:
    """``pip install`` into the venv of ``python``."""
    run_checked([str(python), *ISOLATED, "-m", "pip", "install", "--disable-pip-version-check", "-q", *args], what)


def install_requirements(name: str, requirements: list[str]) -> Path:
    """Make venv ``name`` hold ``requirements``; skip pip when it already does."""
    python = create_venv(name)
    marker = VENV_ROOT / name / "bench-requirements.json"
    wanted = json.dumps(requirements)
    if marker.exists() and marker.read_text() == wanted:
        return python
    log(f"[venv] {name}: pip install {' '.join(requirements)}")
    pip_install(python, requirements, f"installing {requirements} into {name}")
    marker.write_text(wanted)
    return python


def repo_copy_ignore(folder: str, names: list[str]) -> set[str]:
    """``copytree`` filter: skip REPO_COPY_IGNORE, and at the top level dot-entries and venvs."""
    ignored = set(shutil.ignore_patterns(*REPO_COPY_IGNORE)(folder, names))
    if Path(folder) == REPO_DIR:
        ignored.update(n for n in names if n.startswith(".") or (REPO_DIR / n / "pyvenv.cfg").exists())
    return ignored


def install_repo(name: str) -> Path:
    """(Re)install this repository into venv ``name`` from a scratch copy.

    The copy keeps the build's ``build/`` and ``*.egg-info`` out of the work tree.
    """
    python = create_venv(name)
    with tempfile.TemporaryDirectory(prefix="naja-bench-src-") as scratch:
        source = Path(scratch) / "src"
        shutil.copytree(REPO_DIR, source, ignore=repo_copy_ignore)
        log(f"[venv] {name}: pip install {REPO_DIR} (fresh copy)")
        pip_install(python, [str(source)], f"installing {REPO_DIR} into {name}")
    return python


def prepare_venv(name: str, skip_install: bool) -> Path:
    """Return a ready interpreter for venv ``name`` (raises BenchError)."""
    if skip_install and venv_python(name).exists():
        return venv_python(name)
    requirements = VENV_REQUIREMENTS[name]
    if requirements is None:
        return install_repo(name)
    return install_requirements(name, requirements)


def installed_versions(python: Path, distributions: list[str]) -> dict[str, str]:
    """Versions of ``distributions`` as seen by ``python``."""
    code = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        "for d in sys.argv[1:]:\n"
        "    try: out[d] = m.version(d)\n"
        "    except m.PackageNotFoundError: out[d] = 'missing'\n"
        "print(json.dumps(out))"
    )
    try:
        return dict(json.loads(run_checked([str(python), *ISOLATED, "-c", code, *distributions], "version query", 60)))
    except (BenchError, ValueError):
        return {}


# --- servers ---------------------------------------------------------------------


class ServerProcess:
    """A server started in its own session, pinned to one CPU, always stopped by its PID."""

    def __init__(self, cmd: list[str], cpu: Optional[int], log_path: Path) -> None:
        self.cmd = cmd
        self.cpu = cpu
        self.log_path = log_path
        self.proc: Optional[subprocess.Popen[bytes]] = None

    def __enter__(self) -> ServerProcess:
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(
                self.cmd,
                cwd=APPS_DIR,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=pinning(self.cpu),
            )
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def output(self) -> str:
        """The server's combined stdout/stderr so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM by PID, then SIGKILL if it has not exited within 5 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def wait_ready(self, port: int, timeout: float) -> None:
        """Wait until the port accepts connections; raise BenchError with the output otherwise."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                output = self.output()
                raise BenchError(
                    f"server exited with code {code} before listening; its output:\n{tail(output)}",
                    f"exited with code {code}: {last_line(output)}",
                )
            try:
                socket.create_connection((HOST, port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise BenchError(
            f"server did not accept connections on {HOST}:{port} within {timeout:g}s; "
            f"its output:\n{tail(self.output())}",
            f"no connection accepted within {timeout:g}s",
        )


def fetch_once(port: int, path: str, timeout: float = 5.0) -> tuple[int, str]:
    """One ``Connection: close`` GET; return (status, body text)."""
    request = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n".encode()
    chunks = []
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(request)
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    try:
        status = int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        raise BenchError(f"GET {path}: unparsable response {raw[:200]!r}") from None
    return status, body.decode("utf-8", "replace")


def check_scenario(port: int, scenario: Scenario) -> None:
    """Make sure the server answers the scenario correctly before loading it."""
    try:
        status, body = fetch_once(port, scenario.path)
    except OSError as exc:
        raise BenchError(f"GET {scenario.path}: {exc}") from None
    if status != 200 or scenario.expect not in body:
        raise BenchError(
            f"GET {scenario.path}: status {status}, body {body[:200]!r} (expected 200 containing {scenario.expect!r})"
        )


# --- load generators -----------------------------------------------------------


def wrk_seconds(value: float) -> str:
    """wrk takes whole seconds."""
    return f"{max(1, round(value))}s"


_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def parse_wrk(output: str) -> Measurement:
    """Read requests/s, latency percentiles and errors from ``wrk --latency`` output.

    wrk counts a server closing a keep-alive connection as a socket "read" error;
    those are reported as reconnects, the other socket errors and non-2xx/3xx
    responses as errors.
    """

    def percentile(pct: str) -> float:
        match = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
        return float(match.group(1)) * _WRK_UNITS[match.group(2)] if match else 0.0

    def count(pattern: str) -> int:
        match = re.search(pattern, output)
        return int(match.group(1)) if match else 0

    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    if not rps or not total:
        raise BenchError(f"could not read wrk output:\n{tail(output)}")
    errors = sum(count(rf"\b{kind} (\d+)") for kind in ("connect", "write", "timeout"))
    return Measurement(
        rps=float(rps.group(1)),
        p50_ms=percentile("50"),
        p99_ms=percentile("99"),
        requests=int(total.group(1)),
        errors=errors + count(r"Non-2xx or 3xx responses: (\d+)"),
        reconnects=count(r"\bread (\d+)"),
    )


@dataclass(frozen=True)
class LoadSettings:
    """How hard and how long to load each URL."""

    tool: str  # "wrk" or "python"
    connections: int
    warmup: float
    duration: float
    cpu: Optional[int]


def run_wrk(url: str, settings: LoadSettings) -> Measurement:
    """Warm up with one wrk run, then measure with another."""
    base = ["wrk", "-t1", f"-c{settings.connections}"]
    timeout = settings.warmup + settings.duration + 60
    for seconds, extra in ((settings.warmup, []), (settings.duration, ["--latency"])):
        if seconds <= 0:
            continue
        proc = subprocess.run(
            [*base, f"-d{wrk_seconds(seconds)}", *extra, url],
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=pinning(settings.cpu),
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        if proc.returncode != 0:
            raise BenchError(f"wrk failed (exit {proc.returncode}):\n{tail(proc.stdout + proc.stderr)}")
    return parse_wrk(proc.stdout)


def run_python_loadgen(url: str, settings: LoadSettings) -> Measurement:
    """Run ``loadgen.py`` (warm-up and measurement in one process, same connections)."""
    timing = ("-c", str(settings.connections), "-w", str(settings.warmup), "-d", str(settings.duration))
    proc = subprocess.run(
        [sys.executable, "-I", str(LOADGEN), "--url", url, *timing],
        capture_output=True,
        text=True,
        timeout=settings.warmup + settings.duration + 60,
        preexec_fn=pinning(settings.cpu),
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    if proc.returncode != 0:
        raise BenchError(f"loadgen failed (exit {proc.returncode}):\n{tail(proc.stdout + proc.stderr)}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    fields = ("rps", "p50_ms", "p99_ms", "requests", "errors", "reconnects", "client_cpu")
    return Measurement(**{name: data[name] for name in fields if name in data})


def run_load(url: str, settings: LoadSettings) -> Measurement:
    """Load ``url`` with the chosen tool."""
    if settings.tool == "wrk":
        return run_wrk(url, settings)
    return run_python_loadgen(url, settings)


def install_wrk() -> bool:
    """Try ``apt-get install -y wrk`` once (after ``apt-get update`` if the first try fails)."""
    if shutil.which("apt-get") is None:
        log("[wrk] apt-get is not available")
        return False
    for step in (
        ["apt-get", "install", "-y", "wrk"],
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "wrk"],
    ):
        log(f"[wrk] {' '.join(step)}")
        result = subprocess.run(step, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if step[1] == "install" and result.returncode == 0:
            return shutil.which("wrk") is not None
    log(f"[wrk] installation failed:\n{tail(result.stdout + result.stderr)}")
    return False


def choose_load_tool(requested: str, may_install: bool) -> str:
    """``wrk`` when wanted and available (installing it if allowed), else ``python``."""
    if requested == "python":
        return "python"
    if shutil.which("wrk") is None and may_install:
        install_wrk()
    if shutil.which("wrk") is not None:
        return "wrk"
    if requested == "wrk":
        raise SystemExit("wrk is not on PATH (pass --install-wrk to try apt-get install -y wrk)")
    log("[load] wrk not found: using benchmarks/loadgen.py (pass --install-wrk to try installing wrk)")
    return "python"


# --- running -------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What every target goes through: scenarios, load, pinning, time limits."""

    scenarios: tuple[Scenario, ...]
    load: LoadSettings
    server_cpu: Optional[int]
    startup_timeout: float
    log_dir: Path


def bench_target(target: Target, python: Path, plan: Plan, results: dict[str, Measurement]) -> None:
    """Start one server, load each scenario into ``results``, stop it.

    Raises BenchError if the server does not start, or dies on the way.
    """
    port = free_port()
    with ServerProcess(target.command(python, port), plan.server_cpu, plan.log_dir / f"{target.key}.log") as server:
        server.wait_ready(port, plan.startup_timeout)
        for scenario in plan.scenarios:
            results[scenario.name] = bench_scenario(port, scenario, plan.load)
            log(f"[{target.key}] {scenario.name:8} {describe(results[scenario.name])}")
            if server.proc is not None and server.proc.poll() is not None:
                output = server.output()
                raise BenchError(
                    f"server died during {scenario.name}; its output:\n{tail(output)}",
                    f"died during {scenario.name}: {last_line(output)}",
                )


def bench_scenario(port: int, scenario: Scenario, settings: LoadSettings) -> Measurement:
    """Check, then load one scenario; a failure is recorded in the measurement."""
    try:
        check_scenario(port, scenario)
        return run_load(f"http://{HOST}:{port}{scenario.path}", settings)
    except (BenchError, subprocess.TimeoutExpired, ValueError, KeyError) as exc:
        return Measurement(error=str(exc))


def describe(m: Measurement) -> str:
    """One line for the progress log."""
    if m.error:
        return f"ERROR {m.error}"
    text = f"{m.rps:>10,.0f} req/s  p50 {m.p50_ms:.2f} ms  p99 {m.p99_ms:.2f} ms  ({m.requests} requests"
    text += f", {m.errors} errors" if m.errors else ""
    text += f", {m.reconnects} reconnects" if m.reconnects else ""
    text += f", client cpu {m.client_cpu:.0%}" if m.client_cpu is not None else ""
    return text + ")"


def prepare_venvs(targets: list[Target], skip_install: bool, report: Report) -> dict[str, Path]:
    """Prepare each needed venv; targets whose venv fails are recorded in ``report.failures``."""
    pythons: dict[str, Path] = {}
    for name in dict.fromkeys(t.venv for t in targets):
        try:
            pythons[name] = prepare_venv(name, skip_install)
        except BenchError as exc:
            log(f"[venv] {name}: {exc}")
            for target in targets:
                if target.venv == name:
                    report.failures[target.key] = f"venv {name}: {exc.summary}"
            continue
        report.versions[name] = installed_versions(pythons[name], VENV_DISTRIBUTIONS[name])
    return pythons


def run_all(args: argparse.Namespace, report: Report) -> None:
    """Benchmark every selected target, filling ``report`` as results come in."""
    targets = select_targets(args.only)
    scenarios = tuple(select_scenarios(args.scenarios))
    server_cpu, client_cpu = choose_cpus(args.server_cpu, args.client_cpu, report)
    tool = choose_load_tool(args.loadgen, args.install_wrk)
    load = LoadSettings(tool, args.connections, args.warmup, args.duration, client_cpu)
    report.meta.update(
        load_tool=tool,
        connections=load.connections,
        warmup_s=load.warmup,
        duration_s=load.duration,
        paths={s.name: s.path for s in scenarios},
    )
    report.scenarios = [s.name for s in scenarios]
    pythons = prepare_venvs(targets, args.skip_install, report)
    with tempfile.TemporaryDirectory(prefix="naja-bench-logs-") as log_dir:
        plan = Plan(scenarios, load, server_cpu, args.startup_timeout, Path(log_dir))
        for target in targets:
            if target.venv not in pythons:
                continue
            log(f"[{target.key}] starting")
            try:
                bench_target(target, pythons[target.venv], plan, report.results.setdefault(target.key, {}))
            except BenchError as exc:
                log(f"[{target.key}] FAILED: {exc}")
                report.failures[target.key] = exc.summary


def choose_cpus(server: int, client: int, report: Report) -> tuple[Optional[int], Optional[int]]:
    """The CPUs to pin to, or (None, None) when this machine cannot give two distinct ones."""
    if server != client and usable_cpus(server, client):
        report.meta.update(server_cpu=server, client_cpu=client)
        return server, client
    log(f"[cpu] cannot pin server to CPU {server} and load to CPU {client}: running unpinned")
    report.meta.update(server_cpu=None, client_cpu=None)
    return None, None


def select_targets(only: Optional[list[str]]) -> list[Target]:
    """The targets named by ``--only`` (a key, a key prefix or a venv name), else all."""
    if not only:
        return list(TARGETS)

    def matches(target: Target, token: str) -> bool:
        return token in (target.key, target.venv) or target.key.startswith(token + "-")

    tokens = [token for item in only for token in item.split(",") if token]
    chosen = [t for t in TARGETS if any(matches(t, tok) for tok in tokens)]
    unknown = [tok for tok in tokens if not any(matches(t, tok) for t in TARGETS)]
    if unknown or not chosen:
        raise SystemExit(
            f"--only: unknown {unknown}; choose from {[t.key for t in TARGETS]} or {sorted(VENV_REQUIREMENTS)}"
        )
    return chosen


def select_scenarios(names: Optional[str]) -> list[Scenario]:
    """The scenarios named by ``--scenarios`` (comma-separated), else all."""
    if not names:
        return list(SCENARIOS)
    wanted = [n for n in names.split(",") if n]
    known = {s.name: s for s in SCENARIOS}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise SystemExit(f"--scenarios: unknown {unknown}; choose from {list(known)}")
    return [known[n] for n in wanted]


# --- report --------------------------------------------------------------------


def format_table(report: Report) -> Iterator[str]:
    """The result table: one row per target, req/s and p99 per scenario."""
    scenarios = report.scenarios
    first = 16
    yield f"{'':{first}}" + "".join(f"{name:>22}" for name in scenarios)
    yield f"{'server / mode':{first}}" + "".join(f"{'req/s':>12}{'p99 ms':>10}" for _ in scenarios)
    for target in TARGETS:
        if target.key in report.failures:
            yield f"{target.key:{first}}  failed: {report.failures[target.key]}"
        elif target.key in report.results and not report.results[target.key]:
            yield f"{target.key:{first}}  (no results: interrupted)"
        elif target.key in report.results:
            yield f"{target.key:{first}}" + "".join(cell(report.results[target.key].get(s)) for s in scenarios)


def cell(m: Optional[Measurement]) -> str:
    """One table cell: req/s and p99; ``error`` if the scenario failed; ``*`` if the generator saturated."""
    if m is None:
        return f"{'-':>12}{'-':>10}"
    if m.error:
        return f"{'error':>12}{'':>10}"
    flag = "*" if m.client_cpu is not None and m.client_cpu >= 0.9 else " "
    return f"{m.rps:>11,.0f}{flag}{m.p99_ms:>10.2f}"


def rps_of(report: Report, key: str, scenario: str) -> Optional[float]:
    """req/s of one cell, or None when it is missing or failed."""
    m = report.results.get(key, {}).get(scenario)
    return m.rps if m is not None and not m.error and m.rps > 0 else None


def ratio_text(numerator: Optional[float], denominator: Optional[float]) -> str:
    """``1.23x``, or ``n/a`` when a side is missing."""
    if numerator is None or denominator is None:
        return "n/a"
    return f"{numerator / denominator:.2f}x"


def format_ratios(report: Report) -> Iterator[str]:
    """The ratio lines: hello req/s across servers, route99/hello within each server."""
    yield "hello req/s ratios:"
    for num, den in HELLO_RATIOS:
        value = ratio_text(rps_of(report, num, "hello"), rps_of(report, den, "hello"))
        yield f"  {num + ' / ' + den:34} {value}"
    yield "route99 / hello req/s (cost of matching the last of 100 routes; 1.00x = free):"
    for target in TARGETS:
        if target.key in report.results:
            value = ratio_text(rps_of(report, target.key, "route99"), rps_of(report, target.key, "hello"))
            yield f"  {target.key:34} {value}"


def format_header(report: Report) -> Iterator[str]:
    """Settings and versions that the numbers depend on."""
    meta = report.meta
    pin = (
        f"server on CPU {meta['server_cpu']}, load on CPU {meta['client_cpu']}"
        if meta.get("server_cpu") is not None
        else "unpinned"
    )
    yield (
        f"load: {meta.get('load_tool')}, {meta.get('connections')} connections, "
        f"{meta.get('warmup_s')}s warm-up + {meta.get('duration_s')}s measured per scenario; {pin}"
    )
    yield f"python {meta.get('python')}; load average at start {meta.get('loadavg')}"
    for name, versions in report.versions.items():
        yield f"  {name}: " + ", ".join(f"{d} {v}" for d, v in versions.items())


def format_notes(report: Report) -> Iterator[str]:
    """Caveats that change how a row reads: failures, closed connections, a saturated generator, noise."""
    for key, row in report.results.items():
        for name, m in row.items():
            if m.error:
                yield f"note: {key} {name}: {first_line(m.error)}"
            elif m.errors:
                yield f"note: {key} {name}: {m.errors} failed requests (non-2xx/3xx or broken responses)"
        closes = {name: m.reconnects / m.requests for name, m in row.items() if m.reconnects and m.requests}
        if closes:
            every = len(closes) == len(row) and min(closes.values()) >= 0.99
            where = "after every response" if every else ", ".join(f"{n} {v:.0%}" for n, v in closes.items())
            yield f"note: {key}: the server closed keep-alive connections ({where}); its numbers include new connects"
    if report.meta.get("load_tool") == "python":
        yield "(* = the Python load generator used >= 90% of its CPU: that number is a lower bound)"
    loadavg = report.meta.get("loadavg")
    if isinstance(loadavg, list) and loadavg and loadavg[0] > BUSY_LOADAVG:
        yield (
            f"warning: load average was {loadavg[0]} at start: other processes share these CPUs, "
            "so numbers are noisy; rerun on an idle machine before drawing conclusions"
        )


def print_report(report: Report) -> None:
    """Print header, table, ratios and notes to stdout."""
    print()
    lines = (*format_header(report), "", *format_table(report), "", *format_ratios(report), "")
    for line in (*lines, *format_notes(report)):
        print(line)


def save_json(report: Report, path: Path) -> None:
    """Write the raw numbers."""
    data = {
        "meta": report.meta,
        "versions": report.versions,
        "failures": report.failures,
        "results": {k: {s: asdict(m) for s, m in v.items()} for k, v in report.results.items()},
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
    log(f"[json] wrote {path}")


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds per scenario (default 5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per scenario (default 1)")
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections (default 32)")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="targets to run: ours, ref, starlette, or keys like ours-asyncio (commas ok)",
    )
    parser.add_argument("--scenarios", help="comma-separated subset of: " + ",".join(s.name for s in SCENARIOS))
    parser.add_argument(
        "--loadgen",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load tool: wrk if on PATH (auto), or benchmarks/loadgen.py",
    )
    parser.add_argument("--install-wrk", action="store_true", help="try 'apt-get install -y wrk' if it is missing")
    add_run_options(parser)
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.warmup < 0 or args.connections < 1:
        parser.error("--duration must be > 0, --warmup >= 0 and --connections >= 1")
    return args


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options every benchmark script shares: CPU pinning, start-up wait, venvs, JSON."""
    parser.add_argument("--server-cpu", type=int, default=0, help="CPU for the server (default 0)")
    parser.add_argument("--client-cpu", type=int, default=1, help="CPU for the load generator (default 1)")
    parser.add_argument("--startup-timeout", type=float, default=20.0, help="seconds to wait for a server port")
    parser.add_argument("--skip-install", action="store_true", help="reuse existing venvs without running pip")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also save the raw numbers as JSON")


def run_metadata() -> dict[str, Any]:
    """What a report says about the machine and the moment."""
    return {
        "python": platform.python_version(),
        "machine": platform.platform(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def run_reporting(run: Callable[[], None], report_out: Callable[[], None], measured: Callable[[], bool]) -> int:
    """Run a benchmark, then report whatever was measured, even when interrupted.

    Ctrl-C and SIGTERM unwind through the ``finally`` blocks that stop the servers, even when
    this process was started with SIGINT ignored (a background job). Exit status: 0 if
    anything was measured, 1 if nothing was, 130 on Ctrl-C.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    interrupted = False
    try:
        run()
    except KeyboardInterrupt:
        interrupted = True
        log("\ninterrupted: reporting what was measured so far")
    except subprocess.TimeoutExpired as exc:
        log(f"\na step timed out ({exc}): reporting what was measured so far")
    finally:
        report_out()
    if interrupted:
        return 130
    return 0 if measured() else 1


def main(argv: Optional[list[str]] = None) -> int:
    """Run the benchmark; print (and optionally save) whatever was measured."""
    args = parse_args(argv)
    report = Report(meta=run_metadata())

    def report_out() -> None:
        if report.results or report.failures:
            print_report(report)
        if args.json:
            save_json(report, args.json)

    def measured() -> bool:
        return any(not m.error for row in report.results.values() for m in row.values())

    return run_reporting(lambda: run_all(args, report), report_out, measured)


if __name__ == "__main__":
    sys.exit(main())
