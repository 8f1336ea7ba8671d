"""A small WebSocket echo load generator: raw non-blocking sockets, one thread.

Used by ``benchmarks/websocket.py``, and runnable on its own::

    python3 benchmarks/wsloadgen.py --url ws://127.0.0.1:8080/echo -c 16 -d 5
    python3 benchmarks/wsloadgen.py --selftest     # how fast is the generator itself?

Each of N connections does the opening handshake (``Upgrade: websocket``,
``Connection: Upgrade``, checking the ``Sec-WebSocket-Accept`` it gets back),
then sends one text message (masked with a fresh random key, as a client must),
waits for the whole echo, records the round trip and sends the next one: one
message in flight per connection.  All handshakes finish before the clock
starts; then comes a warm-up (not counted) and the measured window.

Every echo is checked: each message carries its connection number and a
sequence number, so a reply that is not the very message that connection sent
(wrong content, wrong connection, wrong opcode) counts as a *mismatch*.  The
common case -- the reply arrives as one unfragmented, unmasked text frame in
one ``recv`` -- is a single bytes comparison against the frame we expect; any
other shape goes through a small frame parser (fragments, pings answered with
pongs, close frames).

A single thread drives every connection with ``selectors`` (epoll on Linux), so
that the generator stays far from being the bottleneck; its own CPU use is in
the result (``client_cpu`` near 1.0 means it saturated its core and the numbers
are a lower bound).  The result is one JSON object on stdout; if the server
cannot be loaded (a refused or failed handshake, a stall), it is
``{"error": "..."}`` and the exit status is 1.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import errno
import hashlib
import json
import os
import random
import selectors
import socket
import struct
import subprocess
import sys
import time
from typing import Optional, cast
from urllib.parse import urlsplit

# RFC 6455, section 1.3: the value appended to the client's key to compute the accept header.
_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_HEADER_END = b"\r\n\r\n"
_OP_CONTINUATION, _OP_TEXT, _OP_BINARY, _OP_CLOSE, _OP_PING, _OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_FIN = 0x80
_MASK_BIT = 0x80
_MIN_SIZE = 24  # room for the "c<conn> m<seq> " tag that makes every message unique

# connection states
_CONNECTING, _HANDSHAKE, _OPEN, _CLOSED = 0, 1, 2, 3


class LoadError(Exception):
    """The server cannot be loaded (handshake refused, protocol violation, stall)."""


def accept_value(key: bytes) -> bytes:
    """The ``Sec-WebSocket-Accept`` value a server must answer to ``key``."""
    return base64.b64encode(hashlib.sha1(key + _WS_GUID).digest())


def frame_header(opcode: int, length: int, masked: bool) -> bytes:
    """The first bytes of a final frame: FIN + opcode, mask bit + payload length."""
    mask_bit = _MASK_BIT if masked else 0
    if length < 126:
        return bytes((_FIN | opcode, mask_bit | length))
    if length < 65536:
        return bytes((_FIN | opcode, mask_bit | 126)) + struct.pack("!H", length)
    return bytes((_FIN | opcode, mask_bit | 127)) + struct.pack("!Q", length)


def mask_payload(payload: bytes, key: bytes) -> bytes:
    """XOR ``payload`` with the 4-byte ``key`` repeated (masking and unmasking are the same)."""
    size = len(payload)
    if not size:
        return payload
    mask = (key * (size // 4 + 1))[:size]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(mask, "big")).to_bytes(size, "big")


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A complete masked client frame with a fresh random masking key."""
    key = random.getrandbits(32).to_bytes(4, "big")
    return frame_header(opcode, len(payload), True) + key + mask_payload(payload, key)


def parse_frame(buf: bytes, start: int) -> Optional[tuple[int, int, bytes, int]]:
    """Parse the frame at ``buf[start:]``: ``(fin, opcode, payload, end)``, or None if incomplete.

    A masked frame is unmasked (a server must not mask; the caller decides what to do about it
    by looking at the mask bit itself if it cares).
    """
    if len(buf) - start < 2:
        return None
    b0, b1 = buf[start], buf[start + 1]
    length = b1 & 0x7F
    pos = start + 2
    if length == 126:
        if len(buf) < pos + 2:
            return None
        (length,) = struct.unpack_from("!H", buf, pos)
        pos += 2
    elif length == 127:
        if len(buf) < pos + 8:
            return None
        (length,) = struct.unpack_from("!Q", buf, pos)
        pos += 8
    key = b""
    if b1 & _MASK_BIT:
        if len(buf) < pos + 4:
            return None
        key = buf[pos : pos + 4]
        pos += 4
    end = pos + length
    if len(buf) < end:
        return None
    payload = buf[pos:end]
    if key:
        payload = mask_payload(payload, key)
    return b0 & _FIN, b0 & 0x0F, payload, end


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, int(round(fraction * len(sorted_values))) - 1))
    return sorted_values[index]


class Connection:
    """One client connection: its socket, state, buffers and the echo it is waiting for."""

    __slots__ = (
        "sock",
        "cid",
        "state",
        "buf",
        "out",
        "key",
        "seq",
        "sent_at",
        "expected",
        "payload",
        "opcode",
        "fragments",
    )

    def __init__(self, address: tuple[str, int], cid: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code = self.sock.connect_ex(address)
        if code not in (0, errno.EINPROGRESS):
            self.sock.close()
            raise OSError(code, os.strerror(code))
        self.cid = cid
        self.state = _CONNECTING
        self.buf = b""
        self.out = b""
        self.key = base64.b64encode(os.urandom(16))
        self.seq = 0
        self.sent_at = 0.0
        self.expected = b""  # the whole server frame we expect back (fast path)
        self.payload = b""  # the payload we expect back (slow path)
        self.opcode = -1  # opcode of the first frame of a fragmented message
        self.fragments: list[bytes] = []

    def close(self) -> None:
        """Close the socket, ignoring errors."""
        try:
            self.sock.close()
        except OSError:
            pass


class WsLoadGenerator:
    """Drive ``connections`` WebSocket connections, each echoing ``size``-byte text messages.

    A connection that the server closes (or that breaks) during the run counts as an error
    and is reopened with a new handshake, so the load stays at ``connections``; a handshake
    the server refuses is fatal (LoadError).
    """

    def __init__(
        self,
        host: str,
        port: int,
        path: str,
        connections: int,
        size: int = 64,
        idle_timeout: float = 5.0,
        handshake_timeout: float = 10.0,
        quickack: bool = False,
    ) -> None:
        if size < _MIN_SIZE:
            raise ValueError(f"message size must be at least {_MIN_SIZE} bytes")
        self.address = (host, port)
        self.path = path
        self.host_header = f"{host}:{port}"
        self.connections = connections
        self.size = size
        self.idle_timeout = idle_timeout
        self.handshake_timeout = handshake_timeout
        self.quickack = quickack and hasattr(socket, "TCP_QUICKACK")
        self.selector = selectors.DefaultSelector()
        self.filler = b"x" * size
        self.text_header = frame_header(_OP_TEXT, size, True)
        self.echo_header = frame_header(_OP_TEXT, size, False)
        self.mask_repeat = size // 4 + 1
        self.latencies: list[float] = []
        self.recording = False
        self.open_count = 0
        self.errors = 0  # broken or closed connections and protocol errors, while measuring
        self.closed = 0  # of which: the server closed (or reset) the connection
        self.mismatches = 0  # echoes that were not what was sent (whole run, warm-up included)
        self.checked = 0  # echoes compared (whole run)
        self.pings = 0  # pings from the server, answered with pongs
        self.first_mismatch: Optional[str] = None
        self.started = False  # set once every connection has upgraded: messages flow from then on

    # --- connections -----------------------------------------------------------

    def _open(self, cid: int) -> None:
        conn = Connection(self.address, cid)
        self.selector.register(conn.sock, selectors.EVENT_WRITE, conn)

    def _drop(self, conn: Connection, closed_by_server: bool) -> None:
        """Count a lost connection and open a new one in its place (fatal during a handshake)."""
        if conn.state == _CLOSED:
            return
        if conn.state == _HANDSHAKE:
            got = f"after {conn.buf[:200]!r}" if conn.buf else "without a response"
            raise LoadError(f"handshake: the server closed the connection {got}")
        if conn.state == _OPEN:
            self.open_count -= 1
        if self.recording:
            self.errors += 1
            self.closed += closed_by_server
        conn.state = _CLOSED
        self.selector.unregister(conn.sock)
        conn.close()
        self._open(conn.cid)

    def _on_connected(self, conn: Connection) -> None:
        code = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            raise LoadError(f"connect to {self.address[0]}:{self.address[1]}: {os.strerror(code)}")
        conn.state = _HANDSHAKE
        self.selector.modify(conn.sock, selectors.EVENT_READ, conn)
        request = (
            f"GET {self.path} HTTP/1.1\r\n"
            f"Host: {self.host_header}\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {conn.key.decode('ascii')}\r\n"
            "Sec-WebSocket-Version: 13\r\n"
            "\r\n"
        ).encode("latin-1")
        self._write(conn, request)

    def _on_handshake_data(self, conn: Connection, now: float) -> None:
        """Collect the 101 response; check it; start sending if the run has begun."""
        end = conn.buf.find(_HEADER_END)
        if end < 0:
            if len(conn.buf) > 65536:
                raise LoadError("handshake: response head larger than 64 KiB")
            return
        head = conn.buf[:end].decode("latin-1")
        rest = conn.buf[end + 4 :]
        lines = head.split("\r\n")
        status = lines[0]
        if status.split(" ", 2)[1:2] != ["101"]:
            raise LoadError(f"handshake refused: {status}\n  response body: {rest[:200]!r}")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("upgrade", "").lower() != "websocket":
            raise LoadError(f"handshake: Upgrade header is {headers.get('upgrade')!r}")
        if headers.get("sec-websocket-accept", "").encode("latin-1") != accept_value(conn.key):
            raise LoadError(f"handshake: wrong Sec-WebSocket-Accept {headers.get('sec-websocket-accept')!r}")
        if headers.get("sec-websocket-extensions"):
            raise LoadError(f"handshake: unrequested extensions {headers['sec-websocket-extensions']!r}")
        conn.state = _OPEN
        conn.buf = b""
        self.open_count += 1
        if self.started:
            self._send_next(conn, now)
        if rest:
            self._on_frames(conn, rest, now)

    # --- messages --------------------------------------------------------------

    def _send_next(self, conn: Connection, now: float) -> None:
        """Send the next text message on ``conn`` and remember the echo it should bring."""
        conn.seq += 1
        tag = b"c%d m%d " % (conn.cid, conn.seq)
        payload = tag + self.filler[len(tag) :]
        key = random.getrandbits(32).to_bytes(4, "big")  # a fresh masking key for every frame
        mask = (key * self.mask_repeat)[: self.size]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(mask, "big")).to_bytes(self.size, "big")
        conn.payload = payload
        conn.expected = self.echo_header + payload
        conn.sent_at = now
        self._write(conn, self.text_header + key + masked)

    def _write(self, conn: Connection, data: bytes) -> None:
        if conn.out:
            conn.out += data
            return
        try:
            sent = conn.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._drop(conn, True)
            return
        if sent < len(data):
            conn.out = data[sent:]
            self.selector.modify(conn.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, conn)

    def _flush(self, conn: Connection) -> None:
        try:
            sent = conn.sock.send(conn.out)
        except BlockingIOError:
            return
        except OSError:
            self._drop(conn, True)
            return
        conn.out = conn.out[sent:]
        if not conn.out:
            self.selector.modify(conn.sock, selectors.EVENT_READ, conn)

    def _on_echo(self, conn: Connection, opcode: int, payload: bytes, now: float) -> None:
        """A whole message arrived: check it, record the round trip, send the next message."""
        self.checked += 1
        if opcode != _OP_TEXT or payload != conn.payload:
            self.mismatches += 1
            if self.first_mismatch is None:
                self.first_mismatch = f"sent {conn.payload!r}, got opcode {opcode} {payload[:200]!r}"
        if self.recording:
            self.latencies.append(now - conn.sent_at)
        self._send_next(conn, now)

    def _on_frames(self, conn: Connection, data: bytes, now: float) -> None:
        """The general path: parse whatever frames ``conn.buf + data`` holds."""
        buf = conn.buf + data if conn.buf else data
        pos = 0
        while conn.state == _OPEN:
            frame = parse_frame(buf, pos)
            if frame is None:
                break
            fin, opcode, payload, pos = frame
            if opcode == _OP_PING:
                self.pings += 1
                self._write(conn, client_frame(_OP_PONG, payload))
            elif opcode == _OP_PONG:
                pass
            elif opcode == _OP_CLOSE:
                self._drop(conn, True)
            elif opcode in (_OP_TEXT, _OP_BINARY) and not conn.fragments:
                if fin:
                    self._on_echo(conn, opcode, payload, now)
                else:
                    conn.opcode = opcode
                    conn.fragments.append(payload)
            elif opcode == _OP_CONTINUATION and conn.fragments:
                conn.fragments.append(payload)
                if fin:
                    whole = b"".join(conn.fragments)
                    conn.fragments = []
                    self._on_echo(conn, conn.opcode, whole, now)
            else:  # a reserved opcode, or a fragment out of place: a protocol error
                if self.first_mismatch is None:
                    self.first_mismatch = f"protocol error: unexpected frame opcode {opcode} (fin={bool(fin)})"
                self.mismatches += 1
                self._drop(conn, False)
        conn.buf = buf[pos:]

    def _on_readable(self, conn: Connection, now: float) -> None:
        try:
            data = conn.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(conn, True)
            return
        if self.quickack:  # Linux re-enables delayed ACKs by itself: ask again after every read
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        if conn.state == _OPEN:
            if data == conn.expected and not conn.buf:  # the usual case: exactly the echo frame
                self.checked += 1
                if self.recording:
                    self.latencies.append(now - conn.sent_at)
                self._send_next(conn, now)
            else:
                self._on_frames(conn, data, now)
        else:
            conn.buf += data
            self._on_handshake_data(conn, now)

    def _dispatch(self, events: list[tuple[selectors.SelectorKey, int]], now: float) -> None:
        for key, mask in events:
            conn = key.data
            if conn.state == _CONNECTING:
                self._on_connected(conn)
                continue
            if mask & selectors.EVENT_WRITE and conn.out:
                self._flush(conn)
            if mask & selectors.EVENT_READ and conn.state != _CLOSED:
                self._on_readable(conn, now)

    # --- run -------------------------------------------------------------------

    def run(self, warmup: float, duration: float) -> dict[str, object]:
        """Handshake every connection, warm up, then measure for ``duration`` seconds."""
        clock = time.perf_counter
        select = self.selector.select
        try:
            for cid in range(self.connections):
                self._open(cid)
            deadline = clock() + self.handshake_timeout
            handshake_start = clock()
            while self.open_count < self.connections:
                events = select(max(0.0, deadline - clock()))
                if not events:
                    raise LoadError(
                        f"handshake: only {self.open_count} of {self.connections} connections "
                        f"upgraded within {self.handshake_timeout:g}s"
                    )
                self._dispatch(events, clock())
            handshake_s = clock() - handshake_start
            self.started = True
            now = clock()
            for key in list(self.selector.get_map().values()):
                if key.data.state == _OPEN:
                    self._send_next(key.data, now)
            measure_from = now + warmup
            stop_at = measure_from + duration
            cpu_start = time.process_time()
            while True:
                events = select(self.idle_timeout)
                now = clock()
                if not events:
                    raise LoadError(f"no echo on any connection for {self.idle_timeout:g}s")
                if not self.recording and now >= measure_from:
                    self.recording = True
                    cpu_start = time.process_time()
                if now >= stop_at:
                    break
                self._dispatch(events, now)
            cpu = time.process_time() - cpu_start
        finally:
            self._close_all()
        return self._summary(duration, cpu, handshake_s)

    def _close_all(self) -> None:
        """Say goodbye (a close frame, best effort) and close every socket."""
        goodbye = client_frame(_OP_CLOSE, struct.pack("!H", 1000))
        for key in list(self.selector.get_map().values()):
            conn = key.data
            if conn.state == _OPEN and not conn.out:
                try:
                    conn.sock.send(goodbye)
                except OSError:
                    pass
            conn.close()
        self.selector.close()

    def _summary(self, elapsed: float, cpu: float, handshake_s: float) -> dict[str, object]:
        latencies = self.latencies
        latencies.sort()
        count = len(latencies)
        return {
            "messages": count,
            "errors": self.errors,
            "closed": self.closed,
            "mismatches": self.mismatches,
            "checked": self.checked,
            "pings": self.pings,
            "first_mismatch": self.first_mismatch,
            "connections": self.connections,
            "size": self.size,
            "seconds": round(elapsed, 3),
            "mps": round(count / elapsed, 1) if elapsed > 0 else 0.0,
            "p50_ms": round(percentile(latencies, 0.50) * 1000, 3),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 3),
            "max_ms": round((latencies[-1] if latencies else 0.0) * 1000, 3),
            "mean_ms": round(sum(latencies) / count * 1000, 3) if count else 0.0,
            "client_cpu": round(cpu / elapsed, 2) if elapsed > 0 else 0.0,
            "handshake_ms": round(handshake_s * 1000, 1),
            "quickack": self.quickack,
        }


# --- self-test: a trivial raw asyncio echo server -------------------------------


class _TrivialEcho(asyncio.Protocol):
    """Accept any upgrade, then echo every (final, masked) frame back unmasked."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.buf = b""
        self.upgraded = False

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data
        if not self.upgraded:
            end = buf.find(_HEADER_END)
            if end < 0:
                self.buf = buf
                return
            key = b""
            for line in buf[:end].split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"sec-websocket-key":
                    key = value.strip()
            self.transport.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Accept: " + accept_value(key) + b"\r\n\r\n"
            )
            self.upgraded = True
            buf = buf[end + 4 :]
        pos = 0
        while True:
            frame = parse_frame(buf, pos)
            if frame is None:
                break
            _, opcode, payload, pos = frame
            if opcode == _OP_CLOSE:
                self.transport.close()
                return
            self.transport.write(frame_header(opcode, len(payload), False) + payload)
        self.buf = buf[pos:]


def serve_trivial(port: int) -> None:
    """Run the trivial echo server on 127.0.0.1:``port`` until killed."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_TrivialEcho, "127.0.0.1", port)
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


def pin_to_cpu(cpu: int) -> None:
    """Pin the calling process to one CPU when the platform and machine allow it."""
    if hasattr(os, "sched_setaffinity") and cpu in os.sched_getaffinity(0):
        os.sched_setaffinity(0, {cpu})


def selftest(connections: int, size: int, warmup: float, duration: float) -> dict[str, object]:
    """Measure the generator against the trivial server (server on CPU 0, us on CPU 1)."""
    port = _free_port()
    cmd = [sys.executable, "-I", os.path.abspath(__file__), "--trivial-server", str(port)]
    server = subprocess.Popen(cmd, preexec_fn=lambda: pin_to_cpu(0))
    try:
        _wait_for_port(port, 10.0)
        pin_to_cpu(1)
        result = WsLoadGenerator("127.0.0.1", port, "/", connections, size).run(warmup, duration)
    finally:
        server.terminate()
        server.wait(5)
    # what the generator could do with its whole CPU, if the server was the limit
    cpu = float(cast(float, result["client_cpu"]))
    result["mps_per_client_cpu"] = round(float(cast(float, result["mps"])) / cpu, 1) if cpu else 0.0
    return result


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="ws://HOST:PORT/PATH to load")
    parser.add_argument("-c", "--connections", type=int, default=16)
    parser.add_argument("-d", "--duration", type=float, default=5.0, help="measured seconds")
    parser.add_argument("-w", "--warmup", type=float, default=1.0, help="unmeasured seconds first")
    parser.add_argument("-s", "--size", type=int, default=64, help=f"message size in bytes (>= {_MIN_SIZE})")
    parser.add_argument("--cpu", type=int, default=None, help="pin the generator to this CPU")
    parser.add_argument(
        "--quickack",
        action="store_true",
        help="acknowledge every read at once (TCP_QUICKACK, Linux): hides a server's Nagle/delayed-ACK stalls",
    )
    parser.add_argument("--selftest", action="store_true", help="measure against a trivial asyncio echo server")
    parser.add_argument("--trivial-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not (args.url or args.selftest or args.trivial_server):
        parser.error("one of --url or --selftest is required")
    if args.size < _MIN_SIZE or args.connections < 1 or args.duration <= 0 or args.warmup < 0:
        parser.error(f"--size must be >= {_MIN_SIZE}, -c >= 1, -d > 0 and -w >= 0")
    return args


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point: print one JSON result line."""
    args = parse_args(argv)
    if args.trivial_server:
        serve_trivial(args.trivial_server)
        return 0
    try:
        if args.selftest:
            result = selftest(args.connections, args.size, args.warmup, args.duration)
        else:
            if args.cpu is not None:
                pin_to_cpu(args.cpu)
            url = urlsplit(args.url)
            path = (url.path or "/") + (f"?{url.query}" if url.query else "")
            address = (url.hostname or "127.0.0.1", url.port or 80)
            generator = WsLoadGenerator(*address, path, args.connections, args.size, quickack=args.quickack)
            result = generator.run(args.warmup, args.duration)
    except (LoadError, OSError) as exc:
        print(json.dumps({"error": str(exc)}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
