"""CORS and automatic OPTIONS over real sockets: both built-in servers and uvicorn."""
from __future__ import annotations

import contextlib
import http.client
from collections.abc import Iterator
from typing import Any, Optional

import pytest

from naja_atra import CORS, Application, ConfigurationError, HttpError, Response

from ..support import DRIVERS, WAIT, serving, uvicorn_serving

SHOP = "https://shop.example"
PREFLIGHT = {"Origin": SHOP, "Access-Control-Request-Method": "PUT"}


def _app(cors: Optional[CORS]) -> Application:
    app = Application(load_entry_points=False)
    if cors is not None:
        app.register(cors)

    @app.route("/items", method=["GET", "PUT"])
    def items() -> dict[str, Any]:
        return {"items": []}

    @app.get("/fail")
    def fail() -> str:
        raise HttpError(500, "Broken")

    @app.get("/stream")
    def stream(response: Response) -> None:
        response.set_header("Content-Type", "text/plain")
        response.write_bytes(b"one ")
        response.write_bytes(b"two")
        response.close()

    @app.route("/own", method="OPTIONS")
    def own_options() -> str:
        return "my options"

    @app.get("/own")
    def own() -> str:
        return "own"

    return app


def _policy() -> CORS:
    return CORS([SHOP], allow_methods=["GET", "PUT"], allow_headers=["X-Token"], allow_credentials=True,
                expose_headers=["X-Count"], max_age=120)


@contextlib.contextmanager
def _server(app: Application, kind: str) -> Iterator[int]:
    if kind == "uvicorn":
        with uvicorn_serving(app.asgi) as port:
            yield port
    else:
        with serving(app, kind) as client:
            yield client.port


@pytest.fixture(params=[*DRIVERS, "uvicorn"])
def port(request: pytest.FixtureRequest) -> Iterator[int]:
    with _server(_app(_policy()), request.param) as port:
        yield port


def _ask(port: int, method: str, path: str, headers: dict[str, str]) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
    try:
        conn.request(method, path, headers=headers)
        answer = conn.getresponse()
        return answer.status, answer.headers, answer.read()
    finally:
        conn.close()


def test_an_allowed_preflight(port: int) -> None:
    status, headers, _ = _ask(port, "OPTIONS", "/items", {**PREFLIGHT, "Access-Control-Request-Headers": "x-token"})
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == SHOP
    assert headers["Access-Control-Allow-Methods"] == "GET, PUT"
    assert headers["Access-Control-Allow-Headers"] == "x-token"
    assert headers["Access-Control-Allow-Credentials"] == "true"
    assert headers["Access-Control-Max-Age"] == "120"
    assert "Origin" in headers.get_all("Vary", [])


@pytest.mark.parametrize("headers, refused", [
    ({"Origin": "https://evil.example", "Access-Control-Request-Method": "PUT"}, b"origin"),
    ({"Origin": SHOP, "Access-Control-Request-Method": "DELETE"}, b"method"),
    ({**PREFLIGHT, "Access-Control-Request-Headers": "X-Token, X-Secret"}, b"headers X-Secret"),
])
def test_a_refused_preflight(port: int, headers: dict[str, str], refused: bytes) -> None:
    status, answer_headers, body = _ask(port, "OPTIONS", "/items", headers)
    assert status == 400  # a browser treats any preflight answer but 2xx as a refusal
    assert refused in body
    if refused == b"origin":
        assert "Access-Control-Allow-Origin" not in answer_headers


def test_a_preflight_of_an_unrouted_path_is_404(port: int) -> None:
    assert _ask(port, "OPTIONS", "/nothing", PREFLIGHT)[0] == 404


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_an_allowed_origin_can_read_the_answer(port: int, method: str) -> None:
    status, headers, body = _ask(port, method, "/items", {"Origin": SHOP})
    assert (status, body) == (200, b'{"items": []}')
    assert headers["Access-Control-Allow-Origin"] == SHOP
    assert headers["Access-Control-Allow-Credentials"] == "true"
    assert headers["Access-Control-Expose-Headers"] == "X-Count"
    assert "Origin" in headers.get_all("Vary", [])


def test_a_refused_origin_is_served_without_cors_headers(port: int) -> None:
    status, headers, body = _ask(port, "GET", "/items", {"Origin": "https://evil.example"})
    assert (status, body) == (200, b'{"items": []}')  # served: the browser keeps it from the page
    assert "Access-Control-Allow-Origin" not in headers
    assert "Origin" in headers.get_all("Vary", [])


@pytest.mark.parametrize("path, status", [("/nothing", 404), ("/fail", 500)])
def test_errors_are_readable_by_an_allowed_origin(port: int, path: str, status: int) -> None:
    got, headers, _ = _ask(port, "GET", path, {"Origin": SHOP})
    assert got == status
    assert headers["Access-Control-Allow-Origin"] == SHOP


def test_a_streamed_answer_has_the_headers(port: int) -> None:
    status, headers, body = _ask(port, "GET", "/stream", {"Origin": SHOP})
    assert (status, body) == (200, b"one two")
    assert headers["Access-Control-Allow-Origin"] == SHOP


def test_a_request_without_origin_gets_no_cors_headers(port: int) -> None:
    _, headers, _ = _ask(port, "GET", "/items", {})
    assert not [name for name in headers if name.lower().startswith("access-control-")]


# -- automatic OPTIONS (every application) ---------------------------------------------------


@pytest.mark.parametrize("kind", [*DRIVERS, "uvicorn"])
def test_options_answers_allow_and_a_route_of_its_own_wins(kind: str) -> None:
    with _server(_app(None), kind) as port:
        status, headers, body = _ask(port, "OPTIONS", "/items", {})
        assert (status, body) == (204, b"")
        assert headers["Allow"] == "GET, HEAD, PUT, OPTIONS"
        assert _ask(port, "OPTIONS", "/own", {})[2] == b"my options"
        assert _ask(port, "OPTIONS", "/nothing", {})[0] == 404
        assert _ask(port, "DELETE", "/items", {})[0] == 405
        # without the plugin a preflight is just an OPTIONS: no CORS headers
        _, headers, _ = _ask(port, "OPTIONS", "/items", PREFLIGHT)
        assert "Access-Control-Allow-Origin" not in headers


# -- the policy itself --------------------------------------------------------------------------


def test_any_origin_without_credentials_answers_star() -> None:
    app = _app(CORS(["*"]))
    client = app.test_client()
    headers = client.get("/items", headers={"Origin": "https://anyone.example"}).headers
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "Vary" not in headers  # the same answer for every origin


def test_an_origin_pattern() -> None:
    app = _app(CORS(allow_origin_regex=r"https://[a-z]+\.shop\.example"))
    client = app.test_client()
    assert client.get("/items", headers={"Origin": "https://eu.shop.example"}).headers[
        "Access-Control-Allow-Origin"] == "https://eu.shop.example"
    assert "Access-Control-Allow-Origin" not in client.get(
        "/items", headers={"Origin": "https://eu.shop.example.evil"}).headers


@pytest.mark.parametrize("options", [
    {"allow_origins": ["*"], "allow_credentials": True},
    {"allow_origins": "https://shop.example"},
    {"allow_origins": [""]},
    {"max_age": -1},
    {"max_age": 1.5},
    {"allow_methods": "GET"},
])
def test_refused_policies(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        CORS(**options)
