"""Fixtures shared by several test directories (the plain helpers are in ``tests/support.py``).

- ``driver``: "threading" or "asyncio"; a test that takes it runs once per built-in server.
- ``cert_files``: a self-signed certificate and its key for 127.0.0.1 and localhost, made once
  per session with the ``openssl`` command (skipped when it is missing or fails).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .support import DRIVERS


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest) -> str:
    """Each test that takes it runs once per driver."""
    return str(request.param)


@pytest.fixture(scope="session")
def cert_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(cert, key)``: a self-signed certificate for 127.0.0.1/localhost, made with the openssl CLI."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    config = folder / "openssl.cnf"
    config.write_text(
        "[req]\ndistinguished_name=dn\nx509_extensions=ext\nprompt=no\n"
        "[dn]\nCN=localhost\n"
        "[ext]\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n"
    )
    command = [
        openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", str(key), "-out", str(cert), "-config", str(config),
    ]
    try:
        result = subprocess.run(command, capture_output=True, timeout=60, env={**os.environ, "RANDFILE": ""})
    except subprocess.TimeoutExpired as exc:
        pytest.skip(f"openssl could not make a certificate: {exc}")
    if result.returncode != 0:
        pytest.skip(f"openssl could not make a certificate: {result.stderr.decode(errors='replace')}")
    return cert, key
