"""On-demand benchmark: the same two routes under production servers.

    python3 benchmarks/deploy.py [--duration 5] [--connections 32] [--only uvicorn gunicorn ...]

This repository's naja_atra serves ``/hello`` and ``/json`` (``apps/naja_deploy_app.py``)
under uvicorn as an ASGI app and under gunicorn as a WSGI app (``app.wsgi``). Starlette
(``apps/starlette_deploy_app.py``) runs under the very same uvicorn settings and Flask
(``apps/flask_deploy_app.py``) under the very same gunicorn settings, in the same run, so
each pair differs only in the framework. The built-in servers serve the same module as a
reference. One worker process each, the server pinned to one CPU and the load (``wrk``
or ``benchmarks/loadgen.py``) to another. See the "Deployment" section of
``benchmarks/README.md``.

The venvs, server processes, pinning and load generators are those of
``benchmarks/http.py``, loaded under another module name (see ``_load_http_bench``).
"""

from __future__ import annotations

import os
import sys

# Like http.py: take this folder off the import path, so that ``http`` (and anything that
# imports it) is the stdlib's, not benchmarks/http.py.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import argparse
import importlib.util
import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator, Optional

BENCH_DIR = Path(__file__).resolve().parent


def _load_http_bench() -> ModuleType:
    """Import ``benchmarks/http.py`` as ``naja_bench_http`` (as ``websocket.py`` does).

    A plain ``import http`` would give the stdlib package (or, with this folder on the
    path, shadow it for everyone): loading the file under its own name avoids both.
    """
    name = "naja_bench_http"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH_DIR / "http.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


bench = _load_http_bench()
BenchError = bench.BenchError
log = bench.log

HOST = bench.HOST
APPS_DIR = bench.APPS_DIR
ROUTES = ("hello", "json")
SCENARIOS = tuple(s for s in bench.SCENARIOS if s.name in ROUTES)

# What deploy.py adds to each venv, on top of what http.py puts there ("flask" is its own).
# Required: the servers. Optional: uvicorn's fast protocol and loop (what ``uvicorn[standard]``
# brings); if they cannot be installed, only the ``uvicorn-httptools`` rows are skipped.
DEPLOY_REQUIREMENTS: dict[str, list[str]] = {
    "ours": ["uvicorn", "gunicorn"],
    "starlette": [],  # http.py's venv already has starlette, uvicorn and h11
    "flask": ["flask", "gunicorn"],
}
OPTIONAL_REQUIREMENTS: dict[str, list[str]] = {
    "ours": ["httptools", "uvloop"],
    "starlette": ["httptools", "uvloop"],
    "flask": [],
}
MARKER = "deploy-requirements.json"
# venv name -> distributions whose versions are reported
VENV_DISTRIBUTIONS = {
    "ours": ["naja-atra", "uvicorn", "h11", "httptools", "uvloop", "gunicorn"],
    "starlette": ["starlette", "uvicorn", "h11", "httptools", "uvloop"],
    "flask": ["flask", "werkzeug", "gunicorn"],
}
# What each stack needs in its venv besides the server itself.
STACK_NEEDS = {"uvicorn-httptools": ("httptools", "uvloop")}

UVICORN_QUIET = ("--log-level", "warning", "--no-access-log")
GUNICORN_COMMON = ("--workers", "1", "--log-level", "warning", "--graceful-timeout", "3")
GTHREAD_THREADS = 8

# stack -> (server, the options that define it, label for the table)
STACKS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "builtin-threading": ("builtin", ("--mode", "threading"), "built-in threading"),
    "builtin-asyncio": ("builtin", ("--mode", "asyncio"), "built-in asyncio"),
    "uvicorn-h11": ("uvicorn", ("--http", "h11", "--loop", "asyncio"), "uvicorn h11+asyncio"),
    "uvicorn-httptools": ("uvicorn", ("--http", "httptools", "--loop", "uvloop"), "uvicorn httptools+uvloop"),
    "gunicorn-sync": ("gunicorn", ("--worker-class", "sync"), "gunicorn sync"),
    "gunicorn-gthread": (
        "gunicorn",
        ("--worker-class", "gthread", "--threads", str(GTHREAD_THREADS)),
        f"gunicorn gthread x{GTHREAD_THREADS}",
    ),
}
# venv -> (framework label, ASGI/WSGI entry point)
APPS = {
    "ours": ("naja_atra", "naja_deploy_app"),
    "starlette": ("starlette", "starlette_deploy_app"),
    "flask": ("flask", "flask_deploy_app"),
}


@dataclass(frozen=True)
class Target:
    """One framework under one server stack: a row of the result table."""

    key: str
    venv: str
    stack: str

    @property
    def server(self) -> str:
        return STACKS[self.stack][0]

    @property
    def label(self) -> str:
        return STACKS[self.stack][2]

    @property
    def framework(self) -> str:
        return APPS[self.venv][0]

    def command(self, python: Path, port: int, gunicorn_extra: tuple[str, ...] = ()) -> list[str]:
        """The argv that starts this server on ``port`` (run with APPS_DIR as working directory)."""
        module = APPS[self.venv][1]
        options = STACKS[self.stack][1]
        run = [str(python), *bench.ISOLATED]
        if self.server == "builtin":
            return [*run, str(APPS_DIR / f"{module}.py"), "--host", HOST, "--port", str(port), *options]
        if self.server == "uvicorn":
            app = (f"{module}:app", "--app-dir", str(APPS_DIR))
            return [*run, "-m", "uvicorn", *app, "--host", HOST, "--port", str(port), *options, *UVICORN_QUIET]
        entry = f"{module}:wsgi_app" if self.venv == "ours" else f"{module}:app"
        address = ("--bind", f"{HOST}:{port}", "--chdir", str(APPS_DIR))
        return [*run, "-m", "gunicorn", *address, *GUNICORN_COMMON, *gunicorn_extra, *options, entry]


TARGETS = (
    Target("ours-builtin-threading", "ours", "builtin-threading"),
    Target("ours-builtin-asyncio", "ours", "builtin-asyncio"),
    Target("ours-uvicorn-h11", "ours", "uvicorn-h11"),
    Target("starlette-uvicorn-h11", "starlette", "uvicorn-h11"),
    Target("ours-uvicorn-httptools", "ours", "uvicorn-httptools"),
    Target("starlette-uvicorn-httptools", "starlette", "uvicorn-httptools"),
    Target("ours-gunicorn-sync", "ours", "gunicorn-sync"),
    Target("flask-gunicorn-sync", "flask", "gunicorn-sync"),
    Target("ours-gunicorn-gthread", "ours", "gunicorn-gthread"),
    Target("flask-gunicorn-gthread", "flask", "gunicorn-gthread"),
)

# (numerator, denominator): same stack, another framework; then ours across stacks
RATIOS = (
    ("ours-uvicorn-h11", "starlette-uvicorn-h11"),
    ("ours-uvicorn-httptools", "starlette-uvicorn-httptools"),
    ("ours-gunicorn-sync", "flask-gunicorn-sync"),
    ("ours-gunicorn-gthread", "flask-gunicorn-gthread"),
    ("ours-uvicorn-h11", "ours-builtin-asyncio"),
    ("ours-uvicorn-httptools", "ours-builtin-asyncio"),
    ("ours-gunicorn-gthread", "ours-builtin-threading"),
)


@dataclass
class Report:
    """Everything measured in one run, as printed and saved."""

    meta: dict[str, object] = field(default_factory=dict)
    versions: dict[str, dict[str, str]] = field(default_factory=dict)
    commands: dict[str, list[str]] = field(default_factory=dict)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """What every target goes through."""

    load: Any  # bench.LoadSettings
    server_cpu: Optional[int]
    startup_timeout: float
    log_dir: Path


# --- venvs -------------------------------------------------------------------


def add_requirements(name: str, python: Path) -> None:
    """Install deploy.py's additions into venv ``name`` unless its marker says they are there.

    The required ones must install (BenchError otherwise); the optional ones are tried
    separately, so that a platform without their wheels still runs the other rows.
    """
    required, optional = DEPLOY_REQUIREMENTS[name], OPTIONAL_REQUIREMENTS[name]
    marker = bench.VENV_ROOT / name / MARKER
    wanted = json.dumps({"required": required, "optional": optional})
    if marker.exists() and marker.read_text() == wanted:
        return
    if required:
        log(f"[venv] {name}: pip install {' '.join(required)}")
        bench.pip_install(python, required, f"installing {required} into {name}")
    if optional:
        log(f"[venv] {name}: pip install {' '.join(optional)} (optional)")
        try:
            bench.pip_install(python, optional, f"installing {optional} into {name}")
        except BenchError as exc:
            log(f"[venv] {name}: optional packages not installed ({exc.summary}); their rows will be skipped")
    marker.write_text(wanted)


def prepare_venv(name: str, skip_install: bool) -> Path:
    """A ready interpreter for venv ``name``: http.py's venv (``ours`` reinstalled from the work
    tree, ``starlette`` as http.py wants it) plus deploy.py's additions; ``flask`` is new."""
    python = Path(bench.venv_python(name))
    if skip_install and python.exists():
        return python
    if name == "flask":
        python = Path(bench.create_venv(name))
    else:
        python = Path(bench.prepare_venv(name, False))
    add_requirements(name, python)
    return python


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
        report.versions[name] = bench.installed_versions(pythons[name], VENV_DISTRIBUTIONS[name])
    return pythons


def gunicorn_extra(python: Path) -> tuple[str, ...]:
    """Options for this gunicorn that are not in every release: gunicorn 25+ opens a control
    socket in the home directory by default; the benchmark does not want it."""
    try:
        help_text = bench.run_checked([str(python), *bench.ISOLATED, "-m", "gunicorn", "--help"], "gunicorn --help", 60)
    except BenchError:
        return ()
    return ("--no-control-socket",) if "--no-control-socket" in help_text else ()


def missing_for(target: Target, versions: dict[str, str]) -> list[str]:
    """The packages the target's stack needs that its venv lacks."""
    return [d for d in STACK_NEEDS.get(target.stack, ()) if versions.get(d, "missing") == "missing"]


# --- running -----------------------------------------------------------------


def bench_target(target: Target, command: list[str], port: int, plan: Plan, results: dict[str, Any]) -> None:
    """Start one server (``command``, listening on ``port``), load each route into ``results``,
    stop it. Raises BenchError if the server does not start, or dies on the way."""
    with bench.ServerProcess(command, plan.server_cpu, plan.log_dir / f"{target.key}.log") as server:
        server.wait_ready(port, plan.startup_timeout)
        for scenario in SCENARIOS:
            results[scenario.name] = bench.bench_scenario(port, scenario, plan.load)
            log(f"[{target.key}] {scenario.name:6} {bench.describe(results[scenario.name])}")
            if results[scenario.name].error:
                log(f"[{target.key}] the server's output so far:\n{bench.tail(server.output(), 15)}")
            if server.proc is not None and server.proc.poll() is not None:
                output = server.output()
                raise BenchError(
                    f"server died during {scenario.name}; its output:\n{bench.tail(output)}",
                    f"died during {scenario.name}: {bench.last_line(output)}",
                )


def run_all(args: argparse.Namespace, report: Report) -> None:
    """Benchmark every selected target, filling ``report`` as results come in."""
    targets = select_targets(args.only)
    server_cpu, client_cpu = bench.choose_cpus(args.server_cpu, args.client_cpu, report)
    tool = bench.choose_load_tool(args.loadgen, args.install_wrk)
    load = bench.LoadSettings(tool, args.connections, args.warmup, args.duration, client_cpu)
    report.meta.update(
        load_tool=tool,
        connections=load.connections,
        warmup_s=load.warmup,
        duration_s=load.duration,
        paths={s.name: s.path for s in SCENARIOS},
        workers=1,
        gthread_threads=GTHREAD_THREADS,
    )
    pythons = prepare_venvs(targets, args.skip_install, report)
    extras = {name: gunicorn_extra(python) for name, python in pythons.items() if name in ("ours", "flask")}
    with tempfile.TemporaryDirectory(prefix="naja-deploybench-logs-") as log_dir:
        plan = Plan(load, server_cpu, args.startup_timeout, Path(log_dir))
        for target in targets:
            if target.venv not in pythons:
                continue
            missing = missing_for(target, report.versions.get(target.venv, {}))
            if missing:
                report.failures[target.key] = f"skipped: {', '.join(missing)} not installed in venv {target.venv}"
                log(f"[{target.key}] {report.failures[target.key]}")
                continue
            port = bench.free_port()
            command = target.command(pythons[target.venv], port, extras.get(target.venv, ()))
            report.commands[target.key] = command
            log(f"[{target.key}] starting: {' '.join(command[len(bench.ISOLATED) + 1:])}")
            try:
                bench_target(target, command, port, plan, report.results.setdefault(target.key, {}))
            except BenchError as exc:
                log(f"[{target.key}] FAILED: {exc}")
                report.failures[target.key] = exc.summary


def select_targets(only: Optional[list[str]]) -> list[Target]:
    """The targets named by ``--only``: a key, a venv (ours, starlette, flask), a server
    (builtin, uvicorn, gunicorn), a stack (uvicorn-h11, gunicorn-sync, ...); else all."""
    if not only:
        return list(TARGETS)

    def matches(target: Target, token: str) -> bool:
        return token in (target.key, target.venv, target.server, target.stack)

    tokens = [token for item in only for token in item.split(",") if token]
    chosen = [t for t in TARGETS if any(matches(t, tok) for tok in tokens)]
    unknown = [tok for tok in tokens if not any(matches(t, tok) for t in TARGETS)]
    if unknown or not chosen:
        names = sorted({t.venv for t in TARGETS} | {t.server for t in TARGETS} | set(STACKS))
        raise SystemExit(f"--only: unknown {unknown}; choose from {[t.key for t in TARGETS]} or {names}")
    return chosen


# --- report ------------------------------------------------------------------


def measurement(report: Report, key: str, route: str) -> Optional[Any]:
    """The measurement of one cell, or None when it is missing or failed."""
    m = report.results.get(key, {}).get(route)
    return m if m is not None and not m.error and m.rps > 0 else None


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
        f"{meta.get('warmup_s')}s warm-up + {meta.get('duration_s')}s measured per route; {pin}; "
        f"1 worker process per server"
    )
    yield f"python {meta.get('python')}; load average at start {meta.get('loadavg')}"
    for name, versions in report.versions.items():
        yield f"  {name}: " + ", ".join(f"{d} {v}" for d, v in versions.items())


def format_table(report: Report) -> Iterator[str]:
    """One line per (stack, framework, route): req/s, p50 and p99."""
    yield f"{'server stack':27}{'framework':11}{'route':7}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
    previous = ""
    for target in TARGETS:
        if target.key not in report.results and target.key not in report.failures:
            continue
        if previous and previous != target.stack.split("-")[0]:
            yield ""
        previous = target.stack.split("-")[0]
        first = f"{target.label:27}{target.framework:11}"
        if target.key in report.failures and not report.results.get(target.key):
            yield f"{first}{report.failures[target.key]}"
            continue
        for route in ROUTES:
            m = report.results.get(target.key, {}).get(route)
            if m is None:
                yield f"{first}{route:7}{'-':>10}"
            elif m.error:
                yield f"{first}{route:7}{'error':>10}  {bench.first_line(m.error)[:60]}"
            else:
                flag = "*" if m.client_cpu is not None and m.client_cpu >= 0.9 else ""
                yield f"{first}{route:7}{m.rps:>10,.0f}{flag:1}{m.p50_ms:>8.2f}{m.p99_ms:>9.2f}"
        if target.key in report.failures:
            yield f"{first}failed: {report.failures[target.key]}"


def format_ratios(report: Report) -> Iterator[str]:
    """req/s ratios per route: above 1.00x the first row is faster."""
    yield "req/s ratios (above 1.00x the first is faster):"
    yield f"  {'':52}" + "".join(f"{route:>8}" for route in ROUTES)
    for num, den in RATIOS:
        selected = report.results.keys() | report.failures.keys()
        if num not in selected or den not in selected:
            continue
        values = []
        for route in ROUTES:
            a, b = measurement(report, num, route), measurement(report, den, route)
            values.append(f"{a.rps / b.rps:.2f}x" if a is not None and b is not None else "n/a")
        yield f"  {num + ' / ' + den:52}" + "".join(f"{v:>8}" for v in values)


def format_notes(report: Report) -> Iterator[str]:
    """Caveats that change how a row reads: errors, closed connections, a saturated generator, noise."""
    for key, row in report.results.items():
        for name, m in row.items():
            if m.error:
                yield f"note: {key} {name}: {bench.first_line(m.error)}"
            elif m.errors:
                yield f"note: {key} {name}: {m.errors} failed requests (non-2xx/3xx or broken responses)"
        closes = {name: m.reconnects / m.requests for name, m in row.items() if m.reconnects and m.requests}
        if closes:
            every = len(closes) == len(row) and min(closes.values()) >= 0.99
            where = "after every response" if every else ", ".join(f"{n} {v:.0%}" for n, v in closes.items())
            yield f"note: {key}: the server closed keep-alive connections ({where}); its numbers include new connects"
    if any(t.stack == "gunicorn-sync" for t in TARGETS if t.key in report.results):
        yield (
            "note: gunicorn's sync worker serves one connection at a time and closes it after each response "
            "(no keep-alive): its rows include a TCP connect per request and the queueing of the other connections"
        )
    if report.meta.get("load_tool") == "python":
        yield "(* = the Python load generator used >= 90% of its CPU: that number is a lower bound)"
    loadavg = report.meta.get("loadavg")
    if isinstance(loadavg, list) and loadavg and loadavg[0] > bench.BUSY_LOADAVG:
        yield (
            f"warning: load average was {loadavg[0]} at start: other processes share these CPUs, "
            "so numbers are noisy; rerun on an idle machine before drawing conclusions"
        )


def print_report(report: Report) -> None:
    """Print header, table, ratios and notes to stdout."""
    print()
    for line in (*format_header(report), "", *format_table(report), "", *format_ratios(report), ""):
        print(line)
    for line in format_notes(report):
        print(line)


def save_json(report: Report, path: Path) -> None:
    """Write the raw numbers."""
    data = {
        "meta": report.meta,
        "versions": report.versions,
        "targets": {
            t.key: {"framework": t.framework, "stack": t.stack, "label": t.label, "command": report.commands.get(t.key)}
            for t in TARGETS
            if t.key in report.commands or t.key in report.failures
        },
        "failures": report.failures,
        "results": {k: {s: asdict(m) for s, m in v.items()} for k, v in report.results.items()},
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
    log(f"[json] wrote {path}")


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds per route (default 5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per route (default 1)")
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections (default 32)")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="rows to run: keys (ours-uvicorn-h11), venvs (ours, starlette, flask), servers "
        "(builtin, uvicorn, gunicorn) or stacks (uvicorn-h11, gunicorn-sync, ...); commas ok",
    )
    parser.add_argument(
        "--loadgen",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load tool: wrk if on PATH (auto), or benchmarks/loadgen.py",
    )
    parser.add_argument("--install-wrk", action="store_true", help="try 'apt-get install -y wrk' if it is missing")
    bench.add_run_options(parser)
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.warmup < 0 or args.connections < 1:
        parser.error("--duration must be > 0, --warmup >= 0 and --connections >= 1")
    return args


def main(argv: Optional[list[str]] = None) -> int:
    """Run the benchmark; print (and optionally save) whatever was measured (see
    ``http.py``'s ``run_reporting`` for the exit status)."""
    args = parse_args(argv)
    report = Report(meta=bench.run_metadata())

    def report_out() -> None:
        if report.results or report.failures:
            print_report(report)
        if args.json:
            save_json(report, args.json)

    return int(bench.run_reporting(lambda: run_all(args, report), report_out,
                               lambda: any(not m.error for row in report.results.values() for m in row.values())))


if __name__ == "__main__":
    sys.exit(main())
