"""One connection of the threading server, and the two places it lives.

Waiting for a request costs no thread: a connection between requests, or still receiving
a head, is *parked* in the server's selector, which reads what arrives without blocking
(:meth:`Connection.fill`). Once a complete head (or a protocol error) is there, a worker
thread of the bounded pool *serves* it (:meth:`Connection.serve`): blocking reads of the
body, the application, the writes, with straight-line code. After the response the worker
keeps the connection a moment for the next request (a client that sends it at once is
served without a hand-off), then parks it again.

Every blocking call on a worker is bounded: body reads by ``body_timeout`` and the
minimum receive rate (:mod:`.receive_rate`), writes by ``write_timeout``.
"""
from __future__ import annotations

import enum
import select
import socket
import ssl
import threading
import time
from typing import TYPE_CHECKING, Any, Optional

from ..http.connection import (
    BODY,
    END_OF_BODY,
    IDLE,
    NEED_DATA,
    BodyData,
    Event,
    RequestReader,
    RequestReceived,
    RequestRejected,
)
from ..http.errors import ClientDisconnected, ProtocolError
from ..http.outgoing import Outgoing
from ..http.parser import RequestHead
from ..http.request import Request
from ..http.request_body import EMPTY_BODY, PullBody
from ..http.response import Response
from ..http.wire import CONTINUE_100, encode_head, error_bytes
from .common import RequestCycle, StreamChannel, internal_error, logger
from .receive_rate import ReceiveRate

if TYPE_CHECKING:
    from .threaded import ThreadingServer

__all__ = ["Connection", "Outcome"]

RECV_SIZE = 64 * 1024
#: How long a worker waits for the next request on the connection it just served before
#: parking it: a client that pipelines or answers at once costs no hand-off to the selector.
NEXT_REQUEST_WAIT = 0.002
#: After an error response, how long (s) and how much is read and discarded before the
#: close, so the client's unsent input does not turn the close into a reset that destroys
#: the response.
LINGER_SECONDS = 1.0
LINGER_BYTES = 1024 * 1024
_HAS_POLL = hasattr(select, "poll")  # not on Windows


class Outcome(enum.Enum):
    """What a worker leaves a connection to, once it has served what it could."""

    PARK = "park"  #: wait (in the selector) for the next request
    LINGER = "linger"  #: an error response went out: drain a moment, then close
    CLOSE = "close"  #: close now
    UPGRADED = "upgraded"  #: a protocol upgrade took the socket over on its own thread


class Connection:
    """One client connection: its socket, its request reader and where it stands."""

    def __init__(self, server: ThreadingServer, sock: socket.socket, address: Optional[tuple[str, int]]) -> None:
        self.server = server
        self.sock = sock
        self.address = address
        self.limits = limits = server.config.limits
        self.reader = RequestReader(limits)
        self.cycle = RequestCycle(limits.keep_alive_max_requests)
        self.channel = StreamChannel(self._send)
        self.rate = ReceiveRate(limits)
        self.write_lock = threading.Lock()
        self.tls_pending = server.config.ssl_context is not None  # handshake not done yet
        self.busy = False  # a request is being handled: shutdown gives it the grace period
        self.upgraded = False  # handed to a protocol upgrade: not ours to serve
        self.continue_pending = False  # the client waits for 100 Continue before its body
        self.body_failed = False  # the body broke off: the connection cannot be reused
        #: The request being handled (while ``busy``): stopping makes it the last one.
        self.request: Optional[Request] = None
        self.closed = False
        #: Parked: when the current wait ends (monotonic): the handshake, keep-alive or
        #: head deadline, or the end of a linger.
        self.deadline = time.monotonic() + (server.config.handshake_timeout if self.tls_pending
                                            else limits.header_timeout)
        #: Parked with part of a head: when its first byte came (the head deadline and the
        #: receive rate count from there); None between requests.
        self.head_started: Optional[float] = None
        self.lingering = False
        self.lingered = 0
        self._poll: Optional[Any] = None  # a select.poll on this socket, made when first needed

    # -- parked: what the selector thread calls -------------------------------------------
    def waiting(self, now: float) -> None:
        """The connection waits (in the selector) for input: start the wait that applies,
        unless it runs already (a head's deadline counts from its first byte, the first
        request's from the accept)."""
        if self.lingering or self.tls_pending:
            return
        if self.reader.state is IDLE and not self.reader.buf:
            if self.cycle.served and self.head_started is None:
                self.deadline = now + self.limits.keep_alive_timeout
        elif self.head_started is None:
            self.head_started = now
            if self.cycle.served:
                self.deadline = now + self.limits.header_timeout

    def handshake(self) -> Optional[bool]:
        """One non-blocking step of the TLS handshake: True when done, None when it needs
        more input, False when it failed."""
        sock = self.sock
        assert isinstance(sock, ssl.SSLSocket)
        try:
            sock.do_handshake()
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return None
        except (ssl.SSLError, OSError) as exc:
            logger.debug("TLS handshake with %s failed: %r", self.address, exc)
            return False
        self.tls_pending = False
        self.deadline = time.monotonic() + self.limits.header_timeout
        return True

    def fill(self) -> Optional[bool]:
        """Read what arrived, without blocking: True when something was read, None when
        nothing was there, False at the end of the input (or an error)."""
        sock = self.sock
        got = False
        try:
            if sock.gettimeout() != 0.0:
                sock.settimeout(0.0)
            while True:
                data = sock.recv(RECV_SIZE)
                if not data:
                    return False
                got = True
                if self.lingering:
                    self.lingered += len(data)
                    if self.lingered > LINGER_BYTES:
                        return False
                else:
                    self.reader.buf += data
                # TLS may hold decrypted bytes the selector cannot see: take them too.
                if not isinstance(sock, ssl.SSLSocket) or not sock.pending():
                    return True
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return True if got else None
        except OSError:
            return False

    def expired(self, now: float) -> bool:
        """Parked: has the current wait run out (deadline, or too slow a head)?"""
        if now >= self.deadline:
            return True
        started = self.head_started
        if started is None or self.lingering:
            return False
        rate = self.rate
        if rate.enabled and now - started >= rate.window:
            return len(self.reader.buf) < rate.rate * (now - started)
        return False

    def time_out(self) -> bool:
        """Parked, and the wait ran out: True to linger after a 408 (a partial head is told
        why), False to close at once."""
        if self.lingering or self.tls_pending or self.head_started is None:
            return False
        return self.send_nowait(error_bytes(408, "Request Timeout"))

    def start_linger(self) -> bool:
        """Half-close after an error response, then read and drop for a moment (closing with
        unread input makes the kernel reset the connection, which can destroy the response
        before the client reads it). False when even the half-close failed."""
        self.lingering = True
        self.reader.buf.clear()
        self.deadline = time.monotonic() + LINGER_SECONDS
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except (OSError, ValueError):
            return False
        return True

    def send_nowait(self, data: bytes) -> bool:
        """Send a short answer without blocking (the selector thread must not wait); False
        when it did not all go out."""
        try:
            self.sock.settimeout(0.0)
            return self.sock.send(data) == len(data)
        except (OSError, ValueError):
            return False

    def has_unread_input(self) -> bool:
        """Parked and idle: did bytes of a next request arrive that no one has read yet?
        (Such a connection is not idle: stopping must not close it.)"""
        if self.reader.buf:
            return True
        return bool(self.fill())

    # -- served: what a worker thread runs ----------------------------------------------
    def serve(self, event: Event) -> Outcome:
        """Serve from ``event`` (what the selector found) on: requests, as long as they come
        without waiting; then say what should become of the connection."""
        try:
            return self._serve(event)
        except OSError as exc:  # the client went away, a timeout, or shutdown cut it
            logger.debug("connection %s ended: %r", self.address, exc)
        except Exception:
            logger.exception("unexpected error on connection %s", self.address)
        return Outcome.CLOSE

    def _serve(self, event: Event) -> Outcome:
        reader = self.reader
        server = self.server
        waited = False  # for the next request, once: a client trickling a head is parked
        while True:
            if event is NEED_DATA:
                if reader.state is BODY:  # body bytes nobody read (the application failed first)
                    return Outcome.CLOSE
                if server.stopping and reader.state is IDLE and not self.has_unread_input():
                    return Outcome.CLOSE
                if waited or not self._next_request_arrived():
                    return Outcome.PARK
                waited = True
            elif isinstance(event, RequestReceived):
                self.head_started = None
                request, out = self._request(event.head)
                if out.upgrade is not None:
                    self._take_over(out)
                    return Outcome.UPGRADED
                if not self.cycle.end(request, out, self.channel, server.stopping):
                    return Outcome.CLOSE
                waited = False
            elif isinstance(event, RequestRejected):
                self._send(error_bytes(event.error.code, event.error.message))
                return Outcome.LINGER
            else:
                return Outcome.CLOSE
            event = reader.next_event()

    def _request(self, head: RequestHead) -> tuple[Request, Outgoing]:
        """Handle one request and write its response."""
        server = self.server
        # Busy from here: the shutdown sweep must not take this connection for idle.
        self.busy = True
        body = self._body_of(head) if head.has_body else EMPTY_BODY
        try:
            request, response = self.cycle.begin(head, body, self.channel, self.address,
                                                  server.scheme, server.stopping)
            try:
                out = self._handle(request, response)
            finally:
                if body is not EMPTY_BODY:
                    request.release()
            if out.upgrade is not None:
                self.upgraded = True  # before busy drops, for the same reason
        finally:
            self.busy = False
        return request, out

    def _next_request_arrived(self) -> bool:
        """Wait a moment for the next request's bytes (only while the pool has no backlog:
        a worker must not hold an idle client while others queue)."""
        sock = self.sock
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return self.fill() is True
        if self.server.pool_is_backlogged():
            return False
        if _HAS_POLL:
            poller = self._poll
            if poller is None:
                poller = self._poll = select.poll()
                poller.register(sock.fileno(), select.POLLIN)
            if not poller.poll(NEXT_REQUEST_WAIT * 1000):
                return False
        elif not select.select([sock], [], [], NEXT_REQUEST_WAIT)[0]:
            return False
        return self.fill() is True

    # -- reading a body -------------------------------------------------------------------
    def _body_of(self, head: RequestHead) -> PullBody:
        """The request body, read from this connection when the application asks for it."""
        self.continue_pending = head.expect_continue
        self.body_failed = False
        self.rate.reset()
        return PullBody(head.content_length, self._pull_body, self._discard_body)

    def _pull_body(self) -> bytes:
        """The next piece of the body (``b""`` at its end), reading the socket as needed.

        The first read of a body the client holds back (``Expect: 100-continue``) sends
        ``100 Continue``. Silence for ``body_timeout``, or less than the minimum receive
        rate, is a 408; a connection closed early or malformed framing a 400; the
        connection closes after the answer.
        """
        reader = self.reader
        rate = self.rate
        sock = self.sock
        while True:
            event = reader.next_event()
            if isinstance(event, BodyData):
                return event.data
            if event is END_OF_BODY:
                return b""
            if isinstance(event, RequestRejected):
                self.body_failed = True
                raise event.error
            if self.continue_pending:
                self.continue_pending = False
                self._send(CONTINUE_100)
            started = time.monotonic()
            try:
                sock.settimeout(min(self.limits.body_timeout, rate.remaining()))
                data = sock.recv(RECV_SIZE)
            except TimeoutError:
                data = None
            waited = time.monotonic() - started
            if not rate.record(len(data) if data else 0, waited) or (
                    data is None and waited >= self.limits.body_timeout):
                self.body_failed = True
                raise ProtocolError(408, "Request Timeout", "The request body is arriving too slowly")
            if data is None:
                continue
            if not data:
                self.body_failed = True
                raise ProtocolError(400, "Bad Request", "The connection closed before the body was complete")
            reader.buf += data

    def _discard_body(self) -> bool:
        """Drop the body bytes already read, without waiting; True when that was all of it."""
        if self.body_failed:
            return False
        reader = self.reader
        while True:
            event = reader.next_event()
            if event is END_OF_BODY:
                return True
            if not isinstance(event, BodyData):
                return False  # more to come (or broken): the connection closes after the response

    # -- handling -----------------------------------------------------------------------
    def _handle(self, request: Request, response: Response) -> Outgoing:
        """Run the application on the request and write what it answers."""
        self.request = request
        try:
            try:
                out = self.server.app.dispatcher.handle_sync(request, response)
            except Exception as exc:
                out = internal_error(exc)
            self._write_outgoing(out)
        finally:
            self.request = None
        return out

    def _take_over(self, out: Outgoing) -> None:
        """The seam for protocol upgrades (WebSocket): ``out.upgrade`` gets the socket and the
        bytes already read past the request, on a thread of its own (an upgraded
        connection lives long: it must not hold a worker), and returns when it is over."""
        upgrade = out.upgrade
        assert upgrade is not None
        leftover = bytes(self.reader.buf)
        self.reader.buf.clear()
        self.sock.settimeout(None)
        sock = self.sock

        def run() -> None:
            try:
                upgrade(sock, leftover)
            except Exception:
                logger.exception("the upgraded connection %s failed", self.address)
            finally:
                self.close()
                self.server.forget(self)

        threading.Thread(target=run, name=f"naja-atra-upgraded-{self.address}", daemon=True).start()

    # -- writing ------------------------------------------------------------------------
    def _send(self, data: bytes) -> None:
        """Send ``data`` now; callable from any thread (a streaming controller's included).

        A client that reads nothing for ``write_timeout`` is dropped:
        :class:`~naja_atra.http.errors.ClientDisconnected`, as for a client that is gone.
        """
        with self.write_lock:
            if self.closed:
                raise ClientDisconnected("the connection is closed")
            sock = self.sock
            try:
                if sock.gettimeout() == 0.0 and not isinstance(sock, ssl.SSLSocket):
                    # Left non-blocking by the last read: a response that fits the socket
                    # buffer (the usual one) goes out in one call, without the poll that a
                    # timeout adds before every send and the mode switches around it.
                    try:
                        sent = sock.send(data)
                    except BlockingIOError:
                        sent = 0
                    if sent == len(data):
                        return
                    data = data[sent:]  # rare: the rest waits for the client anyway
                sock.settimeout(self.limits.write_timeout)
                sock.sendall(data)
            except TimeoutError:
                self.abort()
                raise ClientDisconnected(f"the client read nothing for {self.limits.write_timeout:g} s") from None
            except OSError as exc:
                raise ClientDisconnected(str(exc)) from exc

    def _write_outgoing(self, out: Outgoing) -> None:
        if out.streamed:
            return  # it went out through the channel
        if out.unsized:  # no Content-Length (a file gzipped as it goes): framed as a stream
            framer = out.framer()
            assert framer is not None
            try:
                self._send(framer.head(out.status, out.headers))
                for piece in out.body:
                    data = framer.piece(piece)
                    if data:
                        self._send(data)
                tail = framer.end()
                if tail:
                    self._send(tail)
            finally:
                out.close_body()
            return
        head = encode_head(out.version, out.status, out.headers, out.close)
        small = out.in_memory()
        if small is not None:  # in memory: nothing to close
            self._send(head + small if small else head)
            return
        try:
            self._send(head)
            for piece in out.body:
                if piece:
                    self._send(piece)
        finally:
            out.close_body()

    # -- closing ------------------------------------------------------------------------
    def abort(self) -> None:
        """Wake a thread blocked on the socket by shutting it down (any thread).

        The plain-socket shutdown is used on TLS sockets too: ``SSLSocket.shutdown`` would
        drop the TLS object under the feet of the thread reading it.
        """
        try:
            socket.socket.shutdown(self.sock, socket.SHUT_RDWR)
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        """Close the socket; later writes raise."""
        with self.write_lock:
            self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass
