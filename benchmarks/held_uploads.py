"""Server memory while many large uploads are held open, one byte short of their end.

    python3 benchmarks/held_uploads.py                      # this checkout, both built-in servers
    python3 benchmarks/held_uploads.py --tree ../other-tree # another checkout of the package
    python3 benchmarks/held_uploads.py --uploads 120 --size-mib 15.9

For each built-in server mode, it starts ``benchmarks/apps/naja_body_app.py`` (a route that
answers the size of ``request.body``, so the body is read whole before the controller runs)
from the chosen tree on a free port of 127.0.0.1, opens ``--uploads`` connections, sends on
each a ``Content-Length`` head and all of the body but its last byte, waits until the
server's memory stops growing, and prints the server's resident memory (``VmRSS``) and its
peak (``VmHWM``) read from ``/proc``. Then it sends the last bytes, checks every answer and
prints the peak again: each controller then holds its whole ``request.body`` as bytes, so
that peak is what the application asked for (``RequestBodyReader`` or an upload's
``chunks()`` keep it low).
Linux only (``/proc``). Every wait is bounded; the server is stopped by its PID.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MIB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def memory_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of ``pid`` in kB."""
    values = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


def wait_port(port: int, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


def run(tree: Path, mode: str, uploads: int, size: int) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, str(HERE / "apps" / "naja_body_app.py"), "--port", str(port), "--mode", mode]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    socks: list[socket.socket] = []
    try:
        wait_port(port, process)
        idle_rss, _ = memory_kb(process.pid)
        head = (f"POST /size HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {size}\r\n"
                "Content-Type: application/octet-stream\r\n\r\n").encode("ascii")
        piece = b"u" * MIB
        started = time.monotonic()
        for _ in range(uploads):
            sock = socket.create_connection(("127.0.0.1", port), timeout=60)
            sock.sendall(head)
            socks.append(sock)
        left = size - 1
        while left > 0:  # round-robin, so every upload advances together
            step = min(len(piece), left)
            for sock in socks:
                sock.sendall(piece[:step])
            left -= step
        # Let the server take in what was sent: its memory stops moving.
        last, stable_since = -1, time.monotonic()
        while time.monotonic() - stable_since < 1.0 and time.monotonic() - started < 120:
            rss, _ = memory_kb(process.pid)
            if rss != last:
                last, stable_since = rss, time.monotonic()
            time.sleep(0.1)
        held_rss, held_peak = memory_kb(process.pid)
        for sock in socks:
            sock.sendall(b"u")
        answered = 0
        for sock in socks:
            data = b""
            while not data.endswith(str(size).encode()):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
            answered += data.startswith(b"HTTP/1.1 200")
        _, final_peak = memory_kb(process.pid)
        print(f"{mode:10} {uploads} x {size / MIB:.1f} MiB held: RSS idle {idle_rss / 1024:.0f} MiB, "
              f"held {held_rss / 1024:.0f} MiB (peak so far {held_peak / 1024:.0f} MiB); peak after the "
              f"controllers read request.body {final_peak / 1024:.0f} MiB; {answered}/{uploads} answered 200")
    finally:
        for sock in socks:
            sock.close()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, default=HERE.parent, help="checkout whose naja_atra is measured")
    parser.add_argument("--uploads", type=int, default=60)
    parser.add_argument("--size-mib", type=float, default=15.9)
    parser.add_argument("--modes", default="threading,asyncio")
    args = parser.parse_args()
    if not Path("/proc/self/status").exists():
        raise SystemExit("this benchmark reads /proc: Linux only")
    for mode in args.modes.split(","):
        run(args.tree.resolve(), mode, args.uploads, int(args.size_mib * MIB))


if __name__ == "__main__":
    main()
