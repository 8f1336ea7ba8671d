"""HTTPS on both drivers with a certificate made at test time."""
from __future__ import annotations

import http.client
import socket
import ssl
import time
from pathlib import Path
from typing import Callable

import pytest

from naja_atra.servers import make_ssl_context

from ..support import wait_until
from .conftest import WAIT, Running, is_closed

Start = Callable[..., Running]


def _client_context(cert: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cert))
    return context


def test_get_over_tls(start_server: Start, cert_files: tuple[Path, Path]) -> None:
    cert, key = cert_files
    srv = start_server(ssl_context=make_ssl_context(certfile=str(cert), keyfile=str(key)))
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=_client_context(cert), timeout=WAIT)
    try:
        for path in ("/secure", "/scheme"):  # two requests: keep-alive over TLS
            conn.request("GET", path)
            response = conn.getresponse()
            assert response.status == 200
            body = response.read()
        assert body == b"https"
        conn.request("POST", "/up", body=b"x" * 100000)
        assert conn.getresponse().read() == b"POST /up 100000\n" + b"x" * 100000
    finally:
        conn.close()


def test_streamed_response_over_tls(start_server: Start, cert_files: tuple[Path, Path]) -> None:
    cert, key = cert_files
    srv = start_server(ssl_context=make_ssl_context(certfile=str(cert), keyfile=str(key)))
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=_client_context(cert), timeout=WAIT)
    try:
        conn.request("GET", "/stream")
        assert conn.getresponse().read() == b"first second third"
    finally:
        conn.close()


def test_stalled_handshake_does_not_block_others(start_server: Start, cert_files: tuple[Path, Path]) -> None:
    cert, key = cert_files
    context = make_ssl_context(certfile=str(cert), keyfile=str(key))
    srv = start_server(ssl_context=context, handshake_timeout=0.5)
    with socket.create_connection(("127.0.0.1", srv.port), timeout=WAIT) as stalled:
        stalled.sendall(b"\x16\x03\x01")  # the start of a ClientHello, then nothing
        started = time.monotonic()
        conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=_client_context(cert), timeout=WAIT)
        conn.request("GET", "/")
        assert conn.getresponse().status == 200
        conn.close()
        assert time.monotonic() - started < 2.0
        assert is_closed(stalled, timeout=3.0)  # dropped after handshake_timeout
    assert wait_until(lambda: srv.server.connection_count == 0)


def test_plain_http_to_a_tls_port_is_dropped(start_server: Start, cert_files: tuple[Path, Path]) -> None:
    cert, key = cert_files
    srv = start_server(ssl_context=make_ssl_context(certfile=str(cert), keyfile=str(key)))
    with srv.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        sock.settimeout(WAIT)
        try:
            data = sock.recv(100)
        except ConnectionResetError:
            data = b""
        assert not data.startswith(b"HTTP/")
    assert wait_until(lambda: srv.server.connection_count == 0)


def test_make_ssl_context_needs_a_certfile() -> None:
    with pytest.raises(ValueError):
        make_ssl_context()


def test_make_ssl_context_with_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(ssl.SSLError):
        make_ssl_context(certfile=str(bad))


def test_make_ssl_context_options(cert_files: tuple[Path, Path]) -> None:
    cert, key = cert_files
    context = make_ssl_context(certfile=str(cert), keyfile=str(key), ssl_check_hostname=True)
    assert context.check_hostname
    assert context.verify_mode == ssl.CERT_REQUIRED
    plain = make_ssl_context(certfile=str(cert), keyfile=str(key))
    assert not plain.check_hostname
    assert plain.protocol == ssl.PROTOCOL_TLS_SERVER
