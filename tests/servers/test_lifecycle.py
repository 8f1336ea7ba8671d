"""Binding, serving and shutting down, on both drivers."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import threading
import time
from typing import Callable

import pytest

from naja_atra.servers import AsyncioServer, ServerConfig, ThreadingServer, make_server
from naja_atra.servers.common import create_listener

from .conftest import DRIVERS, WAIT, FakeApp, Running, is_closed, read_reply

Start = Callable[..., Running]


def test_shutdown_with_idle_keep_alive_connections_frees_the_port(start_server: Start) -> None:
    srv = start_server()
    socks = []
    for _ in range(5):
        sock = srv.connect()
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert read_reply(sock.makefile("rb")).status == 200
        socks.append(sock)
    started = time.monotonic()
    srv.server.shutdown()
    assert time.monotonic() - started < 2.0
    assert srv.server.connection_count == 0
    assert not srv.server.is_ready()
    for sock in socks:
        assert is_closed(sock, timeout=1.0)
        sock.close()
    # The very same port can be bound again at once.
    create_listener("127.0.0.1", srv.port, 8).close()
    srv.thread.join(WAIT)
    assert not srv.thread.is_alive()


def test_shutdown_lets_a_busy_request_finish(start_server: Start) -> None:
    srv = start_server(shutdown_grace=0.8)
    srv.dispatcher.slow_seconds = 0.3
    with srv.connect() as sock:
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        time.sleep(0.1)
        started = time.monotonic()
        srv.server.shutdown()
        assert time.monotonic() - started < 2.0
        reply = read_reply(sock.makefile("rb"))
        assert reply.body == b"GET /slow 0\n"


def test_shutdown_cuts_a_request_that_outlives_the_grace(start_server: Start) -> None:
    srv = start_server(shutdown_grace=0.2)
    # A sync handler cannot be interrupted: the threading driver waits for it (within its
    # 2 s promise), the asyncio one cancels it.
    srv.dispatcher.slow_seconds = 1.0
    with srv.connect() as sock:
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        time.sleep(0.1)
        started = time.monotonic()
        srv.server.shutdown()
        assert time.monotonic() - started < 2.0
        assert is_closed(sock, timeout=1.0)


def test_shutdown_is_idempotent_and_concurrent(start_server: Start) -> None:
    srv = start_server()
    threads = [threading.Thread(target=srv.server.shutdown) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    srv.server.shutdown()
    assert not srv.server.is_ready()


@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_shutdown_before_serving(name: str) -> None:
    server = DRIVERS[name](FakeApp(), ServerConfig(host="127.0.0.1", port=0))
    server.bind()
    port = server.port
    assert port != 0
    server.shutdown()
    server.serve_forever()  # returns at once: the server was shut down
    create_listener("127.0.0.1", port, 8).close()


@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_serve_in_the_callers_loop(name: str) -> None:
    server = DRIVERS[name](FakeApp(), ServerConfig(host="127.0.0.1", port=0))

    async def main() -> bytes:
        serving = asyncio.ensure_future(server.serve())
        for _ in range(500):
            if server.is_ready():
                break
            await asyncio.sleep(0.01)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /in-loop HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = await asyncio.wait_for(reader.read(), WAIT)
        writer.close()
        # shutdown() from a worker thread, as a signal-handling thread would.
        await asyncio.get_running_loop().run_in_executor(None, server.shutdown)
        await asyncio.wait_for(serving, WAIT)
        return data

    data = asyncio.run(main())
    assert data.endswith(b"GET /in-loop 0\n")


def test_asyncio_shutdown_from_the_loop_thread() -> None:
    server = AsyncioServer(FakeApp(), ServerConfig(host="127.0.0.1", port=0))

    async def main() -> None:
        serving = asyncio.ensure_future(server.serve())
        while not server.is_ready():
            await asyncio.sleep(0.01)
        server.shutdown()  # must not block the loop it has to stop
        await asyncio.wait_for(serving, WAIT)

    asyncio.run(asyncio.wait_for(main(), WAIT))
    assert not server.is_ready()


def test_threading_serve_cancelled_shuts_down() -> None:
    server = ThreadingServer(FakeApp(), ServerConfig(host="127.0.0.1", port=0))

    async def main() -> None:
        serving = asyncio.ensure_future(server.serve())
        while not server.is_ready():
            await asyncio.sleep(0.01)
        serving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await serving

    asyncio.run(asyncio.wait_for(main(), WAIT))
    assert not server.is_ready()
    assert server.stopping


def test_make_server_picks_the_driver() -> None:
    app = FakeApp()
    assert isinstance(make_server(app, ServerConfig(prefer_coroutine=True)), AsyncioServer)
    assert isinstance(make_server(app, ServerConfig()), ThreadingServer)


def test_bind_reports_the_picked_port() -> None:
    server = ThreadingServer(FakeApp(), ServerConfig(host="127.0.0.1", port=0))
    server.bind()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT):
            pass  # the kernel accepts into the backlog before serve_forever runs
    finally:
        server.shutdown()


@pytest.mark.skipif(os.name != "posix", reason="SIGALRM is POSIX")
@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_shutdown_from_a_signal_handler_on_the_serving_thread(name: str) -> None:
    server = DRIVERS[name](FakeApp(), ServerConfig(host="127.0.0.1", port=0))
    backstop = threading.Timer(WAIT, server.shutdown)  # never let the test hang
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: server.shutdown())
    try:
        backstop.start()
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        started = time.monotonic()
        server.serve_forever()  # on this (the main) thread, like the CLI does
        assert time.monotonic() - started < 2.0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        backstop.cancel()
    assert not server.is_ready()
    create_listener("127.0.0.1", server.port, 8).close()
