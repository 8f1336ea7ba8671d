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

import websocket

from naja_atra import SESSION_COOKIE_NAME

from .deploy_app import CLOSE_TAG, MAX_BODY, STREAM_PIECES, SUBPROTOCOL, big_payload
from .support import Client

TIMEOUT = 10.0


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
    client = Client.for_url(base_url, TIMEOUT)

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
    reply = client.post("/form", form, content_type="application/x-www-form-urlencoded")
    assert (reply.status, reply.text) == (200, "form kim 42"), reply
    assert client.post("/form", b"name=kim&age=old", content_type="application/x-www-form-urlencoded").status == 400
    reply = client.post("/json-body", json.dumps({"b": 2, "a": [1]}).encode(), content_type="application/json")
    assert reply.json() == {"received": {"b": 2, "a": [1]}, "keys": ["a", "b"]}, reply
    assert client.post("/json-body", b"{broken", content_type="application/json").status == 400
    content = secrets.token_bytes(300 * 1024)
    body, content_type = _multipart({"note": "upload ✓"}, "data.bin", content)
    reply = client.post("/upload", body, content_type=content_type)
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
def _close_of(ws_url: str, tag: str) -> str:
    """How the echo connection tagged ``tag`` was closed, as the server's ``on_close`` saw it
    ("code reason"): asked (bounded) over one untagged connection until it has been recorded.
    Only that connection's close is recorded under ``tag`` (the asking connection is untagged,
    its own close is not recorded at all), so the answer is about that connection whatever
    order the server runs the ``on_close`` callbacks in."""
    ws = websocket.create_connection(ws_url + "/ws/echo/probe", timeout=TIMEOUT)
    try:
        assert ws.recv() == "welcome probe -"
        deadline = time.monotonic() + TIMEOUT
        while True:
            ws.send(f"close-of:{tag}")
            answer = ws.recv()
            assert isinstance(answer, str), answer
            if answer != "none":
                return answer
            if time.monotonic() > deadline:
                raise AssertionError(f"the server recorded no close of the connection tagged {tag!r} "
                                     f"within {TIMEOUT} s")
            time.sleep(0.02)
    finally:
        ws.close()


def _refused_status(url: str) -> int:
    try:
        ws = websocket.create_connection(url, timeout=TIMEOUT)
    except websocket.WebSocketBadStatusException as error:
        return int(error.status_code)
    ws.close()
    raise AssertionError(f"{url} was accepted")


def check_websocket(ws_url: str) -> None:
    """Assert the WebSocket behaviour of the deploy app at ``ws_url`` (``ws://host:port``)."""
    # Handshake through the pipeline: path value, query, subprotocol, the handler's header. The
    # tag (a query parameter the greeting ignores) names the connection whose close is checked.
    tag = secrets.token_hex(8)
    ws = websocket.create_connection(ws_url + f"/ws/echo/lobby?user=kim&{CLOSE_TAG}={tag}", timeout=TIMEOUT,
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
    closed = _close_of(ws_url, tag)
    assert closed in {"1000 done", "1000 ", "1005 ", "1006 "}, closed

    # Without a subprotocol offered, none is chosen.
    tag = secrets.token_hex(8)
    ws = websocket.create_connection(ws_url + f"/ws/echo/plain?{CLOSE_TAG}={tag}", timeout=TIMEOUT)
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
    closed = _close_of(ws_url, tag)
    assert closed == "4001 bye", closed

    # Refusals: the handshake callable's status, no endpoint at all.
    assert _refused_status(ws_url + "/ws/refuse") == 403
    assert _refused_status(ws_url + "/ws/nothing/here") == 404
