"""The WSGI adapter under real gunicorn processes (``sync`` and ``gthread`` workers).

Each server is ``python -m gunicorn -w 1 -k <worker> <module>:<app>`` started from the
repository root on a free 127.0.0.1 port, waited for with a bound, and stopped by its PID in a
``finally`` (SIGTERM, then SIGKILL if it lingers). The shared deployment checks
(``tests/deploy_checks.py``'s ``check_http``) run against ``tests.deploy_app:wsgi_app``; the
other tests use ``tests.wsgi.wsgi_app:checks_wsgi_app``. Skipped when gunicorn is not installed.
"""
from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

from ..deploy_app import MARKERS_ENV
from ..deploy_checks import check_http
from ..support import ROOT, ServerProcess, free_port

pytest.importorskip("gunicorn")

WAIT = 5.0
WS_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
WORKERS = {"sync": ["-k", "sync"], "gthread": ["-k", "gthread", "--threads", "4"]}


class Gunicorn(ServerProcess):
    """One gunicorn master (and its single worker) serving ``target``; its log in ``folder``."""

    def __init__(self, target: str, worker: str, folder: Path, env: Optional[dict[str, str]] = None) -> None:
        self.target = target
        self.worker = worker
        port = free_port()
        cmd = [sys.executable, "-m", "gunicorn", "-w", "1", *WORKERS[worker], "-b", f"127.0.0.1:{port}",
               "--graceful-timeout", "3", "--timeout", "30", "--log-level", "warning", target]
        super().__init__(f"gunicorn ({worker})", cmd, port, folder / f"gunicorn-{worker}-{port}.log", env)

    def stop(self, timeout: float = WAIT) -> Optional[int]:
        """SIGTERM (graceful: the worker finishes and exits normally), SIGKILL after 5 s."""
        return super().stop(timeout)


@contextlib.contextmanager
def _serve(target: str, worker: str, folder: Path, env: Optional[dict[str, str]] = None) -> Iterator[Gunicorn]:
    server = Gunicorn(target, worker, folder, env)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module", params=sorted(WORKERS))
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    with _serve("tests.wsgi.wsgi_app:checks_wsgi_app", request.param, tmp_path_factory.mktemp("gunicorn")) as running:
        yield running


# -- clients ------------------------------------------------------------------------------------
def _request(server: Gunicorn, method: str, path: str, body: Any = None,
             headers: Optional[dict[str, str]] = None, **options: Any) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT)
    try:
        conn.request(method, path, body=body, headers=headers or {}, **options)
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def _raw(server: Gunicorn, data: bytes) -> tuple[int, http.client.HTTPMessage, bytes]:
    """Send ``data`` as it is and read one response (any framing)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
        sock.sendall(data)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.headers, response.read()


# -- the WSGI-specific checks --------------------------------------------------------------------
def test_get_and_head(server: Gunicorn) -> None:
    status, headers, body = _request(server, "GET", "/hello?name=gunicorn")
    assert (status, body) == (200, b"hello gunicorn")
    assert headers["Content-Length"] == "14"
    status, headers, body = _request(server, "HEAD", "/hello")
    assert (status, body) == (200, b"")
    assert headers["Content-Length"] == "11"


def test_post_body(server: Gunicorn) -> None:
    payload = os.urandom(40_000)
    status, _, body = _request(server, "POST", "/echo", payload, {"Content-Type": "application/octet-stream"})
    assert status == 200
    assert json.loads(body)["size"] == 40_000


def test_413_without_reading_the_body(server: Gunicorn) -> None:
    # Only the head is sent: a reply proves the length was refused before any read.
    head = (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Length: 1000000\r\nConnection: close\r\n\r\n")
    status, headers, body = _raw(server, head)
    assert status == 413
    assert b"Content Too Large" in body


def test_chunked_upload(server: Gunicorn) -> None:
    pieces = [b"a" * 1000, b"b" * 20_000, b"END-MARK"]
    status, _, body = _request(server, "POST", "/echo", iter(pieces), {"Transfer-Encoding": "chunked"},
                               encode_chunked=True)
    assert status == 200
    data = json.loads(body)
    assert data == {"size": 21_008, "transfer_encoding": "chunked", "tail": "END-MARK"}


def test_chunked_upload_over_the_limit(server: Gunicorn) -> None:
    pieces = [b"x" * 16_384] * 6  # 96 KiB > 64 KiB
    status, _, _ = _request(server, "POST", "/echo", iter(pieces), {"Transfer-Encoding": "chunked"},
                            encode_chunked=True)
    assert status == 413


def test_streaming_flows_as_produced(server: Gunicorn, tmp_path: Path) -> None:
    marker = tmp_path / "go"
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT)
    try:
        conn.request("GET", f"/stream?marker={marker}")
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("Transfer-Encoding") == "chunked"  # gunicorn frames it
        # The controller is now waiting for the marker: the first piece must already be here.
        assert response.readline() == b"first\n"
        marker.write_text("go")
        assert response.read() == b"second\n"
    finally:
        conn.close()


def test_async_route(server: Gunicorn) -> None:
    status, _, body = _request(server, "GET", "/async")
    assert (status, json.loads(body)) == (200, {"async": True})


def test_hop_by_hop_not_passed(server: Gunicorn) -> None:
    status, headers, body = _request(server, "GET", "/hop")
    assert (status, body) == (200, b"hop")
    assert headers["X-Kept"] == "yes"
    assert headers["X-Private"] is None
    assert headers["Keep-Alive"] is None


def test_static_file(server: Gunicorn) -> None:
    status, headers, body = _request(server, "GET", "/files/wsgi_app.py")
    assert status == 200
    assert body == (ROOT / "tests" / "wsgi" / "wsgi_app.py").read_bytes()


def test_environ(server: Gunicorn) -> None:
    status, _, body = _request(server, "GET", "/env")
    data = json.loads(body)
    assert data["input_terminated"] is True
    assert data["remote"] is True
    assert data["server"].startswith("gunicorn")


def test_websocket_upgrade_refused(server: Gunicorn) -> None:
    handshake = (f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
                 f"Connection: Upgrade\r\nSec-WebSocket-Key: {WS_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n")
    status, headers, body = _raw(server, handshake.encode("ascii"))
    assert status == 501
    assert b"WebSocket is not available under WSGI" in body
    assert headers["Sec-WebSocket-Accept"] is None


def test_websocket_client_sees_the_refusal(server: Gunicorn) -> None:
    websocket = pytest.importorskip("websocket")
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        websocket.create_connection(f"ws://127.0.0.1:{server.port}/ws", timeout=WAIT)
    assert info.value.status_code == 501


def test_keep_alive_and_concurrency(server: Gunicorn) -> None:
    from concurrent.futures import ThreadPoolExecutor

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT)
    try:
        for i in range(3):
            conn.request("GET", f"/hello?name={i}")
            assert conn.getresponse().read() == f"hello {i}".encode()
    finally:
        conn.close()
    with ThreadPoolExecutor(8) as pool:
        bodies = list(pool.map(lambda i: _request(server, "GET", f"/hello?name={i}")[2], range(24)))
    assert bodies == [f"hello {i}".encode() for i in range(24)]


# -- lifespan at worker exit --------------------------------------------------------------------
def test_lifespan_entered_and_left_in_the_worker(tmp_path: Path) -> None:
    marker = tmp_path / "lifespan.txt"
    with _serve("tests.wsgi.wsgi_app:checks_wsgi_app", "sync", tmp_path,
                {"NAJA_WSGI_LIFESPAN_FILE": str(marker)}) as server:
        assert _request(server, "GET", "/hello")[0] == 200
        assert [line.split()[0] for line in marker.read_text().splitlines()] == ["enter"]
        assert server.stop() == 0
        lines = [line.split() for line in marker.read_text().splitlines()]
        assert [kind for kind, _ in lines] == ["enter", "exit"]
        assert lines[0][1] == lines[1][1] != str(os.getpid())  # in the worker process


# -- the shared deployment checks -----------------------------------------------------------------
@pytest.mark.parametrize("worker", sorted(WORKERS))
def test_shared_deploy_checks(worker: str, tmp_path: Path) -> None:
    markers = tmp_path / "markers.txt"
    with _serve("tests.deploy_app:wsgi_app", worker, tmp_path, {MARKERS_ENV: str(markers)}) as server:
        check_http(server.base_url)
        # The deploy app's WebSocket endpoints are refused with the WSGI explanation.
        reply = _raw(server, (f"GET /ws/echo/lobby HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                              f"Connection: Upgrade\r\nSec-WebSocket-Key: {WS_KEY}\r\n"
                              "Sec-WebSocket-Version: 13\r\n\r\n").encode("ascii"))
        assert reply[0] == 501 and b"WSGI" in reply[2]
        assert markers.read_text().splitlines() == ["startup"]  # at the first request
        assert server.stop() == 0
    assert markers.read_text().splitlines() == ["startup", "shutdown"]  # at worker exit
