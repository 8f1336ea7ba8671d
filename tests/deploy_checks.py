"""The behaviour of ``tests/deploy_app.py``, asserted over real sockets, whatever serves it.

``check_http(base_url)`` (``http://127.0.0.1:PORT``) and ``check_websocket(ws_url)``
(``ws://127.0.0.1:PORT``) are plain functions: the built-in servers, ASGI servers (uvicorn,
hypercorn) and WSGI servers (gunicorn) are all held to the same answers. Every socket has a
timeout and every wait is bounded. The clients are ``http.client`` and ``websocket-client``.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import secrets
import struct
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

import websocket

from naja_atra import SESSION_COOKIE_NAME

from .deploy_app import MAX_BODY, STREAM_PIECES, SUBPROTOCOL, big_payload

TIMEOUT = 10.0


@dataclass
class Reply:
    """A response: status, headers and the whole body."""

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


class _Http:
    """``http.client`` against one server (``base_url`` may carry a path prefix)."""

    def __init__(self, base_url: str) -> None:
        url = urlsplit(base_url)
        assert url.scheme == "http" and url.hostname and url.port, base_url
        self.host, self.port, self.prefix = url.hostname, url.port, url.path.rstrip("/")

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)

    def request(self, method: str, path: str, body: Optional[bytes] = None,
                headers: Optional[dict[str, str]] = None,
                conn: Optional[http.client.HTTPConnection] = None) -> Reply:
        own = conn is None
        c = conn or self.connection()
        try:
            c.request(method, self.prefix + path, body=body, headers=headers or {})
            r = c.getresponse()
            return Reply(r.status, r.headers, r.read())
        finally:
            if own:
                c.close()

    def get(self, path: str, headers: Optional[dict[str, str]] = None) -> Reply:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, body: bytes, content_type: str) -> Reply:
        return self.request("POST", path, body, {"Content-Type": content_type})


def _multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = "deploy-" + secrets.token_hex(8)
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def check_http(base_url: str) -> None:
    """Assert every HTTP behaviour of the deploy app at ``base_url``."""
    client = _Http(base_url)

    # Plain text, HEAD, JSON.
    reply = client.get("/hello")
    assert (reply.status, reply.text) == (200, "hello, world"), reply
    assert (reply.header("Content-Type") or "").startswith("text/html"), reply.headers
    assert reply.header("Content-Length") == "12", reply.headers
    reply = client.request("HEAD", "/hello")
    assert (reply.status, reply.body, reply.header("Content-Length")) == (200, b"", "12"), reply
    reply = client.get("/json")
    assert reply.status == 200 and reply.json() == {"ok": True, "items": [1, 2, 3], "text": "naïve ✓"}, reply
    assert (reply.header("Content-Type") or "").startswith("application/json"), reply.headers

    # Path values (percent-decoded by the core's rules), query parameters, the request seen.
    assert client.get("/users/a%20b?verbose=1").json() == {"uid": "a b", "verbose": "1"}
    assert client.get("/users/%E4%B8%AD").json() == {"uid": "中", "verbose": "0"}
    assert client.get("/users/%zz").status == 400
    assert client.get("/nested/../hello").text == "hello, world"
    seen = client.get("/whoami?x=1&y=%20").json()
    assert seen == {"method": "GET", "path": "/whoami", "query": "x=1&y=%20", "scheme": "http",
                    "host": f"{client.host}:{client.port}", "client": True}, seen

    # Bodies: a form, JSON, a multipart upload big enough to arrive in several pieces.
    form = b"name=kim&age=42"
    reply = client.post("/form", form, "application/x-www-form-urlencoded")
    assert (reply.status, reply.text) == (200, "form kim 42"), reply
    assert client.post("/form", b"name=kim&age=old", "application/x-www-form-urlencoded").status == 400
    reply = client.post("/json-body", json.dumps({"b": 2, "a": [1]}).encode(), "application/json")
    assert reply.json() == {"received": {"b": 2, "a": [1]}, "keys": ["a", "b"]}, reply
    assert client.post("/json-body", b"{broken", "application/json").status == 400
    content = secrets.token_bytes(300 * 1024)
    body, content_type = _multipart({"note": "upload ✓"}, "data.bin", content)
    reply = client.post("/upload", body, content_type)
    assert reply.json() == {"filename": "data.bin", "size": len(content),
                            "sha256": hashlib.sha256(content).hexdigest(), "note": "upload ✓"}, reply

    # A body over the limit: refused from its Content-Length, before it is sent.
    conn = client.connection()
    try:
        conn.putrequest("POST", client.prefix + "/form")
        conn.putheader("Content-Type", "application/x-www-form-urlencoded")
        conn.putheader("Content-Length", str(MAX_BODY + 1))
        conn.endheaders()
        assert conn.getresponse().status == 413
    finally:
        conn.close()

    # Streamed (write_bytes) and file bodies.
    reply = client.get("/stream")
    assert (reply.status, reply.body) == (200, b"".join(STREAM_PIECES)), reply
    assert reply.header("X-Streamed") == "yes" and (reply.header("Content-Type") or "").startswith("text/plain")
    reply = client.request("HEAD", "/stream")
    assert (reply.status, reply.body, reply.header("X-Streamed")) == (200, b"", "yes"), reply
    # A stream that fails after its head went out must not look complete: the connection is cut.
    conn = client.connection()
    try:
        conn.request("GET", client.prefix + "/stream/broken")
        response = conn.getresponse()
        assert response.status == 200
        try:
            data = response.read()
        except (http.client.IncompleteRead, ConnectionError):
            pass
        else:
            raise AssertionError(f"a broken stream read as complete: {data!r}")
    finally:
        conn.close()
    reply = client.get("/big")
    assert reply.status == 200 and reply.body == big_payload(), (reply.status, len(reply.body))
    assert reply.header("Content-Length") == str(len(big_payload()))

    # Redirect, error pages, 405.
    reply = client.get("/redirect")
    assert reply.status == 302 and (reply.header("Location") or "").endswith("/hello"), reply
    reply = client.get("/teapot")
    assert (reply.status, reply.text) == (418, "deploy-error 418: I'm a teapot"), reply
    reply = client.get("/crash")
    assert (reply.status, reply.text) == (500, "deploy-error 500: Internal Server Error"), reply
    reply = client.get("/no/such/page")
    assert (reply.status, reply.text) == (404, "deploy-error 404: Not Found"), reply
    reply = client.request("POST", "/hello", b"", {"Content-Type": "text/plain"})
    assert reply.status == 405 and "GET" in (reply.header("Allow") or ""), reply

    # A filter: passes and adds a header, or refuses (its header stays).
    reply = client.get("/filtered/hello")
    assert (reply.status, reply.text, reply.header("X-Deploy-Filter")) == (200, "filtered hello", "passed"), reply
    reply = client.get("/filtered/hello?deny=1")
    assert (reply.status, reply.header("X-Deploy-Filter")) == (403, "passed"), reply

    # Sessions: the cookie carries the count from one request to the next.
    reply = client.get("/session/count")
    assert (reply.status, reply.text) == (200, "1"), reply
    cookies = [c for c in reply.headers.get_all("Set-Cookie") or [] if c.startswith(SESSION_COOKIE_NAME + "=")]
    assert len(cookies) == 1, reply.headers
    session_cookie = cookies[0].split(";", 1)[0]
    assert client.get("/session/count", {"Cookie": session_cookie}).text == "2"

    # An async controller.
    assert client.get("/async?name=zoe").json() == {"async": True, "name": "zoe"}

    # Static resources: types, nesting, conditional GET, nothing outside the root.
    reply = client.get("/static/hello.txt")
    assert (reply.status, reply.text) == (200, "static text file\n"), reply
    assert (reply.header("Content-Type") or "").startswith("text/plain")
    assert client.get("/static/sub/nested.txt").text == "nested static file\n"
    reply = client.get("/static/index.html")
    assert reply.status == 200 and (reply.header("Content-Type") or "").startswith("text/html")
    etag = reply.header("ETag")
    assert etag, reply.headers
    reply = client.get("/static/index.html", {"If-None-Match": etag})
    assert (reply.status, reply.body) == (304, b""), reply
    assert client.get("/static/missing.txt").status == 404
    assert client.get("/static/..%2Fdeploy_app.py").status in (400, 404)

    # Several requests on one kept-alive connection.
    conn = client.connection()
    try:
        for path in ("/hello", "/json", "/hello"):
            assert client.request("GET", path, conn=conn).status == 200
    finally:
        conn.close()


# -- WebSocket ---------------------------------------------------------------------------------------
def _wait_for(predicate: Callable[[], Optional[str]], timeout: float = 5.0) -> str:
    """Poll ``predicate`` until it returns a value (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def _last_close(ws_url: str, expected: set[str]) -> str:
    """The echo endpoint's last close reason ("code reason"), once it is one of ``expected``."""
    def probe() -> Optional[str]:
        ws = websocket.create_connection(ws_url + "/ws/echo/probe", timeout=TIMEOUT)
        try:
            ws.recv()  # welcome
            ws.send("last-close")
            answer = ws.recv()
            assert isinstance(answer, str)
            return answer if answer in expected else None
        finally:
            ws.close()
    return _wait_for(probe)


def _refused_status(url: str) -> int:
    try:
        ws = websocket.create_connection(url, timeout=TIMEOUT)
    except websocket.WebSocketBadStatusException as error:
        return int(error.status_code)
    ws.close()
    raise AssertionError(f"{url} was accepted")


def check_websocket(ws_url: str) -> None:
    """Assert the WebSocket behaviour of the deploy app at ``ws_url`` (``ws://host:port``)."""
    # Handshake through the pipeline: path value, query, subprotocol, the handler's header.
    ws = websocket.create_connection(ws_url + "/ws/echo/lobby?user=kim", timeout=TIMEOUT,
                                     subprotocols=["other", SUBPROTOCOL])
    try:
        assert ws.subprotocol == SUBPROTOCOL, ws.subprotocol
        headers = {k.lower(): v for k, v in (ws.getheaders() or {}).items()}
        assert headers.get("x-deploy-ws") == "accepted", headers
        assert ws.recv() == "welcome lobby kim"
        ws.send("hi ✓")
        assert ws.recv() == "echo: hi ✓"
        ws.send_binary(b"\x00\x01abc")
        assert ws.recv() == b"cba\x01\x00"
        payload = secrets.token_bytes(200 * 1024)
        ws.send_binary(payload)
        assert ws.recv() == payload[::-1]
        for i in range(20):  # in order
            ws.send(str(i))
        assert [ws.recv() for _ in range(20)] == [f"echo: {i}" for i in range(20)]
        ws.close(status=1000, reason=b"done")
    finally:
        ws.shutdown()  # type: ignore[no-untyped-call]  # just drop the socket
    # on_close saw the client's code (some ASGI servers do not pass the code of a client's
    # close on: then it is a normal or abnormal closure without reason).
    _last_close(ws_url, {"1000 done", "1000 ", "1005 ", "1006 "})

    # Without a subprotocol offered, none is chosen.
    ws = websocket.create_connection(ws_url + "/ws/echo/plain", timeout=TIMEOUT)
    try:
        assert ws.subprotocol is None
        assert ws.recv() == "welcome plain -"
        # The server closes: our code and reason reach the client, and on_close.
        ws.send("close:bye")
        opcode, frame = ws.recv_data_frame(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE, opcode
        assert struct.unpack("!H", frame.data[:2])[0] == 4001 and frame.data[2:] == b"bye", frame.data
    finally:
        ws.shutdown()  # type: ignore[no-untyped-call]  # just drop the socket
    _last_close(ws_url, {"4001 bye"})

    # Refusals: the handshake callable's status, no endpoint at all.
    assert _refused_status(ws_url + "/ws/refuse") == 403
    assert _refused_status(ws_url + "/ws/nothing/here") == 404
