"""Hostile load against the built-in servers: what an attack costs the server and a normal client.

    python3 benchmarks/hostile.py                          # every scenario, full size, both drivers
    python3 benchmarks/hostile.py --quick                  # every size ~10x smaller: about a minute
    python3 benchmarks/hostile.py slowloris fragments --drivers asyncio
    python3 benchmarks/hostile.py --tree /work/base --json base.json   # another checkout's naja_atra
    python3 benchmarks/hostile.py uploads --uploads-clients 120 --uploads-route /size
    python3 benchmarks/hostile.py --set max_connections=2000   # a server.start keyword for every server

Run on demand only (never by pytest or CI); Linux only (``/proc``). For each scenario and
driver (``threading``, and ``asyncio`` = ``prefer_coroutine=True``) it starts
``apps/hostile_app.py`` with ``--tree`` first on PYTHONPATH, on a free port of 127.0.0.1,
attacks it, and stops it by its PID. Printed per row: the server's RSS (at the start, its
peak ``VmHWM`` and at the end, MiB) and peak thread count from ``/proc/PID/status``, and a
normal client's ``GET /hello`` (a fresh connection every 50 ms, from a process of its own)
while the attack runs: p50 and max latency and how many got no answer within 5 s.

Scenarios (``--<scenario>-<size>`` options set the sizes; ``--help`` lists them):

* ``slowloris``: 6,000 connections each send a request head one header line every 3 s for
  15 s, reopened when the server ends them: does a normal client still get in, and what do
  idle, incomplete connections cost (a thread each?).
* ``slow-readers``: 5 clients ask for a 64 MiB streamed response (a sync controller writing
  64 KiB pieces) and never read it: does the server buffer what the client does not take?
* ``ws-slow-reader``: 10 WebSocket clients read a broadcast of 256 KiB messages every 0.1 s,
  one more never reads: does the one stall the broadcast (its round time, as the app measures
  it, from ``/stats``), and how long until the server drops it?
* ``uploads``: 60 uploads of 16 MiB each held one byte short of their end (``held_uploads.py``'s
  scenario; ``/upload`` streams the body where the tree can, ``--uploads-route /size`` is
  ``naja_body_app``'s ``request.body``), plus one 14.7 MiB URL-encoded form of 1.5M fields:
  memory held, and how long the normal client stalls while the form is parsed.
* ``fragments``: one 2 MB WebSocket message sent as 2M one-byte frames (masked, built here on
  a raw socket): memory, and whether the server refuses it.
* ``sigterm``: (``sigterm-drain``) SIGTERM while 20 requests sleep 2 s in a sync controller: how
  many get their 200 and when the process exits; (``sigterm-hang``) SIGTERM while 3 requests
  sleep 120 s, the server started with ``shutdown_timeout=10``: when the process exits.
* ``sync-block``: 40 requests to a sync controller sleeping 6 s: does ``/hello`` wait for them?

``--json FILE`` also writes the numbers. See ``benchmarks/README.md`` for how to read them.
"""
from __future__ import annotations

import os
import sys

# Like http.py: this folder must not shadow the stdlib ``http``; the sibling modules are
# found at the end of the path instead.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)
sys.path.append(os.path.dirname(os.path.abspath(__file__)))

import argparse
import importlib.util
import json
import resource
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator, Optional

import hostile_attacks as attacks
from hostile_attacks import Outcome
from hostile_probe import Probe, ProcSampler, summarize

HERE = os.path.dirname(os.path.abspath(__file__))
APP = Path(HERE) / "apps" / "hostile_app.py"
DRIVERS = ("threading", "asyncio")
MIB = 1024 * 1024


def _load_http_bench() -> ModuleType:
    """``benchmarks/http.py`` under another name (see ``websocket.py``): its process helpers."""
    name = "naja_bench_http"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(HERE) / "http.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


bench = _load_http_bench()
log = bench.log


@dataclass(frozen=True)
class Scenario:
    """A scenario's sizes at full scale and with ``--quick``."""

    name: str
    full: dict[str, float]
    quick: dict[str, float]


SCENARIOS = (
    Scenario("slowloris", {"connections": 6000, "seconds": 15, "line_interval": 3},
             {"connections": 600, "seconds": 4, "line_interval": 1}),
    Scenario("slow-readers", {"clients": 5, "mib": 64, "seconds": 10}, {"clients": 5, "mib": 6.4, "seconds": 3}),
    Scenario("ws-slow-reader", {"readers": 10, "kib": 256, "interval": 0.1, "seconds": 20},
             {"readers": 3, "kib": 256, "interval": 0.1, "seconds": 4}),
    Scenario("uploads", {"clients": 60, "mib": 16, "form_fields": 1_500_000, "form_mib": 14.7},
             {"clients": 6, "mib": 1.6, "form_fields": 150_000, "form_mib": 1.47}),
    Scenario("fragments", {"frames": 2_000_000, "reply_seconds": 60}, {"frames": 200_000, "reply_seconds": 20}),
    Scenario("sigterm", {"requests": 20, "sleep": 2, "exit_bound": 60, "hang_requests": 3, "hang_sleep": 120,
                         "shutdown_timeout": 10},
             {"requests": 4, "sleep": 2, "exit_bound": 15, "hang_requests": 1, "hang_sleep": 12,
              "shutdown_timeout": 1}),
    Scenario("sync-block", {"requests": 40, "sleep": 6, "seconds": 15}, {"requests": 4, "sleep": 2, "seconds": 4}),
)
BY_NAME = {s.name: s for s in SCENARIOS}


@dataclass
class Row:
    """One scenario (or half of ``sigterm``) on one driver."""

    scenario: str
    driver: str
    summary: str = ""
    rss_start_mib: float = 0.0
    rss_peak_mib: float = 0.0
    rss_end_mib: float = 0.0
    threads_peak: int = 0
    probe: dict[str, Any] = field(default_factory=dict)
    probe_windows: dict[str, dict[str, Any]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    loadavg: float = 0.0
    error: str = ""


@dataclass
class Run:
    """The settings every server of this run shares."""

    tree: Path
    driver: str
    log_dir: Path
    server_args: list[str]
    probe_interval: float
    probe_timeout: float
    startup_timeout: float


@dataclass
class Live:
    """A running server under attack."""

    port: int
    proc: subprocess.Popen[bytes]
    sampler: ProcSampler


def attack_server(run: Run, label: str, attack: Callable[[Live], Outcome], app_args: tuple[str, ...] = (),
                  stops_server: bool = False) -> Row:
    """Start the app, run ``attack`` against it while the probe and the sampler watch, stop it.
    A server that exits during an attack that does not stop it itself is an error."""
    row = Row(label, run.driver, loadavg=round(os.getloadavg()[0], 2))
    port = bench.free_port()
    command = [sys.executable, "-B", "-u", str(APP), "--port", str(port), "--driver", run.driver,
               *run.server_args, *app_args]
    server = bench.ServerProcess(command, None, run.log_dir / f"{label}-{run.driver}.log")
    with server:
        try:
            server.wait_ready(port, run.startup_timeout)
        except bench.BenchError as exc:
            row.error = f"server did not start: {exc.summary}"
            return row
        assert server.proc is not None
        outcome = Outcome("")
        samples: list[list[Any]] = []
        with ProcSampler(server.proc.pid) as sampler:
            with Probe(port, run.probe_interval, run.probe_timeout, max_seconds=1200) as probe:
                try:
                    outcome = attack(Live(port, server.proc, sampler))
                except Exception as exc:  # a broken attack still reports what was measured
                    row.error = f"{type(exc).__name__}: {exc}"
                finally:
                    samples = probe.finish()
            if not stops_server and server.proc.poll() is not None:
                row.error = (row.error + "; " if row.error else "") + f"server exited with {server.proc.returncode}"
                log(f"  server output:\n{bench.tail(server.output(), 10)}")
        for key, value in sampler.numbers().items():
            setattr(row, key, value)
    row.summary, row.details = outcome.summary, outcome.details
    row.probe = summarize(samples, *outcome.windows.get("attack", (0.0, float("inf"))))
    row.probe_windows = {name: summarize(samples, *window) for name, window in outcome.windows.items()
                         if name != "attack"}
    return row


# --- the scenarios ---------------------------------------------------------------------------------


def nofile_for(connections: int) -> tuple[int, str]:
    """``connections`` or as many as the hard RLIMIT_NOFILE allows, with a note when capped."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    room = hard - 256 if hard != resource.RLIM_INFINITY else connections
    if connections <= room:
        return connections, ""
    return max(1, room), f"hard RLIMIT_NOFILE {hard} too low for {connections} connections: capped at {room}"


def run_scenario(name: str, run: Run, s: dict[str, float], uploads_route: str) -> Iterator[Row]:
    """The rows of scenario ``name`` on ``run.driver``."""
    if name == "slowloris":
        connections, note = nofile_for(int(s["connections"]))
        row = attack_server(run, name, lambda live: attacks.slowloris(
            live.port, connections, s["seconds"], s["line_interval"]))
        row.error = "; ".join(x for x in (note, row.error) if x)
        yield row
    elif name == "slow-readers":
        yield attack_server(run, name, lambda live: attacks.slow_readers(
            live.port, int(s["clients"]), s["mib"], s["seconds"]))
    elif name == "ws-slow-reader":
        yield attack_server(run, name, lambda live: attacks.ws_slow_reader(live.port, int(s["readers"]), s["seconds"]),
                            ("--broadcast-size", str(int(s["kib"] * 1024)), "--broadcast-interval", str(s["interval"])))
    elif name == "uploads":
        yield attack_server(run, name, lambda live: attacks.uploads(
            live.port, int(s["clients"]), s["mib"], uploads_route, int(s["form_fields"]), s["form_mib"],
            live.sampler.rss_kb))
    elif name == "fragments":
        yield attack_server(run, name, lambda live: attacks.fragments(live.port, int(s["frames"]), s["reply_seconds"]))
    elif name == "sigterm":
        yield attack_server(run, "sigterm-drain", lambda live: attacks.sigterm(
            live.port, live.proc, int(s["requests"]), s["sleep"], s["exit_bound"]), stops_server=True)
        yield attack_server(run, "sigterm-hang", lambda live: attacks.sigterm(
            live.port, live.proc, int(s["hang_requests"]), s["hang_sleep"], s["shutdown_timeout"] + 20),
            ("--set", f"shutdown_timeout={s['shutdown_timeout']:g}"), stops_server=True)
    elif name == "sync-block":
        yield attack_server(run, name, lambda live: attacks.sync_block(
            live.port, int(s["requests"]), s["sleep"], s["seconds"]))


# --- the report ----------------------------------------------------------------------------------


def fmt(value: Optional[float]) -> str:
    """A latency cell."""
    return "-" if value is None else f"{value:,.1f}"


def format_table(meta: dict[str, Any], rows: list[Row]) -> Iterator[str]:
    """The header lines and one line per row, then the per-window notes."""
    yield (f"tree {meta['tree']} (naja_atra from {meta['naja_atra']}); {meta['mode']}; python {meta['python']}; "
           f"RLIMIT_NOFILE {meta['nofile']}; load average at start {meta['loadavg']}")
    yield (f"normal client: GET /hello on a fresh connection every {meta['probe_interval'] * 1000:g} ms, "
           f"unanswered = no whole answer within {meta['probe_timeout']:g} s")
    for name, sizes in meta["sizes"].items():
        yield f"  {name}: " + ", ".join(f"{key} {value:g}" for key, value in sizes.items())
    if meta["server_options"] or meta["app_options"]:
        yield f"server options: {' '.join(meta['server_options'] + meta['app_options'])}"
    yield ""
    yield (f"{'scenario':15} {'driver':9} {'RSS MiB start':>13} {'peak':>6} {'end':>6} {'threads':>7} "
           f"{'p50 ms':>8} {'max ms':>8} {'unanswered':>11} {'load':>5}  result")
    for row in rows:
        probe = row.probe
        unanswered = f"{probe.get('unanswered', 0)}/{probe.get('sent', 0)}"
        result = row.summary + (f" [error: {row.error}]" if row.error else "")
        yield (f"{row.scenario:15} {row.driver:9} {row.rss_start_mib:13.0f} {row.rss_peak_mib:6.0f} "
               f"{row.rss_end_mib:6.0f} {row.threads_peak:7d} {fmt(probe.get('p50_ms')):>8} "
               f"{fmt(probe.get('max_ms')):>8} {unanswered:>11} {row.loadavg:5.2f}  {result}")
    notes = [(row, name, window) for row in rows for name, window in row.probe_windows.items()]
    if notes:
        yield ""
    for row, name, window in notes:
        yield (f"  {row.scenario} {row.driver}, /hello during '{name}': p50 {fmt(window['p50_ms'])} ms, "
               f"max {fmt(window['max_ms'])} ms, {window['unanswered']}/{window['sent']} unanswered")
    failures = [(row, row.probe["failures"]) for row in rows if row.probe.get("failures")]
    for row, kinds in failures:
        yield f"  {row.scenario} {row.driver}, unanswered /hello by kind: {kinds}"


def naja_atra_location(tree: Path) -> str:
    """Where the server processes import naja_atra from (checked, not assumed)."""
    try:
        out = subprocess.run([sys.executable, "-B", "-c", "import naja_atra; print(naja_atra.__file__)"],
                             capture_output=True, text=True, timeout=30, env=os.environ, cwd=str(APP.parent))
    except subprocess.TimeoutExpired:
        return "(import timed out)"
    location = out.stdout.strip() or bench.last_line(out.stderr)
    if not location.startswith(str(tree)):
        log(f"warning: naja_atra is imported from {location}, not from {tree}")
    return location


def sizes_for(scenario: Scenario, args: argparse.Namespace) -> dict[str, float]:
    """Full or quick sizes, with the ``--<scenario>-<size>`` options applied."""
    sizes = dict(scenario.quick if args.quick else scenario.full)
    for key in sizes:
        value = getattr(args, option_dest(scenario.name, key))
        if value is not None:
            sizes[key] = value
    return sizes


def option_dest(scenario: str, key: str) -> str:
    """The argparse destination of a size option."""
    return f"size_{scenario}_{key}".replace("-", "_")


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    """Command-line options; one ``--<scenario>-<size>`` per size of every scenario."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help=f"any of {', '.join(BY_NAME)} (default all)")
    parser.add_argument("--tree", type=Path, default=Path(HERE).parent,
                        help="the checkout whose naja_atra the server imports (first on PYTHONPATH)")
    parser.add_argument("--drivers", default=",".join(DRIVERS), help="threading,asyncio (default both)")
    parser.add_argument("--quick", action="store_true", help="every size about 10x smaller")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the numbers as JSON")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a server.start keyword for every server (a limit, say max_connections=2000)")
    parser.add_argument("--app", action="append", default=[], metavar="NAME=VALUE",
                        help="a default_app attribute for every server (say run_sync_in_threadpool=true)")
    parser.add_argument("--uploads-route", default="/upload", help="/upload (streamed where possible) or /size")
    parser.add_argument("--probe-interval", type=float, default=0.05, help="seconds between /hello requests")
    parser.add_argument("--probe-timeout", type=float, default=5.0, help="seconds a /hello answer may take")
    parser.add_argument("--startup-timeout", type=float, default=20.0, help="seconds to wait for a server's port")
    for scenario in SCENARIOS:
        for key, full in scenario.full.items():
            parser.add_argument(f"--{scenario.name}-{key.replace('_', '-')}", type=float, default=None, metavar="N",
                                dest=option_dest(scenario.name, key),
                                help=f"default {full:g}, --quick {scenario.quick[key]:g}")
    args = parser.parse_args(argv)
    unknown = [name for name in args.scenarios if name not in BY_NAME]
    drivers = args.drivers.split(",")
    if unknown or not set(drivers) <= set(DRIVERS):
        parser.error(f"unknown scenario or driver: {unknown or drivers}")
    args.drivers = drivers
    return args


def main(argv: Optional[list[str]] = None) -> int:
    """Run the chosen scenarios on the chosen drivers; print the table (and write the JSON)."""
    args = parse_args(argv)
    if not Path("/proc/self/status").exists():
        raise SystemExit("this benchmark reads /proc: Linux only")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the servers inherit it too
    tree = args.tree.resolve()
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), os.environ.get("PYTHONPATH")]))
    meta = {**bench.run_metadata(), "tree": str(tree), "naja_atra": naja_atra_location(tree),
            "mode": "quick" if args.quick else "full size", "nofile": f"soft {soft} -> {hard}, hard {hard}",
            "drivers": args.drivers, "probe_interval": args.probe_interval, "probe_timeout": args.probe_timeout,
            "server_options": args.set, "app_options": args.app, "uploads_route": args.uploads_route}
    chosen = [BY_NAME[name] for name in args.scenarios] or list(SCENARIOS)
    meta["sizes"] = {scenario.name: sizes_for(scenario, args) for scenario in chosen}
    rows: list[Row] = []
    server_args = [arg for pair in args.set for arg in ("--set", pair)] + \
                  [arg for pair in args.app for arg in ("--app", pair)]

    def run_all() -> None:
        with tempfile.TemporaryDirectory(prefix="naja-hostile-") as log_dir:
            for scenario in chosen:
                for driver in args.drivers:
                    run = Run(tree, driver, Path(log_dir), server_args, args.probe_interval, args.probe_timeout,
                              args.startup_timeout)
                    log(f"{scenario.name} / {driver} ...")
                    for row in run_scenario(scenario.name, run, meta["sizes"][scenario.name], args.uploads_route):
                        log(f"  {row.scenario}: {row.summary} {row.error}".rstrip())
                        rows.append(row)

    def report_out() -> None:
        meta["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        print("\n".join(format_table(meta, rows)), flush=True)
        if args.json:
            args.json.write_text(json.dumps({"meta": meta, "rows": [asdict(row) for row in rows]}, indent=2) + "\n")

    return int(bench.run_reporting(run_all, report_out, lambda: bool(rows)))


if __name__ == "__main__":
    sys.exit(main())
