"""End-to-end fixtures: a real server on 127.0.0.1 (a free port), on both drivers."""
from __future__ import annotations

import http.client
import json
import socket
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

import pytest

from naja_atra import Application

DRIVERS = ["threading", "asyncio"]


@dataclass
class Reply:
    """A response as the tests see it."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> Optional[str]:
        return self.headers.get(name)


class Client:
    """A small HTTP client over ``http.client`` against one running server."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.port = port
        self.timeout = timeout

    def request(self, method: str, path: str, body: Any = None, headers: Optional[dict[str, str]] = None,
                conn: Optional[http.client.HTTPConnection] = None) -> Reply:
        """One request; a new connection unless ``conn`` is given (then it is kept open)."""
        own = conn is None
        c = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return Reply(r.status, r.headers, r.read())
        finally:
            if own:
                c.close()

    def get(self, path: str, headers: Optional[dict[str, str]] = None) -> Reply:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, body: Any = None, headers: Optional[dict[str, str]] = None) -> Reply:
        return self.request("POST", path, body=body, headers=headers)

    def post_json(self, path: str, data: Any) -> Reply:
        return self.post(path, json.dumps(data), {"Content-Type": "application/json"})

    def post_form(self, path: str, fields: dict[str, str]) -> Reply:
        from urllib.parse import urlencode
        return self.post(path, urlencode(fields), {"Content-Type": "application/x-www-form-urlencoded"})

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)

    def raw(self, data: bytes, read_until_close: bool = True, timeout: float = 5.0) -> bytes:
        """Send raw bytes and return everything the server answers until it closes (bounded)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(data)
            chunks = []
            while True:
                try:
                    piece = s.recv(65536)
                except socket.timeout:
                    break
                if not piece:
                    break
                chunks.append(piece)
                if not read_until_close:
                    break
            return b"".join(chunks)


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest) -> str:
    """Each end-to-end test runs once per driver."""
    return str(request.param)


@pytest.fixture
def serve(driver: str) -> Iterator[Callable[..., Client]]:
    """``client = serve(app, **start_options)`` starts ``app`` on a free port; stopped after the test."""
    started: list[Application] = []

    def start(app: Application, **options: Any) -> Client:
        options.setdefault("host", "127.0.0.1")
        options.setdefault("port", 0)
        app.run_in_thread(prefer_coroutine=(driver == "asyncio"), **options)
        started.append(app)
        assert app.server is not None
        return Client(app.server.port)

    yield start
    for app in started:
        app.stop()
