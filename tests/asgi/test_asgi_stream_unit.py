"""The ASGI adapter's answers that close the connection, and its streamed responses under
backpressure and disconnects, driven directly: in-memory ``receive``/``send`` play the server
(a ``send`` that blocks is a client that does not read).
"""
from __future__ import annotations

import asyncio
import threading
from typing import Any, Optional

import pytest

from naja_atra import Application, RequestBodyReader, Response
from naja_atra.adapters.asgi import AsgiAdapter, Message, StreamAborted
from naja_atra.http.errors import ClientDisconnected

from .test_asgi_unit import Peer, basic_app, http_scope, request_event, run, serve_http

CLOSE = (b"connection", b"close")
FORM = (b"content-type", b"application/x-www-form-urlencoded")


def headers_of(peer: Peer) -> list[tuple[bytes, bytes]]:
    found: list[tuple[bytes, bytes]] = peer.start()["headers"]
    return found


# -- answers that close the connection ----------------------------------------------------------------
@pytest.mark.parametrize("version, closes", [("1.1", True), ("1.0", True), ("2", False)])
def test_a_refused_head_closes_an_http1_connection(version: str, closes: bool) -> None:
    scope = http_scope("/users/%zz", raw_path=b"/users/%zz", http_version=version)
    peer = run(lambda: serve_http(basic_app(), scope))
    assert peer.start()["status"] == 400
    assert (CLOSE in headers_of(peer)) is closes  # an HTTP/2 stream may not carry Connection


def test_both_transfer_encoding_and_content_length_is_a_closing_400() -> None:
    headers = [(b"host", b"t"), (b"transfer-encoding", b"chunked"), (b"content-length", b"5")]
    peer = run(lambda: serve_http(basic_app(), http_scope("/echo", "POST", headers=headers),
                                  request_event(b"hello")))
    assert peer.start()["status"] == 400 and CLOSE in headers_of(peer)
    assert peer.receives == 0  # the body was never asked for


def test_an_error_before_the_body_ended_closes() -> None:
    app = basic_app(max_body_size=10)
    too_long = http_scope("/echo", "POST", headers=[(b"host", b"t"), (b"content-length", b"100")])
    peer = run(lambda: serve_http(app, too_long, request_event(b"x" * 100)))
    assert peer.start()["status"] == 413 and CLOSE in headers_of(peer)
    growing = http_scope("/echo", "POST", headers=[(b"host", b"t"), (b"transfer-encoding", b"chunked")])
    peer = run(lambda: serve_http(app, growing, request_event(b"x" * 8, True), request_event(b"x" * 8, True)))
    assert peer.start()["status"] == 413 and CLOSE in headers_of(peer)
    unread = http_scope("/nowhere", "POST", headers=[(b"host", b"t"), (b"content-length", b"6")])
    peer = run(lambda: serve_http(app, unread, request_event(b"abc", True)))  # a 404: the body is never read
    assert peer.start()["status"] == 404 and CLOSE in headers_of(peer)


def test_answers_after_the_whole_body_keep_the_connection() -> None:
    app = basic_app()
    form = http_scope("/form", "POST", headers=[(b"host", b"t"), FORM])
    ok = run(lambda: serve_http(app, form, request_event(b"name=k&age=4")))
    assert (ok.start()["status"], ok.body()) == (200, b"k:4") and CLOSE not in headers_of(ok)
    bad = run(lambda: serve_http(app, form, request_event(b"name=k&age=old")))
    assert bad.start()["status"] == 400 and CLOSE not in headers_of(bad)  # read to its end: framing is sound
    missing = run(lambda: serve_http(app, http_scope("/nowhere")))
    assert missing.start()["status"] == 404 and CLOSE not in headers_of(missing)


# -- streamed responses: backpressure -----------------------------------------------------------------
class StallingPeer(Peer):
    """A server whose ``send`` stops returning after ``taken`` events: a client that stopped reading."""

    def __init__(self, taken: int, *events: Message) -> None:
        super().__init__(*events)
        self.taken = taken
        self.stalled = 0

    async def send(self, message: Message) -> None:
        if len(self.sent) >= self.taken:
            self.stalled += 1
            await asyncio.Event().wait()  # until cancelled
        await super().send(message)


def stream_app(**options: Any) -> tuple[Application, dict[str, Any]]:
    """``/sync`` (in the thread pool) and ``/async`` write 100 pieces of 1000 bytes, recording
    how many writes returned and the exception that stopped them."""
    app = Application(load_entry_points=False, run_sync_in_threadpool=True, **options)
    seen: dict[str, Any] = {"written": 0, "error": None, "thread": None}

    @app.route("/sync")
    def sync_stream(response: Response) -> None:
        seen["thread"] = threading.get_ident()
        try:
            for _ in range(100):
                response.write_bytes(b"x" * 1000)
                seen["written"] += 1
        except ClientDisconnected as exc:
            seen["error"] = exc

    @app.route("/async")
    async def async_stream(response: Response) -> None:
        try:
            for _ in range(100):
                await response.write_bytes(b"x" * 1000)
                seen["written"] += 1
        except ClientDisconnected as exc:
            seen["error"] = exc

    return app, seen


@pytest.mark.parametrize("path", ["/sync", "/async"])
def test_a_client_that_stops_reading_is_dropped_after_write_timeout(path: str) -> None:
    app, seen = stream_app(write_timeout=0.2)

    async def main() -> StallingPeer:
        peer = StallingPeer(3, request_event())  # the head and two pieces, then nothing
        with pytest.raises(StreamAborted, match="read nothing for 0.2 s"):
            await AsgiAdapter(app)(http_scope(path), peer.receive, peer.send)
        return peer
    peer = run(main)
    assert isinstance(seen["error"], ClientDisconnected)
    # One piece in flight at a time: the writer never got ahead of the client.
    assert seen["written"] == 2 and peer.stalled == 1
    assert peer.types() == ["http.response.start", "http.response.body", "http.response.body"]
    if path == "/sync":
        assert seen["thread"] != threading.get_ident()


def test_an_off_loop_writer_waits_for_each_send() -> None:
    """A sync controller's write returns only once the server's ``send`` of it returned."""
    app, seen = stream_app()
    log: list[str] = []

    async def main() -> None:
        peer = Peer(request_event())

        async def send(message: Message) -> None:
            await asyncio.sleep(0.001)
            log.append(f"sent {len(message.get('body', b''))} at {seen['written']}")
        await AsgiAdapter(app)(http_scope("/sync"), peer.receive, send)
    run(main)
    # Piece n is sent while n pieces have returned: the writer waited for each.
    assert log[1:101] == [f"sent 1000 at {n}" for n in range(100)]
    assert log[-1] == "sent 0 at 100"


# -- streamed responses: the client leaving ------------------------------------------------------------
class LeavingPeer(Peer):
    """A server that reports a disconnect once ``after`` events were sent."""

    def __init__(self, after: int, *events: Message) -> None:
        super().__init__(*events)
        self.after = after

    async def send(self, message: Message) -> None:
        await super().send(message)
        if len(self.sent) == self.after:
            self.push({"type": "http.disconnect"})


@pytest.mark.parametrize("path", ["/sync", "/async"])
def test_a_disconnect_while_streaming_stops_the_writer(path: str) -> None:
    app, seen = stream_app()
    peer = run(lambda: _serve(app, LeavingPeer(5, request_event()), path))  # no StreamAborted: the client left
    assert isinstance(seen["error"], ClientDisconnected)
    assert 4 <= seen["written"] < 100
    assert peer.sent[-1].get("more_body") is True  # never a final, complete-looking event


async def _serve(app: Application, peer: Peer, path: str, *extra: Message) -> Peer:
    peer.push(*extra)
    await AsgiAdapter(app)(http_scope(path), peer.receive, peer.send)
    return peer


def test_the_request_body_is_read_ahead_for_the_reader_while_a_response_streams() -> None:
    """A controller that streams while it reads its body: the disconnect watcher shares
    ``receive()`` with the body reader and takes no piece from it."""
    app = Application(load_entry_points=False)

    @app.route("/echo", method="POST")
    async def echo(response: Response, reader: RequestBodyReader) -> None:
        await response.write_bytes(b"start:")
        async for piece in reader:
            await asyncio.sleep(0.001)  # the watcher runs meanwhile
            await response.write_bytes(piece)

    events = [request_event(b"ab", True), request_event(b"cd", True), request_event(b"ef")]
    peer = run(lambda: serve_http(app, http_scope("/echo", "POST"), *events))
    assert peer.body() == b"start:abcdef" and peer.sent[-1] == {"type": "http.response.body", "body": b""}


def test_a_disconnect_before_the_body_ended_is_seen_by_a_streaming_response() -> None:
    app = Application(load_entry_points=False)
    seen: dict[str, Optional[BaseException]] = {"read": None, "write": None}

    @app.route("/echo", method="POST")
    async def echo(response: Response, reader: RequestBodyReader) -> None:
        await response.write_bytes(b"start:")
        try:
            await reader.read_to_end()
        except Exception as exc:
            seen["read"] = exc
        try:
            await response.write_bytes(b"more")
        except ClientDisconnected as exc:
            seen["write"] = exc

    events = [request_event(b"ab", True), {"type": "http.disconnect"}]
    peer = run(lambda: serve_http(app, http_scope("/echo", "POST"), *events))
    assert seen["read"] is not None and isinstance(seen["write"], ClientDisconnected)
    assert peer.body() == b"start:"
