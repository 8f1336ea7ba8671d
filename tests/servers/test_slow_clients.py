"""Timeouts, slow clients and many clients, on both drivers."""
from __future__ import annotations

import asyncio
import socket
import time
from typing import Callable

from naja_atra.http.limits import Limits

from ..support import wait_until
from .conftest import WAIT, Running, is_closed, read_reply

Start = Callable[..., Running]


def test_header_timeout_cuts_off_a_trickling_client(start_server: Start) -> None:
    srv = start_server(Limits(header_timeout=0.5))
    with srv.connect() as sock:
        started = time.monotonic()
        sock.sendall(b"GET / HTTP/1.1\r\n")
        sock.settimeout(0.05)
        reply = b""
        # One byte every 50 ms would keep a per-read timeout happy forever.
        for byte in b"Host: example.org\r\nX-Slow: " + b"a" * 100:
            try:
                sock.sendall(bytes([byte]))
                reply += sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
            if reply:
                break
        elapsed = time.monotonic() - started
        assert reply.startswith(b"HTTP/1.1 408 "), reply
        assert 0.4 < elapsed < 2.0
        assert is_closed(sock)


def test_silent_connection_is_closed_after_header_timeout(start_server: Start) -> None:
    srv = start_server(Limits(header_timeout=0.3))
    with srv.connect() as sock:
        assert is_closed(sock, timeout=2.0)
    assert wait_until(lambda: srv.server.connection_count == 0)


def test_idle_keep_alive_connection_is_closed(start_server: Start) -> None:
    srv = start_server(Limits(keep_alive_timeout=0.3))
    with srv.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        stream = sock.makefile("rb")
        assert read_reply(stream).status == 200
        started = time.monotonic()
        assert stream.read() == b""  # closed silently: no 408 for an idle connection
        assert time.monotonic() - started < 2.0


def test_keep_alive_timeout_does_not_cut_a_busy_connection(start_server: Start) -> None:
    srv = start_server(Limits(keep_alive_timeout=0.2))
    srv.dispatcher.slow_seconds = 0.3
    with srv.connect() as sock:
        stream = sock.makefile("rb")
        for _ in range(2):
            sock.sendall(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
            assert read_reply(stream).status == 200
            time.sleep(0.1)


def test_body_timeout_closes_a_stalled_upload(start_server: Start) -> None:
    srv = start_server(Limits(body_timeout=0.3))
    with srv.connect() as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        started = time.monotonic()
        assert is_closed(sock, timeout=2.0)
        assert time.monotonic() - started < 2.0
    assert srv.dispatcher.seen == []


def test_body_timeout_counts_silence_not_total_time(start_server: Start) -> None:
    srv = start_server(Limits(body_timeout=0.25))
    with srv.connect() as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\n")
        for byte in b"abcd":  # 0.4 s in all, never 0.25 s of silence
            time.sleep(0.1)
            sock.sendall(bytes([byte]))
        assert read_reply(sock.makefile("rb")).body == b"POST / 4\nabcd"


def test_slow_clients_do_not_stop_a_fresh_one(start_server: Start) -> None:
    srv = start_server()
    slow: list[socket.socket] = []
    try:
        for _ in range(200):
            sock = srv.connect()
            sock.sendall(b"G")
            slow.append(sock)
        time.sleep(0.5)
        for i, sock in enumerate(slow):  # one more byte each, a second after the first
            sock.sendall(b"ET / HTTP/1.1\r\n"[i % 3: i % 3 + 1] or b"E")
        started = time.monotonic()
        with srv.connect(timeout=2.0) as fresh:
            fresh.sendall(b"GET /fresh HTTP/1.1\r\nHost: t\r\n\r\n")
            assert read_reply(fresh.makefile("rb")).body == b"GET /fresh 0\n"
        assert time.monotonic() - started < 2.0
        assert srv.server.connection_count >= 200
    finally:
        for sock in slow:
            sock.close()
    assert wait_until(lambda: srv.server.connection_count == 0)


def test_500_concurrent_keep_alive_clients(start_server: Start) -> None:
    srv = start_server()

    async def client(n: int) -> list[bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        bodies = []
        try:
            for i in range(2):
                writer.write(f"GET /c{n}/{i} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                bodies.append(await reader.readexactly(length))
        finally:
            writer.close()
        return bodies

    async def main() -> list[list[bytes]]:
        return await asyncio.wait_for(asyncio.gather(*(client(n) for n in range(500))), 15)

    results = asyncio.run(main())
    for n, bodies in enumerate(results):
        assert bodies == [f"GET /c{n}/{i} 0\n".encode() for i in range(2)]
    assert wait_until(lambda: srv.server.connection_count == 0, WAIT)
