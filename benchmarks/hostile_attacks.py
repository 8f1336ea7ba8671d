"""The client side of ``hostile.py``'s scenarios: each attack talks to the app of
``apps/hostile_app.py`` over sockets and returns an :class:`Outcome` (a one-line summary for
the table, the numbers behind it, and the time windows the normal client is summarized over).

Every socket has a timeout or an overall deadline, and every thread started here ends by
itself within a bound.
"""
from __future__ import annotations

import asyncio
import base64
import fcntl
import json
import os
import signal
import socket
import struct
import subprocess
import termios
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from wsloadgen import accept_value, parse_frame

HOST = "127.0.0.1"
MIB = 1024 * 1024


class NoAnswer(ConnectionError):
    """The server closed the connection without answering."""


#: Connects in flight at once while slowloris ramps up (a burst of 6,000 SYNs would only
#: measure the listen backlog).
CONNECT_CONCURRENCY = 256
#: XOR with each byte of a masking key: the masked payload byte ``a`` for that key.
_MASKED_A = bytes(k ^ ord("a") for k in range(256))


@dataclass
class Outcome:
    """What an attack saw. ``windows``: name -> (start, end) on ``time.monotonic()``; the
    normal client is summarized over ``attack`` (all its requests when absent) and each other."""

    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    windows: dict[str, tuple[float, float]] = field(default_factory=dict)


# --- plain HTTP and WebSocket helpers ----------------------------------------------------


def exchange(port: int, method: str, path: str, body: bytes = b"", timeout: float = 10.0,
             content_type: str = "application/octet-stream") -> tuple[int, bytes]:
    """One request on a fresh ``Connection: close`` connection; (status, body). Raises OSError
    (``TimeoutError`` past ``timeout`` seconds in all) or ValueError for a garbled answer."""
    deadline = time.monotonic() + timeout
    head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n"
    if body or method == "POST":
        head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        data = b""
        while True:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            data += chunk
            length = _content_length(data)
            if length is not None and len(data) >= data.index(b"\r\n\r\n") + 4 + length:
                break
    raw_head, sep, payload = data.partition(b"\r\n\r\n")
    if not data:
        raise NoAnswer("closed without an answer")
    if not sep:
        raise ValueError(f"no complete response head: {data[:80]!r}")
    return int(raw_head.split(b" ", 2)[1]), payload


def _content_length(data: bytes) -> Optional[int]:
    """The Content-Length of a complete response head in ``data``, else None."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    for line in data[:end].lower().split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return None


def fetch_stats(port: int, timeout: float = 3.0) -> Optional[dict[str, Any]]:
    """The app's ``/stats``; None when the server does not answer in time."""
    try:
        status, body = exchange(port, "GET", "/stats", timeout=timeout)
        return dict(json.loads(body)) if status == 200 else None
    except (OSError, ValueError):
        return None


def ws_connect(port: int, path: str, timeout: float = 10.0) -> socket.socket:
    """A socket past the opening handshake of ``path`` (no extension offered)."""
    key = base64.b64encode(os.urandom(16))
    sock = socket.create_connection((HOST, port), timeout=timeout)
    try:
        sock.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\n"
                     b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
                     b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(1)  # byte by byte: what follows the head belongs to the frames
            if not chunk:
                raise ConnectionError(f"handshake of {path}: closed after {head!r}")
            head += chunk
        if not head.startswith(b"HTTP/1.1 101") or accept_value(key) not in head:
            raise ConnectionError(f"handshake of {path} refused: {head[:80]!r}")
    except BaseException:
        sock.close()
        raise
    return sock


class Requests:
    """``count`` requests sent at once, one thread each; every thread ends within ``timeout``."""

    def __init__(self, port: int, count: int, method: str, path: str, timeout: float) -> None:
        self.results: list[tuple[int, bytes, float] | str] = []
        self._lock = threading.Lock()
        self.timeout = timeout
        self.threads = [threading.Thread(target=self._one, args=(port, method, path), daemon=True)
                        for _ in range(count)]
        for thread in self.threads:
            thread.start()

    def _one(self, port: int, method: str, path: str) -> None:
        started = time.monotonic()
        try:
            status, body = exchange(port, method, path, timeout=self.timeout)
            result: tuple[int, bytes, float] | str = (status, body, time.monotonic() - started)
        except (OSError, ValueError) as exc:
            result = type(exc).__name__
        with self._lock:
            self.results.append(result)

    def join(self, bound: float) -> None:
        """Wait for the threads, at most ``bound`` seconds in all."""
        deadline = time.monotonic() + bound
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def answered(self, expect: bytes) -> int:
        """Complete 200 answers whose body starts with ``expect``."""
        with self._lock:
            return sum(1 for r in self.results if isinstance(r, tuple) and r[0] == 200 and r[1].startswith(expect))

    def failures(self) -> dict[str, int]:
        """The other outcomes, counted by kind (a status, or the exception's name)."""
        with self._lock:
            return dict(Counter(r if isinstance(r, str) else str(r[0]) for r in self.results
                                if isinstance(r, str) or r[0] != 200))


# --- 1. slowloris -------------------------------------------------------------------------


def slowloris(port: int, connections: int, seconds: float, line_interval: float) -> Outcome:
    """Keep ``connections`` connections each sending a request head one header line every
    ``line_interval`` seconds, never finishing it; a connection the server ends is reopened."""
    counts: Counter[str] = Counter()  # connects that failed, connections the server ended, by kind
    lifetimes: list[float] = []  # seconds from connect to the server ending it
    state = {"open": 0, "peak": 0, "opened": 0}

    async def hold(index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        opened = loop.time()
        writer.write(b"GET /hello HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\n")
        line = 0
        while loop.time() < deadline:
            try:
                data = await asyncio.wait_for(reader.read(1024), min(line_interval, deadline - loop.time()))
            except asyncio.TimeoutError:
                line += 1
                writer.write(f"X-Slow-{line}: {index}\r\n".encode())
                continue
            except OSError as exc:
                data, kind = b"", type(exc).__name__
            else:
                kind = data[9:12].decode(errors="replace") if data else "closed"
            counts[kind] += 1
            lifetimes.append(loop.time() - opened)
            return

    async def one(index: int, deadline: float, gate: asyncio.Semaphore) -> None:
        loop = asyncio.get_running_loop()
        while loop.time() < deadline:
            try:
                async with gate:
                    reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), 10)
            except (OSError, asyncio.TimeoutError) as exc:
                counts[f"connect {type(exc).__name__}"] += 1
                await asyncio.sleep(min(line_interval, max(0.0, deadline - loop.time())))
                continue
            state["opened"] += 1
            state["open"] += 1
            state["peak"] = max(state["peak"], state["open"])
            try:
                await hold(index, reader, writer, deadline)
            finally:
                state["open"] -= 1
                writer.close()

    async def attack() -> None:
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        deadline = asyncio.get_running_loop().time() + seconds
        await asyncio.gather(*(one(i, deadline, gate) for i in range(connections)))

    started = time.monotonic()
    asyncio.run(attack())
    failed = sum(n for k, n in counts.items() if k.startswith("connect"))
    ended = {k: n for k, n in counts.items() if not k.startswith("connect")}
    lifetimes.sort()
    when = (f" after {lifetimes[len(lifetimes) // 2]:.1f}s median, {lifetimes[-1]:.1f}s max" if lifetimes else "")
    kinds = f" {ended}" if ended else ""
    return Outcome(f"{state['peak']} open at peak; ended by the server: {sum(ended.values())}{kinds}{when}; "
                   f"{failed} connects failed",
                   {"peak_open": state["peak"], "opened": state["opened"], "ended": ended, "connect_failures": failed,
                    "ended_after_s_median": round(lifetimes[len(lifetimes) // 2], 2) if lifetimes else None},
                   {"attack": (started, time.monotonic())})


# --- 2. slow readers ------------------------------------------------------------------------


def slow_readers(port: int, clients: int, mib: float, seconds: float) -> Outcome:
    """``clients`` connections ask for ``/stream`` of ``mib`` MiB and never read it."""
    socks: list[socket.socket] = []
    started = time.monotonic()
    try:
        for _ in range(clients):
            sock = socket.create_connection((HOST, port), timeout=10)
            socks.append(sock)
            sock.sendall(f"GET /stream?mib={mib}&piece=65536 HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
        time.sleep(seconds)
        queued = sum(_unread_bytes(sock) for sock in socks)
    finally:
        for sock in socks:
            sock.close()
    return Outcome(f"{clients} x {mib:g} MiB unread for {seconds:g}s; {queued / MIB:.1f} MiB waiting in the "
                   "clients' receive buffers", {"client_buffered_mib": round(queued / MIB, 1)},
                   {"attack": (started, time.monotonic())})


def _unread_bytes(sock: socket.socket) -> int:
    """Bytes in the socket's receive buffer, looked at without reading them (FIONREAD)."""
    return int(struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0])


# --- 3. a WebSocket client that does not read -------------------------------------------------


def ws_slow_reader(port: int, readers: int, seconds: float) -> Outcome:
    """``readers`` clients read the broadcast of ``/feed``; one more (``name=slow``) never reads.
    Waits until the server drops the slow one or ``seconds`` pass."""
    stop = threading.Event()
    received = [0] * readers
    socks: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def read(index: int, sock: socket.socket) -> None:
        sock.settimeout(0.5)
        while not stop.is_set():
            try:
                data = sock.recv(1 << 20)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            received[index] += len(data)

    started = time.monotonic()
    dropped_after: Optional[float] = None
    try:
        for index in range(readers):
            socks.append(ws_connect(port, f"/feed?name=reader{index}"))
            threads.append(threading.Thread(target=read, args=(index, socks[-1]), daemon=True))
            threads[-1].start()
        socks.append(ws_connect(port, "/feed?name=slow"))
        slow_opened = time.monotonic()
        deadline = slow_opened + seconds
        while time.monotonic() < deadline:
            stats = fetch_stats(port, timeout=min(3.0, max(0.1, deadline - time.monotonic())))
            if stats and any(c["name"] == "slow" for c in stats["broadcast"]["closed"]):
                dropped_after = time.monotonic() - slow_opened
                break
            time.sleep(0.5)
        ended = time.monotonic()
        stats = fetch_stats(port, timeout=5.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join(2)
        for sock in socks:
            sock.close()
    return _ws_outcome(stats, dropped_after, seconds, received, ended - started, (started, ended))


def _ws_outcome(stats: Optional[dict[str, Any]], dropped_after: Optional[float], seconds: float,
                received: list[int], elapsed: float, window: tuple[float, float]) -> Outcome:
    """The broadcast's round times as the server measured them, and the slow client's fate."""
    details: dict[str, Any] = {"dropped_after_s": None if dropped_after is None else round(dropped_after, 2),
                               "reader_min_mib_s": round(min(received, default=0) / MIB / elapsed, 2)}
    if stats is None:
        return Outcome("/stats did not answer", details, {"attack": window})
    broadcast = stats["broadcast"]
    rounds = sorted(broadcast["rounds_ms"])
    stuck_ms = broadcast["round_running_s"] * 1000.0
    details.update(rounds=len(rounds), round_p50_ms=rounds[len(rounds) // 2] if rounds else None,
                   round_max_ms=max(rounds[-1] if rounds else 0.0, stuck_ms), round_running_ms=stuck_ms,
                   closed=broadcast["closed"], send_errors=broadcast["send_errors"])
    slow = [c for c in broadcast["closed"] if c["name"] == "slow"]
    # The server's own on_open -> on_close time; the harness only polls /stats every 0.5 s.
    fate = (f"slow client dropped after {slow[0]['open_s']:.1f}s (code {slow[0]['code']})" if slow
            else f"slow client not dropped within {seconds:g}s")
    p50 = details["round_p50_ms"]
    return Outcome(f"{len(rounds)} rounds, p50 {p50 if p50 is not None else '-'} ms, max "
                   f"{details['round_max_ms']:.0f} ms; {fate}; readers got >= {details['reader_min_mib_s']} MiB/s",
                   details, {"attack": window})


# --- 4. held uploads and a form with many fields ---------------------------------------------


def form_body(fields: int, size: int) -> bytes:
    """A URL-encoded form of ``fields`` fields and exactly ``size`` bytes (when size allows)."""
    width = max(8, (size - (fields - 1)) // fields)  # name (6 hex digits) '=' value
    value = "v" * (width - 7)
    body = "&".join(f"{i:06x}={value}" for i in range(fields)).encode()
    return body + b"v" * max(0, size - len(body))


def uploads(port: int, clients: int, mib: float, route: str, form_fields: int, form_mib: float,
            rss_kb: Callable[[], int]) -> Outcome:
    """``clients`` uploads of ``mib`` MiB each, sent but for their last byte and held; while
    they are held one client posts a big form; then the uploads are finished and answered."""
    size = int(mib * MIB)
    head = (f"POST {route} HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: {size}\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    socks: list[socket.socket] = []
    dead: set[socket.socket] = set()
    piece = b"u" * MIB
    started = time.monotonic()
    try:
        for _ in range(clients):
            socks.append(socket.create_connection((HOST, port), timeout=60))
            socks[-1].sendall(head)
        left = size - 1
        while left > 0:  # round-robin (as held_uploads.py does), so every upload advances together
            step = min(len(piece), left)
            for sock in socks:
                if sock not in dead:
                    _send_or_mark(sock, piece[:step], dead)
            left -= step
        held_at = time.monotonic()
        held_rss = _settled_rss(rss_kb, bound=60.0)
        form = form_body(form_fields, int(form_mib * MIB))
        form_started = time.monotonic()
        try:
            status, answer = exchange(port, "POST", "/form", form, timeout=120,
                                      content_type="application/x-www-form-urlencoded")
            # The body of a refusal is an error page: its status says enough.
            form_result = f"{status} {answer[:40].decode(errors='replace')}" if status == 200 else str(status)
        except (OSError, ValueError) as exc:
            form_result = type(exc).__name__
        form_ended = time.monotonic()
        for sock in socks:
            if sock not in dead:
                _send_or_mark(sock, b"u", dead)
        answers = _read_answers([s for s in socks if s not in dead], bound=60.0)
    finally:
        for sock in socks:
            sock.close()
    kinds = Counter(_answer_kind(answer) for answer in answers)
    return Outcome(
        f"held: RSS {held_rss / 1024:.0f} MiB; form ({form_fields:,} fields): {form_result} in "
        f"{form_ended - form_started:.1f}s; uploads answered {dict(kinds)}, {len(dead)} broken",
        {"held_rss_mib": round(held_rss / 1024, 1), "form": form_result,
         "form_s": round(form_ended - form_started, 2), "answers": dict(kinds), "broken": len(dead)},
        {"attack": (started, form_ended), "held": (held_at, form_started), "form": (form_started, form_ended)})


def _answer_kind(answer: bytes) -> str:
    """``200 streamed`` / ``200 buffered`` (the first word of the body), another status, or ``none``."""
    head, _, body = answer.partition(b"\r\n\r\n")
    status = head[9:12].decode(errors="replace") or "none"
    word = body.split(b" ", 1)[0].decode(errors="replace") if status == "200" else ""
    return f"{status} {word}".strip() if not word.isdigit() else f"{status} buffered"


def _send_or_mark(sock: socket.socket, data: bytes, dead: set[socket.socket]) -> None:
    """Send, or note that the server closed (or stopped reading) this upload."""
    try:
        sock.sendall(data)
    except OSError:
        dead.add(sock)


def _settled_rss(rss_kb: Callable[[], int], bound: float) -> int:
    """The server's RSS once it has not moved for a second (at most ``bound`` seconds)."""
    deadline = time.monotonic() + bound
    last, since = -1, time.monotonic()
    while time.monotonic() - since < 1.0 and time.monotonic() < deadline:
        rss = rss_kb()
        if rss != last:
            last, since = rss, time.monotonic()
        time.sleep(0.1)
    return last


def _read_answers(socks: list[socket.socket], bound: float) -> list[bytes]:
    """The first bytes of each socket's answer (up to its end or ``bound`` seconds in all)."""
    deadline = time.monotonic() + bound
    answers = []
    for sock in socks:
        data = b""
        try:
            while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < (_content_length(data) or 0):
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        answers.append(data)
    return answers


# --- 5. a message in one-byte fragments ------------------------------------------------------


def fragment_batch(count: int, first: bool, last: bool) -> bytes:
    """``count`` masked one-byte frames carrying ``a``: continuation frames, the first of the
    message a text frame when ``first``, the final one with FIN when ``last``."""
    keys = os.urandom(4 * count)  # a fresh masking key per frame, as a client must use
    frames = bytearray(7 * count)
    frames[1::7] = b"\x81" * count  # mask bit, length 1
    for j in range(4):
        frames[2 + j::7] = keys[j::4]
    frames[6::7] = keys[0::4].translate(_MASKED_A)
    if first:
        frames[0] = 0x01
    if last:
        frames[-7] = 0x80
    return bytes(frames)


def fragments(port: int, frames: int, reply_timeout: float) -> Outcome:
    """One text message of ``frames`` bytes sent to ``/sink`` as ``frames`` one-byte frames."""
    batch = 65536
    sent, error = 0, ""
    started = time.monotonic()
    sock = ws_connect(port, "/sink")
    try:
        sock.settimeout(60)
        while sent < frames:
            count = min(batch, frames - sent)
            try:
                sock.sendall(fragment_batch(count, sent == 0, sent + count == frames))
            except OSError as exc:
                error = type(exc).__name__
                break
            sent += count
        reply = _ws_reply(sock, reply_timeout)
    finally:
        sock.close()
    took = time.monotonic() - started
    how = f"sent {sent:,}/{frames:,} frames" + (f" ({error})" if error else "")
    return Outcome(f"{how}; server: {reply} after {took:.1f}s",
                   {"frames_sent": sent, "send_error": error, "reply": reply, "seconds": round(took, 2)},
                   {"attack": (started, time.monotonic())})


def _ws_reply(sock: socket.socket, timeout: float) -> str:
    """The first text message or close frame the server sends, described."""
    deadline = time.monotonic() + timeout
    buf = b""
    try:
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = sock.recv(65536)
            if not chunk:
                return "closed without a close frame"
            buf += chunk
            parsed = parse_frame(buf, 0)
            if parsed is not None:
                _, opcode, payload, _ = parsed
                if opcode == 0x8:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                    return f"close {code} {payload[2:].decode(errors='replace')!r}"
                return payload.decode(errors="replace")
    except OSError as exc:
        return type(exc).__name__
    return f"no reply within {timeout:g}s"


# --- 6. SIGTERM with requests in flight --------------------------------------------------------


def sigterm(port: int, proc: subprocess.Popen[bytes], requests: int, sleep: float, exit_bound: float) -> Outcome:
    """``requests`` requests to ``/sleep?seconds=<sleep>``, then SIGTERM to the server while they
    run; how many got their whole 200 answer and how long the process took to exit."""
    inflight = Requests(port, requests, "GET", f"/sleep?seconds={sleep:g}", timeout=sleep + exit_bound + 5)
    started = time.monotonic()
    time.sleep(min(0.5, sleep / 4))  # let the requests reach their controllers
    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    exit_s: Optional[float] = None
    try:
        proc.wait(exit_bound)
        exit_s = time.monotonic() - signalled
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    inflight.join(10)
    answered = inflight.answered(b"slept")
    exit_text = f"exited {exit_s:.1f}s after SIGTERM" if exit_s is not None else f"still running {exit_bound:g}s " \
        "after SIGTERM: killed"
    others = ", ".join(f"{n} {kind}" for kind, n in inflight.failures().items())
    return Outcome(f"{answered}/{requests} got 200{f' ({others})' if others else ''}; {exit_text}",
                   {"answered": answered, "failures": inflight.failures(),
                    "exit_s": None if exit_s is None else round(exit_s, 2), "returncode": proc.returncode},
                   {"attack": (started, signalled)})


# --- 7. sync controllers that block --------------------------------------------------------------


def sync_block(port: int, requests: int, sleep: float, seconds: float) -> Outcome:
    """``requests`` requests to a sync route sleeping ``sleep`` seconds, watched for ``seconds``."""
    started = time.monotonic()
    blocked = Requests(port, requests, "GET", f"/sleep?seconds={sleep:g}", timeout=seconds)
    time.sleep(seconds)
    ended = time.monotonic()
    blocked.join(5)
    answered = blocked.answered(b"slept")
    return Outcome(f"{answered}/{requests} sleeps answered within {seconds:g}s",
                   {"answered": answered, "failures": blocked.failures()}, {"attack": (started, ended)})
