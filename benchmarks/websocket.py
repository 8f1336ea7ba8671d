"""On-demand WebSocket echo benchmark: this repository's naja_atra vs naja-atra 1.2.2 vs websockets.

    python3 benchmarks/websocket.py [--duration 5] [--connections 16] [--only ours ref websockets]

Every naja_atra server runs the same app (``benchmarks/apps/naja_ws_app.py``),
the ``websockets`` library a minimal twin (``apps/websockets_app.py``), each in
its own venv under ``benchmarks/.venvs`` and pinned to one CPU while
``benchmarks/wsloadgen.py`` runs pinned to another: N connections, each sending
a 64-byte text message, waiting for its echo, and so on.  It prints messages/s,
p50/p99 round-trip latency and the generator's CPU use per server, plus a few
ratios.  See the "WebSocket echo" section of ``benchmarks/README.md``.

The venvs, server processes and pinning are those of ``benchmarks/http.py``,
whose helpers this script loads (under another module name: see ``_load_http_bench``).
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
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Iterator, Optional

BENCH_DIR = Path(__file__).resolve().parent


def _load_http_bench() -> ModuleType:
    """Import ``benchmarks/http.py`` as ``naja_bench_http``.

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
WSLOADGEN = BENCH_DIR / "wsloadgen.py"
ECHO_PATH = "/echo"
WEBSOCKETS_REQUIREMENTS = ["websockets"]
# a median round trip this slow (ms) on loopback means a server stalls on delayed ACKs
STALL_MS = 30.0
# venv name -> distributions whose versions are reported
VENV_DISTRIBUTIONS = {"ours": ["naja-atra"], "ref": ["naja-atra"], "websockets": ["websockets"]}


@dataclass(frozen=True)
class Target:
    """One server in one mode: a row of the result table."""

    key: str
    venv: str
    mode: str

    def command(self, python: Path, port: int) -> list[str]:
        """The argv that starts this server on ``port``."""
        address = ("--host", HOST, "--port", str(port))
        if self.venv == "websockets":
            return [str(python), *bench.ISOLATED, str(APPS_DIR / "websockets_app.py"), *address]
        return [str(python), *bench.ISOLATED, str(APPS_DIR / "naja_ws_app.py"), *address, "--mode", self.mode]


TARGETS = (
    Target("ours-threading", "ours", "threading"),
    Target("ours-asyncio", "ours", "asyncio"),
    Target("ref-threading", "ref", "threading"),
    Target("ref-coroutine", "ref", "asyncio"),
    Target("websockets", "websockets", "asyncio"),
)

# (numerator, denominator) rows whose messages/s are compared
RATIOS = (
    ("ours-threading", "ref-threading"),
    ("ours-asyncio", "ref-coroutine"),
    ("ours-asyncio", "websockets"),
    ("ours-threading", "websockets"),
)


@dataclass
class Measurement:
    """What one wsloadgen run against one server produced (see wsloadgen.py for the fields)."""

    mps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    messages: int = 0
    errors: int = 0
    closed: int = 0
    mismatches: int = 0
    checked: int = 0
    pings: int = 0
    client_cpu: Optional[float] = None
    handshake_ms: float = 0.0
    first_mismatch: Optional[str] = None


@dataclass
class Report:
    """Everything measured in one run, as printed and saved."""

    meta: dict[str, object] = field(default_factory=dict)
    versions: dict[str, dict[str, str]] = field(default_factory=dict)
    results: dict[str, Measurement] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """What every target goes through."""

    connections: int
    size: int
    warmup: float
    duration: float
    quickack: bool
    server_cpu: Optional[int]
    client_cpu: Optional[int]
    startup_timeout: float
    log_dir: Path


# --- venvs -------------------------------------------------------------------


def prepare_venv(name: str, skip_install: bool) -> Path:
    """A ready interpreter for venv ``name``: http.py's for ours/ref, a websockets venv here."""
    if name != "websockets":
        return Path(bench.prepare_venv(name, skip_install))
    if skip_install and bench.venv_python(name).exists():
        return Path(bench.venv_python(name))
    return Path(bench.install_requirements(name, WEBSOCKETS_REQUIREMENTS))


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


# --- running -----------------------------------------------------------------


def run_wsloadgen(port: int, plan: Plan) -> Measurement:
    """Load the server on ``port`` with wsloadgen.py (pinned); raise BenchError if it cannot."""
    options = ["-c", str(plan.connections), "-s", str(plan.size), "-w", str(plan.warmup), "-d", str(plan.duration)]
    if plan.quickack:
        options.append("--quickack")
    proc = subprocess.run(
        [sys.executable, "-I", str(WSLOADGEN), "--url", f"ws://{HOST}:{port}{ECHO_PATH}", *options],
        capture_output=True,
        text=True,
        timeout=plan.warmup + plan.duration + 60,
        preexec_fn=bench.pinning(plan.client_cpu),
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        data = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        output = bench.tail(proc.stdout + proc.stderr)
        raise BenchError(f"wsloadgen failed (exit {proc.returncode}):\n{output}") from None
    if "error" in data:
        raise BenchError(str(data["error"]))
    known = Measurement.__dataclass_fields__
    return Measurement(**{name: value for name, value in data.items() if name in known})


def bench_target(target: Target, python: Path, plan: Plan) -> Measurement:
    """Start one server, load it, stop it.  Raises BenchError (with the server's output)."""
    port = bench.free_port()
    server = bench.ServerProcess(target.command(python, port), plan.server_cpu, plan.log_dir / f"{target.key}.log")
    with server:
        server.wait_ready(port, plan.startup_timeout)
        try:
            result = run_wsloadgen(port, plan)
        except subprocess.TimeoutExpired:
            raise BenchError("wsloadgen did not finish in time", "load generator timed out") from None
        except BenchError as exc:
            raise BenchError(f"{exc}\n  server output:\n{bench.tail(server.output(), 15)}", exc.summary) from None
        if server.proc is not None and server.proc.poll() is not None:
            output = server.output()
            raise BenchError(
                f"server died under load; its output:\n{bench.tail(output)}", f"died: {bench.last_line(output)}"
            )
    return result


def describe(m: Measurement) -> str:
    """One line for the progress log."""
    text = (
        f"{m.mps:>10,.0f} msgs/s  p50 {m.p50_ms:.2f} ms  p99 {m.p99_ms:.2f} ms  "
        f"({m.messages} round trips, {m.checked} echoes checked"
    )
    text += f", {m.mismatches} MISMATCHED" if m.mismatches else ""
    text += f", {m.errors} errors" if m.errors else ""
    text += f", client cpu {m.client_cpu:.0%}" if m.client_cpu is not None else ""
    return text + ")"


def run_all(args: argparse.Namespace, report: Report) -> None:
    """Benchmark every selected target, filling ``report`` as results come in."""
    targets = select_targets(args.only)
    server_cpu, client_cpu = bench.choose_cpus(args.server_cpu, args.client_cpu, report)
    report.meta.update(
        load_tool="wsloadgen",
        connections=args.connections,
        message_bytes=args.size,
        warmup_s=args.warmup,
        duration_s=args.duration,
        quickack=args.quickack,
        path=ECHO_PATH,
    )
    pythons = prepare_venvs(targets, args.skip_install, report)
    with tempfile.TemporaryDirectory(prefix="naja-wsbench-logs-") as log_dir:
        plan = Plan(
            args.connections,
            args.size,
            args.warmup,
            args.duration,
            args.quickack,
            server_cpu,
            client_cpu,
            args.startup_timeout,
            Path(log_dir),
        )
        for target in targets:
            if target.venv not in pythons:
                continue
            log(f"[{target.key}] starting")
            try:
                report.results[target.key] = bench_target(target, pythons[target.venv], plan)
                log(f"[{target.key}] {describe(report.results[target.key])}")
            except BenchError as exc:
                log(f"[{target.key}] FAILED: {exc}")
                report.failures[target.key] = exc.summary


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
        raise SystemExit(f"--only: unknown {unknown}; choose from {[t.key for t in TARGETS]} or ours, ref")
    return chosen


# --- report ------------------------------------------------------------------


def format_header(report: Report) -> Iterator[str]:
    """Settings and versions that the numbers depend on."""
    meta = report.meta
    pin = (
        f"server on CPU {meta['server_cpu']}, load on CPU {meta['client_cpu']}"
        if meta.get("server_cpu") is not None
        else "unpinned"
    )
    yield (
        f"load: wsloadgen, {meta.get('connections')} connections x 1 message in flight, "
        f"{meta.get('message_bytes')}-byte text messages, "
        f"{meta.get('warmup_s')}s warm-up + {meta.get('duration_s')}s measured; {pin}"
        + ("; client ACKs at once (--quickack)" if meta.get("quickack") else "")
    )
    yield f"python {meta.get('python')}; load average at start {meta.get('loadavg')}"
    for name, versions in report.versions.items():
        yield f"  {name}: " + ", ".join(f"{d} {v}" for d, v in versions.items())


def format_table(report: Report) -> Iterator[str]:
    """One row per target: msgs/s, p50, p99, generator CPU."""
    first = 16
    yield f"{'server / mode':{first}}{'msgs/s':>12}{'p50 ms':>10}{'p99 ms':>10}{'gen CPU':>10}"
    for target in TARGETS:
        if target.key in report.failures:
            yield f"{target.key:{first}}  failed: {report.failures[target.key]}"
        elif target.key in report.results:
            m = report.results[target.key]
            cpu = m.client_cpu
            flag = "*" if cpu is not None and cpu >= 0.9 else " "
            cpu_text = f"{cpu:.0%}" if cpu is not None else "-"
            yield f"{target.key:{first}}{m.mps:>11,.0f}{flag}{m.p50_ms:>10.2f}{m.p99_ms:>10.2f}{cpu_text:>10}"


def mps_of(report: Report, key: str) -> Optional[float]:
    """messages/s of one row, or None when it is missing or zero."""
    m = report.results.get(key)
    return m.mps if m is not None and m.mps > 0 else None


def format_ratios(report: Report) -> Iterator[str]:
    """messages/s ratios: above 1.00x the first server is faster."""
    yield "msgs/s ratios:"
    for num, den in RATIOS:
        a, b = mps_of(report, num), mps_of(report, den)
        value = f"{a / b:.2f}x" if a is not None and b is not None else "n/a"
        yield f"  {num + ' / ' + den:34} {value}"


def format_notes(report: Report) -> Iterator[str]:
    """Caveats: wrong echoes, lost connections, pings, a saturated generator, a busy machine."""
    for key, m in report.results.items():
        if m.mismatches:
            yield f"note: {key}: {m.mismatches} of {m.checked} echoes were wrong, first: {m.first_mismatch}"
        if m.errors:
            yield f"note: {key}: {m.errors} connections lost while measuring ({m.closed} closed by the server)"
        if m.pings:
            yield f"note: {key}: the server sent {m.pings} pings (answered; not counted as messages)"
        if m.p50_ms >= STALL_MS and not report.meta.get("quickack"):
            yield (
                f"note: {key}: a median round trip of {m.p50_ms:.0f} ms is the mark of Nagle's algorithm meeting "
                "delayed ACKs (a reply written in several sends without TCP_NODELAY); --quickack shows the "
                "server without that stall"
            )
    if any(m.client_cpu is not None and m.client_cpu >= 0.9 for m in report.results.values()):
        yield "(* = the load generator used >= 90% of its CPU: that number is a lower bound)"
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
        "failures": report.failures,
        "results": {key: asdict(m) for key, m in report.results.items()},
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
    log(f"[json] wrote {path}")


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds per server (default 5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per server (default 1)")
    parser.add_argument("--connections", type=int, default=16, help="WebSocket connections (default 16)")
    parser.add_argument("--size", type=int, default=64, help="text message size in bytes (default 64, min 24)")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="targets to run: ours, ref, websockets, or keys like ours-asyncio (commas ok)",
    )
    parser.add_argument(
        "--quickack",
        action="store_true",
        help="the generator ACKs every read at once (TCP_QUICKACK): hides Nagle/delayed-ACK stalls of a server",
    )
    bench.add_run_options(parser)
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.warmup < 0 or args.connections < 1 or args.size < 24:
        parser.error("--duration must be > 0, --warmup >= 0, --connections >= 1 and --size >= 24")
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
                               lambda: bool(report.results)))


if __name__ == "__main__":
    sys.exit(main())
