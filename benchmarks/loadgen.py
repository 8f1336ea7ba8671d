"""A small HTTP/1.1 load generator: keep-alive connections over raw sockets.

Used by ``benchmarks/http.py`` when ``wrk`` is not available, and runnable on
its own::

    python3 benchmarks/loadgen.py --url http://127.0.0.1:8080/hello -c 32 -d 5
    python3 benchmarks/loadgen.py --selftest      # how fast is the generator itself?

Each of N connections sends one GET, waits for the whole response (framed by
``Content-Length``, or a chunked body), records the latency and sends the next
one: sequential requests, no pipelining, the same model as ``wrk``.  A single
thread drives all connections with ``selectors`` (epoll on Linux); the parsing
is the minimum needed to find where a response ends, so that the generator
stays far from being the bottleneck.

The result is one JSON object on stdout: requests, errors, req/s, latency
percentiles in milliseconds and the generator's own CPU use (a value near 1.0
means the generator saturated its core and the numbers are a lower bound).
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import os
import selectors
import socket
import subprocess
import sys
import time
from typing import cast
from urllib.parse import urlsplit

_HEADER_END = b"\r\n\r\n"
_CONTENT_LENGTH = b"\ncontent-length:"
_CHUNKED = b"transfer-encoding: chunked"
_CONNECTION_CLOSE = b"\nconnection: close"
_LAST_CHUNK = b"\r\n0\r\n\r\n"


class Connection:
    """One keep-alive client connection (non-blocking) and its receive buffer."""

    __slots__ = ("sock", "buf", "sent_at", "connecting")

    def __init__(self, address: tuple[str, int], sent_at: float) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code = self.sock.connect_ex(address)
        if code not in (0, errno.EINPROGRESS):
            self.sock.close()
            raise OSError(code, os.strerror(code))
        self.buf = b""
        self.sent_at = sent_at
        self.connecting = True

    def close(self) -> None:
        """Close the socket, ignoring errors."""
        try:
            self.sock.close()
        except OSError:
            pass


def response_end(buf: bytes) -> tuple[int, bool]:
    """Return ``(end, close)`` for the first complete response in ``buf``.

    ``end`` is the index just past the response, or -1 if it is not complete
    yet; ``close`` tells whether the server announced ``Connection: close``.
    """
    head_end = buf.find(_HEADER_END)
    if head_end < 0:
        return -1, False
    head = buf[:head_end].lower()
    body_start = head_end + 4
    close = _CONNECTION_CLOSE in head
    pos = head.find(_CONTENT_LENGTH)
    if pos >= 0:
        eol = head.find(b"\r\n", pos + 1)
        value = head[pos + len(_CONTENT_LENGTH) : eol if eol >= 0 else len(head)]
        end = body_start + int(value)
        return (end if len(buf) >= end else -1), close
    if _CHUNKED in head:
        if buf.startswith(b"0\r\n\r\n", body_start):
            return body_start + 5, close
        last = buf.find(_LAST_CHUNK, body_start)
        return (last + len(_LAST_CHUNK) if last >= 0 else -1), close
    return body_start, close  # no body (e.g. 204/304)


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, int(round(fraction * len(sorted_values))) - 1))
    return sorted_values[index]


def summarize(latencies: list[float], errors: int, elapsed: float, cpu: float) -> dict[str, float | int]:
    """Turn raw per-request latencies (seconds) into the JSON result."""
    latencies.sort()
    count = len(latencies)
    return {
        "requests": count,
        "errors": errors,
        "seconds": round(elapsed, 3),
        "rps": round(count / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 3),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 3),
        "max_ms": round((latencies[-1] if latencies else 0.0) * 1000, 3),
        "mean_ms": round(sum(latencies) / count * 1000, 3) if count else 0.0,
        "client_cpu": round(cpu / elapsed, 2) if elapsed > 0 else 0.0,
    }


class LoadGenerator:
    """Drive ``connections`` keep-alive connections against one URL.

    A connection that the server closes between responses is reopened and the
    request that was waiting on it is sent again (counted as a reconnect, its
    latency including the new connection); a connection that breaks in the
    middle of a response counts as an error.
    """

    def __init__(self, host: str, port: int, path: str, connections: int, idle_timeout: float = 5.0) -> None:
        self.address = (host, port)
        self.request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode("latin-1")
        self.connections = connections
        self.idle_timeout = idle_timeout
        self.selector = selectors.DefaultSelector()
        self.latencies: list[float] = []
        self.errors = 0
        self.reconnects = 0
        self.recording = False

    def _open(self, sent_at: float) -> None:
        """Start a non-blocking connect; the request goes out once it completes."""
        conn = Connection(self.address, sent_at)
        self.selector.register(conn.sock, selectors.EVENT_WRITE, conn)

    def _reopen(self, conn: Connection, sent_at: float) -> None:
        self.selector.unregister(conn.sock)
        conn.close()
        self._open(sent_at)

    def _on_connected(self, conn: Connection, now: float) -> None:
        """The connect finished: send the request (or retry the connect if it failed)."""
        code = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            self.errors += self.recording
            self._reopen(conn, now)
            return
        conn.connecting = False
        self.selector.modify(conn.sock, selectors.EVENT_READ, conn)
        self._send(conn)

    def _send(self, conn: Connection) -> None:
        """Send the request; a connection the server already closed is reopened for it."""
        try:
            conn.sock.send(self.request)
        except OSError:
            self.reconnects += self.recording
            self._reopen(conn, conn.sent_at)

    def _on_closed(self, conn: Connection, now: float) -> None:
        """The server closed: retry the waiting request, or count the broken response."""
        if conn.buf:
            self.errors += self.recording
            self._reopen(conn, now)
        else:
            self.reconnects += self.recording
            self._reopen(conn, conn.sent_at)

    def _on_readable(self, conn: Connection, now: float) -> None:
        """Consume what arrived; when a response is complete, record it and send the next request."""
        try:
            data = conn.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._on_closed(conn, now)
            return
        buf = conn.buf + data if conn.buf else data
        end, close = response_end(buf)
        if end < 0:
            conn.buf = buf
            return
        if self.recording:
            self.latencies.append(now - conn.sent_at)
            if buf[9:10] not in (b"2", b"3"):
                self.errors += 1
        conn.buf = buf[end:]
        conn.sent_at = now
        if close:
            self.reconnects += self.recording
            self._reopen(conn, now)
        else:
            self._send(conn)

    def run(self, warmup: float, duration: float) -> dict[str, float | int]:
        """Warm up, then measure for ``duration`` seconds; return the summary."""
        clock = time.perf_counter
        for _ in range(self.connections):
            self._open(clock())
        measure_from = clock() + warmup
        stop_at = measure_from + duration
        cpu_start = 0.0
        select = self.selector.select
        try:
            while True:
                events = select(self.idle_timeout)
                now = clock()
                if not events:
                    raise TimeoutError(f"no progress on any connection for {self.idle_timeout}s")
                if not self.recording and now >= measure_from:
                    self.recording = True
                    cpu_start = time.process_time()
                if now >= stop_at:
                    break
                for key, _ in events:
                    conn = key.data
                    if conn.connecting:
                        self._on_connected(conn, now)
                    else:
                        self._on_readable(conn, now)
        finally:
            for key in list(self.selector.get_map().values()):
                key.data.close()
            self.selector.close()
        cpu = time.process_time() - cpu_start
        result = summarize(self.latencies, self.errors, duration, cpu)
        result["reconnects"] = self.reconnects
        return result


# --- self-test: a trivial raw asyncio server --------------------------------

_TRIVIAL_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!"


class _TrivialProtocol(asyncio.Protocol):
    """Answer every request head with the same fixed response."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.pending = b""

    def data_received(self, data: bytes) -> None:
        data = self.pending + data
        count = data.count(_HEADER_END)
        self.pending = data[data.rfind(_HEADER_END) + 4 :] if count else data
        if count:
            self.transport.write(_TRIVIAL_RESPONSE * count)


def serve_trivial(port: int) -> None:
    """Run the trivial server on 127.0.0.1:``port`` until killed."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_TrivialProtocol, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"trivial server did not listen on port {port}")


def selftest(connections: int, warmup: float, duration: float) -> dict[str, float | int]:
    """Measure the generator against the trivial server (server on CPU 0, us on CPU 1)."""
    port = _free_port()
    cmd = [sys.executable, "-I", os.path.abspath(__file__), "--trivial-server", str(port)]
    server = subprocess.Popen(cmd, preexec_fn=lambda: pin_to_cpu(0))
    try:
        _wait_for_port(port, 10.0)
        pin_to_cpu(1)
        result = LoadGenerator("127.0.0.1", port, "/", connections).run(warmup, duration)
    finally:
        server.terminate()
        server.wait(5)
    # what the generator could do with its whole CPU, if the server was the limit
    cpu = float(result["client_cpu"])
    result["rps_per_client_cpu"] = round(float(result["rps"]) / cpu, 1) if cpu else 0.0
    return result


def pin_to_cpu(cpu: int) -> None:
    """Pin the calling process to one CPU when the platform and machine allow it."""
    if hasattr(os, "sched_setaffinity") and cpu in os.sched_getaffinity(0):
        os.sched_setaffinity(0, {cpu})


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="http://HOST:PORT/PATH to load")
    parser.add_argument("-c", "--connections", type=int, default=32)
    parser.add_argument("-d", "--duration", type=float, default=5.0, help="measured seconds")
    parser.add_argument("-w", "--warmup", type=float, default=1.0, help="unmeasured seconds first")
    parser.add_argument("--cpu", type=int, default=None, help="pin the generator to this CPU")
    parser.add_argument("--selftest", action="store_true", help="measure against a trivial asyncio server")
    parser.add_argument("--trivial-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not (args.url or args.selftest or args.trivial_server):
        parser.error("one of --url or --selftest is required")
    return args


def main(argv: list[str] | None = None) -> int:
    """Entry point: print one JSON result line."""
    args = parse_args(argv)
    if args.trivial_server:
        serve_trivial(args.trivial_server)
        return 0
    if args.selftest:
        result = selftest(args.connections, args.warmup, args.duration)
    else:
        if args.cpu is not None:
            pin_to_cpu(args.cpu)
        url = urlsplit(args.url)
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        generator = LoadGenerator(url.hostname or "127.0.0.1", url.port or 80, path, args.connections)
        result = generator.run(args.warmup, args.duration)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
