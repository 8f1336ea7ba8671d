"""A 100 MiB upload read through ``RequestBodyReader`` never sits in the server's memory.

Each server runs ``tests/upload_app.py`` in its own process on 127.0.0.1 (the built-in
threading and asyncio servers, uvicorn for ASGI, gunicorn for WSGI). The client streams
100 MiB from a generator; the server hashes it piece by piece; the server's peak resident
memory (``VmHWM``, which the app reports) must grow by far less than the body.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from ..support import HOST, ServerProcess, free_port

MIB = 1024 * 1024
BODY_SIZE = 100 * MIB
#: What the upload may add to the server's peak memory: a few pieces in flight, not the body.
MAX_GROWTH_KB = 32 * 1024

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM is Linux's")


def _servers() -> dict[str, list[str]]:
    python = sys.executable
    return {
        "threading": [python, "-m", "tests.upload_app", "--mode", "threading", "--port"],
        "asyncio": [python, "-m", "tests.upload_app", "--mode", "asyncio", "--port"],
        "uvicorn": [python, "-m", "uvicorn", "tests.upload_app:app", "--host", HOST, "--log-level", "warning",
                    "--port"],
        "gunicorn": [python, "-m", "gunicorn", "-w", "1", "-k", "sync", "--timeout", "60", "tests.upload_app:wsgi_app",
                     "--log-level", "warning", "-b"],
    }


def _body() -> tuple[Iterator[bytes], str]:
    """100 MiB in 1 MiB pieces (made as they are sent) and the SHA-256 they hash to."""
    block = os.urandom(MIB)
    digest = hashlib.sha256()
    for i in range(BODY_SIZE // MIB):
        digest.update(block[i:] + block[:i])

    def pieces() -> Iterator[bytes]:
        for i in range(BODY_SIZE // MIB):
            yield block[i:] + block[:i]
    return pieces(), digest.hexdigest()


def _get(port: int, path: str) -> Any:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        assert response.status == 200, response.read()[:300]
        return json.loads(response.read())
    finally:
        conn.close()


@pytest.mark.parametrize("server", ["threading", "asyncio", "uvicorn", "gunicorn"])
@pytest.mark.parametrize("path", ["/stream", "/stream-sync"])
def test_a_100_mib_upload_is_streamed_not_held(server: str, path: str, tmp_path: Path) -> None:
    if server in ("uvicorn", "gunicorn"):
        pytest.importorskip(server)
        if path == "/stream-sync" and server == "gunicorn":
            pytest.skip("one WSGI run is enough: a WSGI controller is sync either way")
    port = free_port()
    command = _servers()[server]
    command = command + ([f"{HOST}:{port}"] if server == "gunicorn" else [str(port)])
    process = ServerProcess(server, command, port, tmp_path / f"{server}.log")
    try:
        process.wait_ready()
        before = _get(port, "/peak")["peak_kb"]
        pieces, expected = _body()
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        try:
            conn.request("POST", path, body=pieces, headers={"Content-Length": str(BODY_SIZE),
                                                             "Content-Type": "application/octet-stream"})
            response = conn.getresponse()
            reply = json.loads(response.read())
            assert response.status == 200, reply
        finally:
            conn.close()
        assert reply == {"size": BODY_SIZE, "sha256": expected}
        after = _get(port, "/peak")["peak_kb"]
        growth = after - before
        print(f"{server} {path}: peak RSS {before} kB -> {after} kB (+{growth} kB) for a {BODY_SIZE // MIB} MiB body")
        assert growth < MAX_GROWTH_KB, f"the upload grew the server's peak memory by {growth} kB"
    finally:
        process.stop()
