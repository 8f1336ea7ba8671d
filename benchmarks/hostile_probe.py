"""What ``hostile.py`` measures while an attack runs: the server's ``/proc`` numbers and the
latency a normal client sees.

:class:`ProcSampler` reads ``VmRSS``, ``VmHWM`` and ``Threads`` from ``/proc/PID/status``
every 100 ms on a thread of the harness. :class:`Probe` runs this file as its own process
(so that the attack's work in the harness does not delay it): every ``--interval`` seconds
it opens a fresh connection, sends ``GET /hello`` and waits at most ``--timeout`` seconds for
the whole ``200 Hello, World!``; requests overlap when the server is slow, so a stalled
server shows up as many unanswered requests rather than as one long wait. It stops when
its stdin closes (or after ``--max-seconds``) and prints one JSON line: per request, when it
started (``time.monotonic()``, the same clock in every process on Linux) and its latency in
ms, or ``null`` with the reason it failed.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional

HOST = "127.0.0.1"
EXPECTED = b"Hello, World!"
#: A response bigger than this is not /hello's: stop reading.
MAX_RESPONSE = 64 * 1024


def read_status(pid: int) -> Optional[dict[str, int]]:
    """``VmRSS`` and ``VmHWM`` (kB) and ``Threads`` of ``pid``; None once it has exited."""
    values: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM", "Threads"):
                    values[key] = int(rest.split()[0])
    except (OSError, ValueError):
        return None
    # A zombie has no memory lines left: treat it as gone.
    return values if len(values) == 3 else None


class ProcSampler:
    """Samples a process's memory and threads until stopped (or until the process exits)."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        first = read_status(pid) or {"VmRSS": 0, "VmHWM": 0, "Threads": 0}
        self.rss_start_kb = first["VmRSS"]
        self.last = first
        self.hwm_kb = first["VmHWM"]
        self.threads_peak = first["Threads"]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="proc-sampler", daemon=True)

    def __enter__(self) -> ProcSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if not self.sample():
                return

    def sample(self) -> bool:
        """Read the numbers once; False once the process is gone."""
        values = read_status(self.pid)
        if values is None:
            return False
        self.last = values
        self.hwm_kb = max(self.hwm_kb, values["VmHWM"])
        self.threads_peak = max(self.threads_peak, values["Threads"])
        return True

    def rss_kb(self) -> int:
        """The resident memory now (the last sample if the process is gone)."""
        self.sample()
        return self.last["VmRSS"]

    def stop(self) -> None:
        """Take a last sample and stop the thread (bounded)."""
        self.sample()
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def numbers(self) -> dict[str, Any]:
        """MiB at the start, peak (VmHWM: the kernel's own high-water mark) and at the end."""
        return {
            "rss_start_mib": round(self.rss_start_kb / 1024, 1),
            "rss_peak_mib": round(self.hwm_kb / 1024, 1),
            "rss_end_mib": round(self.last["VmRSS"] / 1024, 1),
            "threads_peak": self.threads_peak,
        }


class Probe:
    """The normal client, as a child process; :meth:`finish` stops it and returns its samples."""

    def __init__(self, port: int, interval: float, timeout: float, max_seconds: float) -> None:
        self.timeout = timeout
        self.command = [sys.executable, "-B", str(Path(__file__).resolve()), "--port", str(port),
                        "--interval", str(interval), "--timeout", str(timeout), "--max-seconds", str(max_seconds)]
        self.proc: Optional[subprocess.Popen[str]] = None

    def __enter__(self) -> Probe:
        self.proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def finish(self) -> list[list[Any]]:
        """Close its stdin (its signal to stop), wait for its report (bounded), return the samples."""
        assert self.proc is not None
        try:
            out, _ = self.proc.communicate(timeout=self.timeout + 15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            return []
        try:
            return list(json.loads(out.strip().splitlines()[-1]))
        except (ValueError, IndexError):
            return []


def summarize(samples: list[list[Any]], start: float = 0.0, end: float = float("inf")) -> dict[str, Any]:
    """p50/max latency and unanswered count of the requests started in ``[start, end)``."""
    chosen = [s for s in samples if start <= s[0] < end]
    latencies = sorted(s[1] for s in chosen if s[1] is not None)
    failures: dict[str, int] = {}
    for s in chosen:
        if s[1] is None:
            failures[s[2]] = failures.get(s[2], 0) + 1
    return {
        "sent": len(chosen),
        "answered": len(latencies),
        "unanswered": len(chosen) - len(latencies),
        "failures": failures,
        "p50_ms": round(latencies[len(latencies) // 2], 1) if latencies else None,
        "max_ms": round(latencies[-1], 1) if latencies else None,
    }


# --- the probe process ------------------------------------------------------------------


async def exchange(port: int) -> bytes:
    """Send ``GET /hello`` on a fresh connection and read the answer (the caller bounds the time)."""
    request = f"GET /hello HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n".encode()
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(request)
        data = b""
        while len(data) < MAX_RESPONSE and not (data.startswith(b"HTTP/1.1 200") and data.endswith(EXPECTED)):
            chunk = await reader.read(65536)
            if not chunk:
                break
            data += chunk
        return data
    finally:
        writer.close()


async def one_request(port: int, timeout: float) -> tuple[Optional[float], str]:
    """One request: (latency ms, "") or (None, why it failed)."""
    started = time.monotonic()
    try:
        data = await asyncio.wait_for(exchange(port), timeout)
    except asyncio.TimeoutError:
        return None, "timeout"
    except OSError as exc:
        return None, type(exc).__name__
    if not data.startswith(b"HTTP/1.1 200") or not data.endswith(EXPECTED):
        return None, "bad answer" if data else "closed"
    return (time.monotonic() - started) * 1000.0, ""


async def probe(port: int, interval: float, timeout: float, max_seconds: float) -> list[list[Any]]:
    """Send a request every ``interval`` until stdin closes; return ``[started, ms, why]`` each."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    # stdin is a pipe from the harness: EOF (closed or the harness gone) means stop.
    threading.Thread(target=lambda: (sys.stdin.read(), loop.call_soon_threadsafe(stop.set)), daemon=True).start()
    samples: list[list[Any]] = []
    tasks: set[asyncio.Task[None]] = set()

    async def measured() -> None:
        started = time.monotonic()
        latency, why = await one_request(port, timeout)
        samples.append([started, latency, why])

    deadline = time.monotonic() + max_seconds
    while not stop.is_set() and time.monotonic() < deadline:
        task = asyncio.ensure_future(measured())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except asyncio.TimeoutError:
            pass
    if tasks:  # each one ends within its own timeout
        await asyncio.wait(tasks, timeout=timeout + 1)
    return sorted(samples, key=lambda sample: sample[0])


def main() -> None:
    """Run the probe; print its samples as one JSON line."""
    parser = argparse.ArgumentParser(description="the normal client of benchmarks/hostile.py")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--max-seconds", type=float, default=600.0)
    args = parser.parse_args()
    samples = asyncio.run(probe(args.port, args.interval, args.timeout, args.max_seconds))
    print(json.dumps(samples), flush=True)


if __name__ == "__main__":
    main()
