"""Hostile clients against a server that serves ``tests/asgi/hostile_app.py``, over real sockets
on 127.0.0.1: shared by the ASGI server tests (uvicorn, hypercorn) and the gunicorn ones.

- ``check_refused_and_closed``: a request the server or the adapter refuses, with a second
  request pipelined behind it on the same connection: exactly one response comes back, the
  connection closes, and the pipelined request never reaches ``/smuggled``.
- ``check_slow_readers``: clients that request a large streamed response and read nothing;
  the controller's writes must end with ``ClientDisconnected`` and the server's memory must
  not hold the responses.
- ``check_partial_reader``: a client that reads part of a stream, then leaves.
- ``check_fast_reader``: the whole streamed body arrives intact.

Every wait is bounded; every socket is closed in a ``finally``.
"""
from __future__ import annotations

import contextlib
import socket
import time
from typing import Any, Iterator

from ..support import HOST, Client, exchange, wait_until
from .hostile_app import MAX_BODY, expected_body

#: A request with both Transfer-Encoding and Content-Length (RFC 9112 6.3: a smuggling
#: signature), its chunked body empty, and a second request behind it.
TE_CL = (b"POST /submit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
         b"0\r\n\r\n")
#: A head the HTTP core refuses although servers pass it on (a malformed percent-escape).
BAD_ESCAPE = b"GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n"
#: A path with a NUL once decoded: refused by the adapter under every server.
NUL_PATH = b"GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n"
#: What is pipelined behind the refused request.
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
#: The body size of the streamed responses, and the size of their pieces.
STREAM_SIZE = 32 * 1024 * 1024
PIECE = 64 * 1024
#: Bound for a stream to end once its client stopped reading or left (write_timeout is 1.5 s).
STREAM_END_WAIT = 20.0


def smuggled_hits(client: Client) -> int:
    hits: int = client.get("/hits").json()["smuggled"]
    return hits


def check_refused_and_closed(port: int, first: bytes, status: int) -> bytes:
    """Send ``first`` with ``SMUGGLED`` behind it: one response with ``status``, then the
    connection closes, and ``/smuggled`` was not served. Returns the response."""
    client = Client(port)
    before = smuggled_hits(client)
    received, closed = exchange(port, first + SMUGGLED, timeout=10.0)
    assert closed, f"the connection stayed open after {received!r}"
    assert received.startswith(b"HTTP/1.") and received.split(b" ", 2)[1] == b"%d" % status, received
    assert received.count(b"HTTP/1.") == 1, received
    assert smuggled_hits(client) == before
    # The counter does count: a request sent on its own is served.
    assert client.get("/smuggled").status == 200 and smuggled_hits(client) == before + 1
    return received


def check_body_too_large_closes(port: int) -> bytes:
    """A Content-Length over the limit, most of the body never sent: 413, then the server
    closes instead of waiting for (and discarding) the rest."""
    head = (b"POST /submit HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Length: %d\r\n\r\n" % (MAX_BODY * 100))
    received, closed = exchange(port, head + b"x" * 10, timeout=10.0)
    assert received.startswith(b"HTTP/1.") and received.split(b" ", 2)[1] == b"413", received
    assert closed, f"the connection stayed open after {received!r}"
    return received


def rss(pid: int) -> int:
    """Resident memory of process ``pid``, in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def server_pid(client: Client) -> int:
    pid: int = client.get("/pid").json()["pid"]
    return pid


def outcome(client: Client, tag: str) -> dict[str, Any]:
    record: dict[str, Any] = client.get(f"/outcome?tag={tag}").json()
    return record


def wait_ended(client: Client, tag: str, timeout: float = STREAM_END_WAIT) -> dict[str, Any]:
    """The stream's record once it is no longer running (bounded)."""
    assert wait_until(lambda: outcome(client, tag)["state"] not in ("running", "unknown"), timeout, 0.05), \
        f"stream {tag} still {outcome(client, tag)} after {timeout} s"
    return outcome(client, tag)


def _request(path: str, tag: str, size: int) -> bytes:
    return f"GET {path}?tag={tag}&size={size}&piece={PIECE} HTTP/1.1\r\nHost: x\r\n\r\n".encode("ascii")


@contextlib.contextmanager
def _connection(port: int, receive_buffer: int = 0) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if receive_buffer:  # set before connecting, so the window is small from the start
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.settimeout(10.0)
        sock.connect((HOST, port))
        yield sock
    finally:
        sock.close()


def check_slow_readers(port: int, path: str, tag: str, clients: int = 3) -> None:
    """``clients`` clients request ``STREAM_SIZE`` bytes each and read nothing: every stream
    ends with ``ClientDisconnected`` (within a bound), and the server's resident memory grows
    by far less than one response (under a quarter of it), let alone all of them."""
    client = Client(port)
    pid = server_pid(client)
    check_fast_reader(port, path, f"{tag}-warm", 4 * PIECE)  # threads and buffers exist before measuring
    base = peak = rss(pid)
    with contextlib.ExitStack() as stack:
        for i in range(clients):
            sock = stack.enter_context(_connection(port, receive_buffer=4096))
            sock.sendall(_request(path, f"{tag}{i}", STREAM_SIZE))
        deadline = time.monotonic() + STREAM_END_WAIT
        while time.monotonic() < deadline:
            peak = max(peak, rss(pid))
            if all(outcome(client, f"{tag}{i}")["state"] == "disconnected" for i in range(clients)):
                break
            time.sleep(0.05)
        records = [outcome(client, f"{tag}{i}") for i in range(clients)]
        peak = max(peak, rss(pid))
    assert all(r["state"] == "disconnected" and r["written"] < STREAM_SIZE for r in records), records
    assert peak - base < STREAM_SIZE // 4, f"RSS grew by {(peak - base) >> 20} MiB"


def check_partial_reader(port: int, path: str, tag: str, read: int = 256 * 1024) -> None:
    """A client reads ``read`` bytes of a large stream, then closes: the controller's next
    writes raise ``ClientDisconnected`` (within a bound)."""
    client = Client(port)
    with _connection(port) as sock:
        sock.sendall(_request(path, tag, STREAM_SIZE))
        received = 0
        while received < read:
            piece = sock.recv(65536)
            assert piece, "the server closed first"
            received += len(piece)
    record = wait_ended(client, tag)
    assert record["state"] == "disconnected" and record["written"] < STREAM_SIZE, record


def check_fast_reader(port: int, path: str, tag: str, size: int = 4 * 1024 * 1024) -> None:
    """A client that reads gets the whole streamed body, intact."""
    client = Client(port, timeout=10.0)
    reply = client.get(f"{path}?tag={tag}&size={size}&piece={PIECE}")
    assert reply.status == 200
    assert reply.body == expected_body(size, PIECE)
    assert wait_ended(client, tag) == {"state": "done", "written": size}
