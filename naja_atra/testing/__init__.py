"""An in-process test client: the whole request path of an application, without a socket.

:class:`TestClient` turns each call into the bytes an HTTP/1.1 client would send, parses
them with the server's own sans-I/O parser (:func:`~naja_atra.http.parser.parse_head` and
:func:`~naja_atra.http.body.body_decoder`, with the application's limits), runs
``app.dispatcher.handle_sync`` exactly as the threading driver does (filters, routing,
argument injection, sessions, error pages, streaming, async controllers), and reads the
answer back from the wire bytes: the ``Outgoing`` plus whatever a streaming controller
wrote to the response channel, de-chunked::

    client = TestClient(app)
    r = client.post("/login", data={"user": "k"}, follow_redirects=True)
    assert r.status_code == 200 and client.cookies["PY_SIM_HTTP_SER_SESSION_ID"]

Choices worth knowing:

- Input the parser refuses gets the very response a server sends (``error_bytes``: a
  plain-text 4xx/5xx, ``Connection: close``); :meth:`TestClient.send_raw` feeds bytes as
  they are. Header names and values holding CR or LF are refused with ``ValueError``
  before anything is sent (they would add or split header lines).
- ``TestResponse.content`` is the body as sent (still gzip-compressed when the server
  compressed it, which it only does when the request asked with ``Accept-Encoding``);
  ``.text`` and ``.json()`` decode ``Content-Encoding: gzip`` first.
- The cookie jar ignores ``Domain`` and ``Path``: every cookie goes with every request to
  the application, as if each were set with ``Path=/``. ``Max-Age`` (which wins) and
  ``Expires`` are honoured, so a cookie set to expire is deleted; ``Secure`` cookies are
  only sent when the base URL is ``https``. Values are kept as sent (quotes included).
- Every redirect hop is served by this same application, whatever host ``Location`` names.
- Not thread-safe beyond the cookie jar: use one client per thread for concurrent requests.
- :meth:`TestClient.websocket_connect` sends the handshake the same way, but a ``101``
  needs a connection to hand over: the WebSocket part uses an in-process
  ``socket.socketpair()`` (local, no network), so the real blocking runner serves the
  server end on a thread while :class:`TestWebSocket` frames messages over the other::

      with client.websocket_connect("/chat") as ws:
          ws.send_text("hi")
          assert ws.receive_text() == "echo: hi"
"""
from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import json as _json
import mimetypes
import secrets
import socket
import sys
import threading
import time
from collections import deque
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    MutableMapping,
    Optional,
    Sequence,
    Union,
)
from urllib.parse import SplitResult, quote, urlencode, urljoin, urlsplit

from ..http.body import ChunkedDecoder, body_decoder
from ..http.errors import ProtocolError
from ..http.forms import parse_content_type
from ..http.headers import HeaderMap
from ..http.limits import Limits
from ..http.outgoing import Outgoing
from ..http.parser import RequestHead, parse_head
from ..http.request import Request
from ..http.response import Response
from ..http.wire import error_bytes
from ..websocket.handshake import accept_key
from ..websocket.protocol import BinaryMessage, Closed, Pong, State, TextMessage, WebSocketProtocol

if TYPE_CHECKING:
    from ..app.application import Application

__all__ = [
    "TestClient",
    "TestResponse",
    "CookieJar",
    "TestClientError",
    "IncompleteResponse",
    "TooManyRedirects",
    "TestWebSocket",
    "WebSocketRefused",
    "WebSocketClosed",
    "WebSocketTimeout",
]

#: ``params``: a mapping (a value may be a list: one pair per item), pairs, or a ready query string.
ParamsType = Union[Mapping[str, Any], Sequence[tuple[str, Any]], str]
#: ``headers``: a mapping (``None`` as a value leaves a default header out) or pairs (repeats are sent).
HeadersType = Union[Mapping[str, Optional[str]], Sequence[tuple[str, Optional[str]]]]
#: One file: its bytes, or ``(filename, content)``, or ``(filename, content, content_type)``;
#: content may be bytes, str (sent as UTF-8) or a binary file object.
FileSpec = Union[bytes, tuple[str, Any], tuple[str, Any, Optional[str]]]
#: ``files``: field -> one ``FileSpec`` or a list of them, or (field, ``FileSpec``) pairs.
#: Typed loosely so a dict literal mixing the forms type-checks; checked when encoded.
FilesType = Union[Mapping[str, Any], Sequence[tuple[str, Any]]]
#: ``data``: form fields (mapping or pairs), or a raw body (str is sent as UTF-8).
DataType = Union[Mapping[str, Any], Sequence[tuple[str, Any]], str, bytes]

REDIRECT_STATUSES = frozenset((301, 302, 303, 307, 308))
DEFAULT_MAX_REDIRECTS = 10
USER_AGENT = "naja-atra-testclient"
#: Characters left as they are when a path or query given to the client is quoted
#: (the reserved and unreserved sets of RFC 3986, and "%" so existing escapes survive).
_PATH_SAFE = "/%!$&'()*+,;=:@-._~"
_QUERY_SAFE = _PATH_SAFE + "?"
_BODY_HEADERS = ("content-type", "content-length", "transfer-encoding", "content-encoding")
#: Responses are de-chunked without a size limit (the limits protect servers, not clients).
_RESPONSE_LIMITS = Limits(max_body_size=sys.maxsize)
#: How long (s) a :class:`TestWebSocket` waits for anything unless told otherwise.
DEFAULT_WEBSOCKET_TIMEOUT = 5.0
_RECV_SIZE = 64 * 1024


class TestClientError(Exception):
    """The exchange could not be completed the way a real client would complete it."""

    __test__ = False


class IncompleteResponse(TestClientError):
    """The response ended before its body did: a server would have cut the connection
    there (an error raised after a streamed response began). ``response`` holds what
    arrived."""

    def __init__(self, message: str, response: TestResponse) -> None:
        super().__init__(message)
        self.response = response


class TooManyRedirects(TestClientError):
    """``follow_redirects`` met more hops than allowed; ``response`` is the last one."""

    def __init__(self, message: str, response: TestResponse) -> None:
        super().__init__(message)
        self.response = response


class WebSocketRefused(TestClientError):
    """The WebSocket handshake was answered with something other than ``101``;
    ``response`` is that answer (status, headers, body)."""

    def __init__(self, message: str, response: TestResponse) -> None:
        super().__init__(message)
        self.response = response

    @property
    def status_code(self) -> int:
        """The status of the refusal."""
        return self.response.status_code


class WebSocketClosed(TestClientError):
    """The WebSocket connection is closed: ``code`` and ``reason`` of the close (1006 and
    "" when it ended without a closing handshake)."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"The WebSocket connection is closed ({code}{': ' + reason if reason else ''})")
        self.code = code
        self.reason = reason


class WebSocketTimeout(TestClientError, TimeoutError):
    """A wait of a :class:`TestWebSocket` (a message, a pong, the closing handshake) timed out."""


# -- cookies ---------------------------------------------------------------------------------
class _StoredCookie:
    __slots__ = ("value", "expires", "secure")

    def __init__(self, value: str, expires: Optional[float] = None, secure: bool = False) -> None:
        self.value = value
        self.expires = expires
        self.secure = secure


class _SetCookie:
    """One parsed ``Set-Cookie`` line: name, value, when it expires (None: session cookie)."""

    __slots__ = ("name", "value", "expires", "secure")

    def __init__(self, name: str, value: str, expires: Optional[float], secure: bool) -> None:
        self.name = name
        self.value = value
        self.expires = expires
        self.secure = secure

    @classmethod
    def parse(cls, line: str, now: float) -> Optional[_SetCookie]:
        """Parse ``line``; None when it has no ``name=value`` pair (a browser ignores it)."""
        first, *attributes = line.split(";")
        name, eq, value = first.partition("=")
        name, value = name.strip(" \t"), value.strip(" \t")
        if not eq or not name:
            return None
        max_age: Optional[float] = None
        expires: Optional[float] = None
        secure = False
        for attribute in attributes:
            key, _, raw = attribute.partition("=")
            key, raw = key.strip(" \t").lower(), raw.strip(" \t")
            if key == "max-age":
                with contextlib.suppress(ValueError):
                    max_age = now + int(raw)
            elif key == "expires":
                with contextlib.suppress(TypeError, ValueError, IndexError, OverflowError):
                    expires = parsedate_to_datetime(raw).timestamp()
            elif key == "secure":
                secure = True
        # RFC 6265 5.3: Max-Age wins over Expires.
        return cls(name, value, max_age if max_age is not None else expires, secure)


class CookieJar(MutableMapping[str, str]):
    """The client's cookies, name -> value, sent with every request.

    Filled from the ``Set-Cookie`` headers of responses (see the module notes for what is
    honoured); set or delete entries by hand like in a dict. Safe to share across threads.
    """

    def __init__(self) -> None:
        self._cookies: dict[str, _StoredCookie] = {}
        self._lock = threading.Lock()

    def _live(self) -> dict[str, _StoredCookie]:
        """The cookies that have not expired (expired ones are dropped here)."""
        now = time.time()
        with self._lock:
            for name in [n for n, c in self._cookies.items() if c.expires is not None and c.expires <= now]:
                del self._cookies[name]
            return dict(self._cookies)

    def __getitem__(self, name: str) -> str:
        return self._live()[name].value

    def __setitem__(self, name: str, value: str) -> None:
        _check_cookie(name, value)
        with self._lock:
            self._cookies[name] = _StoredCookie(value)

    def __delitem__(self, name: str) -> None:
        with self._lock:
            del self._cookies[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._live())

    def __len__(self) -> int:
        return len(self._live())

    def clear(self) -> None:
        """Forget every cookie."""
        with self._lock:
            self._cookies.clear()

    def update_from_response(self, set_cookies: Iterable[_SetCookie]) -> None:
        """Apply the ``Set-Cookie`` lines of a response: store, replace or delete."""
        now = time.time()
        with self._lock:
            for cookie in set_cookies:
                if cookie.expires is not None and cookie.expires <= now:
                    self._cookies.pop(cookie.name, None)
                else:
                    self._cookies[cookie.name] = _StoredCookie(cookie.value, cookie.expires, cookie.secure)

    def for_request(self, secure: bool) -> dict[str, str]:
        """The name -> value pairs to send on a request (``secure``: over https)."""
        return {name: c.value for name, c in self._live().items() if secure or not c.secure}

    def __repr__(self) -> str:
        return f"CookieJar({dict(self.items())!r})"


def _check_cookie(name: str, value: str) -> None:
    """Refuse a cookie that could not be sent as one ``name=value`` of a Cookie header."""
    bad = any(ch in name + value for ch in ";\r\n") or "=" in name or not name.strip()
    if bad:
        raise ValueError(f"Invalid cookie {name!r}={value!r}")


# -- the response ------------------------------------------------------------------------------
class TestResponse:
    """A response as the test client received it.

    ``status_code``, ``reason``, ``http_version``; ``headers`` (case-insensitive; a repeated
    header such as ``Set-Cookie`` reads joined with ", ", one by one with
    ``headers.get_all(name)``); ``content`` (the body bytes as sent, de-chunked); ``cookies``
    (the cookies this response set, name -> value, "" for a deletion); ``url`` and ``method``
    of the request it answers; ``history`` (the redirects followed to get here);
    ``connection_close`` (whether a server would close the connection after it).
    """

    __test__ = False

    def __init__(self, status_code: int, reason: str, http_version: str, headers: HeaderMap,
                 content: bytes, *, method: str, url: str, connection_close: bool) -> None:
        self.status_code = status_code
        self.reason = reason
        self.http_version = http_version
        self.headers = headers
        self.content = content
        self.method = method
        self.url = url
        self.connection_close = connection_close
        self.history: list[TestResponse] = []
        now = time.time()
        parsed = (_SetCookie.parse(line, now) for line in headers.get_all("Set-Cookie"))
        self._set_cookies = [c for c in parsed if c is not None]
        self.cookies: dict[str, str] = {c.name: c.value for c in self._set_cookies}

    @property
    def ok(self) -> bool:
        """True for a status below 400."""
        return self.status_code < 400

    @property
    def is_redirect(self) -> bool:
        """True for a 301/302/303/307/308 with a ``Location``."""
        return self.status_code in REDIRECT_STATUSES and "Location" in self.headers

    @property
    def encoding(self) -> str:
        """The charset of ``Content-Type`` (``utf-8`` when none is given)."""
        return parse_content_type(self.headers.get("Content-Type") or "")[1].get("charset") or "utf-8"

    def _decoded(self) -> bytes:
        """``content`` with a ``Content-Encoding: gzip`` undone."""
        if (self.headers.get("Content-Encoding") or "").strip().lower() == "gzip" and self.content:
            return gzip.decompress(self.content)
        return self.content

    @property
    def text(self) -> str:
        """The body as text: gunzipped if it was compressed, decoded with ``encoding``
        (UTF-8 for an unknown charset; undecodable bytes replaced)."""
        data = self._decoded()
        try:
            return data.decode(self.encoding, errors="replace")
        except LookupError:
            return data.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON (``ValueError`` when it is not JSON)."""
        return _json.loads(self.text)

    def __repr__(self) -> str:
        return f"<TestResponse [{self.status_code}] {self.method} {self.url}>"


# -- WebSocket -------------------------------------------------------------------------------------
_Upgrade = Callable[[socket.socket, bytes], Any]
_Message = Union[str, bytes]


class TestWebSocket:
    """The client side of a WebSocket connection opened by :meth:`TestClient.websocket_connect`.

    It frames messages with :class:`~naja_atra.websocket.protocol.WebSocketProtocol`
    (``client_side=True``: masked frames) over one end of a local socket pair; the server's
    real runner serves the other end on a daemon thread. Pings from the server are answered
    automatically. ``response`` is the ``101`` :class:`TestResponse`; ``close_code`` and
    ``close_reason`` are set once the connection closed. Every wait is bounded by
    ``timeout`` (seconds) unless a call gives its own. Not thread-safe: use it from one thread.
    """

    __test__ = False

    def __init__(self, sock: socket.socket, runner: threading.Thread, response: TestResponse,
                 timeout: float = DEFAULT_WEBSOCKET_TIMEOUT) -> None:
        self.response = response
        self.timeout = timeout
        self.close_code: Optional[int] = None
        self.close_reason = ""
        self._sock = sock
        self._runner = runner
        self._protocol = WebSocketProtocol(client_side=True)
        self._messages: deque[_Message] = deque()
        self._pongs: deque[bytes] = deque()
        self._ended = False

    @classmethod
    def _start(cls, upgrade: _Upgrade, response: TestResponse, timeout: float) -> TestWebSocket:
        """Run ``upgrade`` on a daemon thread with one end of a socket pair; a session over the other."""
        client_end, server_end = socket.socketpair()

        def run() -> None:
            try:
                upgrade(server_end, b"")
            except Exception:  # noqa: BLE001 - the runner reports its own errors; never leak the thread
                pass
            finally:
                server_end.close()

        runner = threading.Thread(target=run, name="naja_atra-testclient-websocket", daemon=True)
        runner.start()
        return cls(client_end, runner, response, timeout)

    # -- context manager ----------------------------------------------------------------
    def __enter__(self) -> TestWebSocket:
        return self

    def __exit__(self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        """True once the connection has ended (either side closed it)."""
        return self._ended

    # -- sending ------------------------------------------------------------------------
    def _write(self, data: bytes) -> None:
        if self._ended or self._protocol.state is not State.OPEN:
            raise WebSocketClosed(self.close_code or 1006, self.close_reason)
        try:
            self._sock.settimeout(self.timeout)
            self._sock.sendall(data)
        except socket.timeout:
            raise WebSocketTimeout(f"Sending timed out after {self.timeout} s") from None
        except OSError:
            self._end(1006, "")
            raise WebSocketClosed(1006) from None

    def send_text(self, text: str) -> None:
        """Send a text message."""
        self._write(self._protocol.send_text(text))

    def send_bytes(self, data: Union[bytes, bytearray]) -> None:
        """Send a binary message."""
        self._write(self._protocol.send_binary(bytes(data)))

    def send_json(self, value: Any) -> None:
        """Send ``value`` as JSON in a text message."""
        self.send_text(_json.dumps(value, ensure_ascii=False))

    # -- receiving ----------------------------------------------------------------------
    def _pump(self, deadline: float, what: str) -> None:
        """Read once from the socket (until ``deadline``) and handle the resulting events:
        messages and pongs are queued, automatic replies sent, a close ends the connection.
        Raises :class:`WebSocketClosed` when called after the end or when the connection
        drops, :class:`WebSocketTimeout` when nothing arrives in time."""
        if self._ended:
            raise WebSocketClosed(self.close_code or 1006, self.close_reason)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WebSocketTimeout(f"No {what} in time")
        try:
            self._sock.settimeout(remaining)
            data = self._sock.recv(_RECV_SIZE)
        except socket.timeout:
            raise WebSocketTimeout(f"No {what} in time") from None
        except OSError:
            data = b""
        if not data:
            self._end(1006, "")
            raise WebSocketClosed(1006)
        for event in self._protocol.receive_data(data):
            if isinstance(event, (TextMessage, BinaryMessage)):
                self._messages.append(event.data)
            elif isinstance(event, Pong):
                self._pongs.append(event.data)
            elif isinstance(event, Closed):
                self._flush()
                self._end(event.code, event.reason)
        self._flush()

    def _flush(self) -> None:
        """Send what the protocol queued itself (pongs, the reply to a close)."""
        pending = self._protocol.data_to_send()
        if pending and not self._ended:
            with contextlib.suppress(OSError):
                self._sock.settimeout(self.timeout)
                self._sock.sendall(pending)

    def receive(self, timeout: Optional[float] = None) -> _Message:
        """The next message: ``str`` (text) or ``bytes`` (binary). Raises
        :class:`WebSocketClosed` once the server closed (messages that arrived before its
        close are returned first) and :class:`WebSocketTimeout` after ``timeout`` seconds."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not self._messages:
            self._pump(deadline, "message")
        return self._messages.popleft()

    def receive_text(self, timeout: Optional[float] = None) -> str:
        """The next message, which must be text (``TypeError`` otherwise)."""
        message = self.receive(timeout)
        if not isinstance(message, str):
            raise TypeError(f"Expected a text message, got binary {message[:50]!r}")
        return message

    def receive_bytes(self, timeout: Optional[float] = None) -> bytes:
        """The next message, which must be binary (``TypeError`` otherwise)."""
        message = self.receive(timeout)
        if not isinstance(message, bytes):
            raise TypeError(f"Expected a binary message, got text {message[:50]!r}")
        return message

    def receive_json(self, timeout: Optional[float] = None) -> Any:
        """The next message (text, or UTF-8 bytes) parsed as JSON."""
        return _json.loads(self.receive(timeout))

    def ping(self, data: bytes = b"", timeout: Optional[float] = None) -> None:
        """Send a ping and return when its pong arrived (messages meanwhile are kept for
        :meth:`receive`); :class:`WebSocketTimeout` when none comes within ``timeout``."""
        self._write(self._protocol.send_ping(data))
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            while self._pongs:
                if self._pongs.popleft() == data:
                    return
            self._pump(deadline, "pong")

    # -- closing ------------------------------------------------------------------------
    def close(self, code: int = 1000, reason: str = "", timeout: Optional[float] = None) -> None:
        """Close the connection: send a close frame with ``code`` and ``reason``, wait for the
        server's reply (bounded), then close the socket and join the runner thread (with a
        timeout). Idempotent; after a server close it only cleans up. Never raises for a
        connection that is already gone or a server that does not answer (``close_code`` is
        then 1006)."""
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        if not self._ended:
            frame = b""
            with contextlib.suppress(ValueError):
                frame = self._protocol.send_close(code, reason)
            if frame:
                with contextlib.suppress(OSError):
                    self._sock.settimeout(wait)
                    self._sock.sendall(frame)
            try:
                while not self._ended:
                    self._pump(deadline, "close reply")
            except (WebSocketClosed, WebSocketTimeout):
                pass
            if not self._ended:
                self._end(1006, "")
        self._runner.join(max(deadline - time.monotonic(), 0.5))

    def _end(self, code: int, reason: str) -> None:
        """The connection is over: record why and close our end (the runner sees EOF)."""
        if self._ended:
            return
        self._ended = True
        self.close_code, self.close_reason = code, reason
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        # Let the runner finish (on_close runs there) before the caller looks at the result.
        self._runner.join(self.timeout)

    def __repr__(self) -> str:
        state = f"closed {self.close_code}" if self._ended else "open"
        return f"<TestWebSocket {self.response.url} {state}>"


# -- the client ----------------------------------------------------------------------------------
class _Recorder:
    """The channel of the live response: keeps what a streaming controller writes, in order."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._lock = threading.Lock()

    def write(self, data: bytes) -> None:
        """Record ``data`` (callable from any thread, like a driver's connection)."""
        with self._lock:
            self._parts.append(bytes(data))

    def getvalue(self) -> bytes:
        """Everything written so far."""
        with self._lock:
            return b"".join(self._parts)


class _Outbound:
    """A request about to be encoded: it is re-targeted, not rebuilt, by a redirect."""

    __slots__ = ("method", "url", "headers", "body", "cookies")

    def __init__(self, method: str, url: SplitResult, headers: list[tuple[str, Optional[str]]],
                 body: bytes, cookies: dict[str, str]) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.cookies = cookies


class TestClient:
    """Drives an :class:`~naja_atra.application.Application` in-process, like an HTTP client.

    ``base_url`` gives the scheme (``Request.scheme``), the ``Host`` header and an optional
    path prefix; ``cookies`` keeps the cookies responses set in :attr:`cookies` (with False
    the jar is only what you put in it); ``headers`` are sent with every request;
    ``follow_redirects`` is the default of every request. Requests come from
    ``client_address`` (``("testclient", 50000)``). An application that was never started
    is built on first use.

    As a context manager it also enters the application's lifespan (the plugins'
    ``naja_atra_lifespan`` contexts) and leaves it on exit, as ``start()``/``stop()`` would.
    """

    __test__ = False

    def __init__(
        self,
        app: Application,
        base_url: str = "http://testserver",
        *,
        cookies: bool = True,
        headers: Optional[HeadersType] = None,
        follow_redirects: bool = False,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        client_address: tuple[str, int] = ("testclient", 50000),
    ) -> None:
        base = urlsplit(base_url)
        if base.scheme not in ("http", "https") or not base.netloc:
            raise ValueError(f"base_url must be an absolute http(s) URL, not {base_url!r}")
        self.app = app
        self.base_url = base
        self.keep_cookies = cookies
        self.cookies = CookieJar()
        self.headers: list[tuple[str, Optional[str]]] = _merge(
            [("User-Agent", USER_AGENT), ("Accept", "*/*")], headers)
        self.follow_redirects = follow_redirects
        self.max_redirects = max_redirects
        self.client_address = client_address
        self._lifespan: Optional[contextlib.ExitStack] = None

    # -- context manager ----------------------------------------------------------------
    def __enter__(self) -> TestClient:
        stack = contextlib.ExitStack()
        self.app.build()  # first: entry-point plugins (and their lifespans) join at the build
        stack.enter_context(self.app.lifespan())
        self._lifespan = stack
        return self

    def __exit__(self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()

    def close(self) -> None:
        """Leave the application's lifespan if ``with`` entered it (idempotent)."""
        stack, self._lifespan = self._lifespan, None
        if stack is not None:
            stack.close()

    # -- requests -----------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Optional[ParamsType] = None,
        headers: Optional[HeadersType] = None,
        cookies: Optional[Mapping[str, str]] = None,
        json: Any = None,
        data: Optional[DataType] = None,
        files: Optional[FilesType] = None,
        content: Optional[Union[bytes, str]] = None,
        follow_redirects: Optional[bool] = None,
    ) -> TestResponse:
        """Send one request and return the response (after redirects, when followed).

        ``path`` is relative to ``base_url`` (or an absolute URL); it is percent-encoded
        where needed, and ``params`` are appended to its query. The body is one of
        ``content`` (raw bytes/str, no Content-Type added), ``json`` (a JSON value,
        ``application/json``; None means no JSON, send ``content="null"`` for a null),
        ``data`` (a mapping or pairs: urlencoded; str/bytes: raw) or ``files``
        (``multipart/form-data``, together with the fields of ``data``).
        ``Content-Length`` is added unless ``headers`` give it or a ``Transfer-Encoding``
        (then ``content`` must already be framed accordingly). ``cookies`` are sent along
        with the jar's for this request only.
        """
        method = method.upper()
        body, content_type = _encode_body(json, data, files, content)
        extra = [("Content-Type", content_type)] if content_type else []
        outbound = _Outbound(method, self._url(path, params), _merge(_merge(self.headers, extra), headers),
                             body, dict(cookies or {}))
        follow = self.follow_redirects if follow_redirects is None else follow_redirects
        response = self._send(outbound)
        history: list[TestResponse] = []
        while follow and response.is_redirect:
            if len(history) >= self.max_redirects:
                raise TooManyRedirects(f"more than {self.max_redirects} redirects", response)
            history.append(response)
            outbound = _redirected(outbound, response)
            response = self._send(outbound)
        response.history = history
        return response

    def get(self, path: str, *, params: Optional[ParamsType] = None, headers: Optional[HeadersType] = None,
            cookies: Optional[Mapping[str, str]] = None, follow_redirects: Optional[bool] = None) -> TestResponse:
        """A ``GET`` request (see :meth:`request`)."""
        return self.request("GET", path, params=params, headers=headers, cookies=cookies,
                            follow_redirects=follow_redirects)

    def head(self, path: str, *, params: Optional[ParamsType] = None, headers: Optional[HeadersType] = None,
             cookies: Optional[Mapping[str, str]] = None, follow_redirects: Optional[bool] = None) -> TestResponse:
        """A ``HEAD`` request (see :meth:`request`); the response has no body."""
        return self.request("HEAD", path, params=params, headers=headers, cookies=cookies,
                            follow_redirects=follow_redirects)

    def options(self, path: str, *, params: Optional[ParamsType] = None, headers: Optional[HeadersType] = None,
                cookies: Optional[Mapping[str, str]] = None,
                follow_redirects: Optional[bool] = None) -> TestResponse:
        """An ``OPTIONS`` request (see :meth:`request`)."""
        return self.request("OPTIONS", path, params=params, headers=headers, cookies=cookies,
                            follow_redirects=follow_redirects)

    def delete(self, path: str, *, params: Optional[ParamsType] = None, headers: Optional[HeadersType] = None,
               cookies: Optional[Mapping[str, str]] = None,
               follow_redirects: Optional[bool] = None) -> TestResponse:
        """A ``DELETE`` request (see :meth:`request`)."""
        return self.request("DELETE", path, params=params, headers=headers, cookies=cookies,
                            follow_redirects=follow_redirects)

    def post(self, path: str, *, params: Optional[ParamsType] = None, json: Any = None,
             data: Optional[DataType] = None, files: Optional[FilesType] = None,
             headers: Optional[HeadersType] = None, cookies: Optional[Mapping[str, str]] = None,
             content: Optional[Union[bytes, str]] = None, follow_redirects: Optional[bool] = None) -> TestResponse:
        """A ``POST`` request (see :meth:`request` for the body arguments)."""
        return self.request("POST", path, params=params, json=json, data=data, files=files, headers=headers,
                            cookies=cookies, content=content, follow_redirects=follow_redirects)

    def put(self, path: str, *, params: Optional[ParamsType] = None, json: Any = None,
            data: Optional[DataType] = None, files: Optional[FilesType] = None,
            headers: Optional[HeadersType] = None, cookies: Optional[Mapping[str, str]] = None,
            content: Optional[Union[bytes, str]] = None, follow_redirects: Optional[bool] = None) -> TestResponse:
        """A ``PUT`` request (see :meth:`request` for the body arguments)."""
        return self.request("PUT", path, params=params, json=json, data=data, files=files, headers=headers,
                            cookies=cookies, content=content, follow_redirects=follow_redirects)

    def patch(self, path: str, *, params: Optional[ParamsType] = None, json: Any = None,
              data: Optional[DataType] = None, files: Optional[FilesType] = None,
              headers: Optional[HeadersType] = None, cookies: Optional[Mapping[str, str]] = None,
              content: Optional[Union[bytes, str]] = None, follow_redirects: Optional[bool] = None) -> TestResponse:
        """A ``PATCH`` request (see :meth:`request` for the body arguments)."""
        return self.request("PATCH", path, params=params, json=json, data=data, files=files, headers=headers,
                            cookies=cookies, content=content, follow_redirects=follow_redirects)

    def send_raw(self, data: bytes) -> TestResponse:
        """Serve ``data`` exactly as given (a request head and body, framing included):
        for malformed input. No cookies are added or stored, no redirect is followed, and
        bytes past the first request (pipelining) are ignored."""
        return self._exchange(bytes(data), self.base_url.scheme, self.base_url.netloc)

    # -- WebSocket ----------------------------------------------------------------------
    def websocket_connect(
        self,
        path: str,
        *,
        params: Optional[ParamsType] = None,
        headers: Optional[HeadersType] = None,
        subprotocols: Optional[Sequence[str]] = None,
        timeout: float = DEFAULT_WEBSOCKET_TIMEOUT,
    ) -> TestWebSocket:
        """Open a WebSocket connection to ``path`` (also usable as ``with ... as ws:``).

        The handshake is an ordinary request through the whole pipeline (filters, routing,
        the handshake callable with its injected arguments, the jar's cookies, ``headers``
        and ``params`` as for :meth:`request`; redirects are not followed). A refusal (any
        status but 101) raises :class:`WebSocketRefused` with the response. On a 101 the
        response's ``Outgoing.upgrade`` runs on a daemon thread with one end of a local
        ``socket.socketpair()`` -- the threading driver's blocking runner, whichever driver
        the application normally uses -- and the returned :class:`TestWebSocket` speaks
        WebSocket frames over the other end. ``timeout`` bounds every wait of the session.
        """
        key = base64.b64encode(secrets.token_bytes(16)).decode("ascii")
        handshake: list[tuple[str, Optional[str]]] = [
            ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13"),
        ]
        if subprotocols:
            handshake.append(("Sec-WebSocket-Protocol", ", ".join(subprotocols)))
        outbound = _Outbound("GET", self._url(path, params), _merge(_merge(self.headers, handshake), headers),
                             b"", {})
        key = next((value for name, value in outbound.headers
                    if name.lower() == "sec-websocket-key" and value is not None), key)
        response, upgrade = self._send_keeping_upgrade(outbound)
        if response.status_code != 101:
            raise WebSocketRefused(f"The WebSocket handshake for {response.url} was refused with "
                                   f"{response.status_code} {response.reason}", response)
        if upgrade is None:
            raise TestClientError(f"{response.url} answered 101 without taking the connection over")
        if response.headers.get("Sec-WebSocket-Accept") != accept_key(key):
            raise TestClientError(f"{response.url} answered 101 with a wrong Sec-WebSocket-Accept")
        return TestWebSocket._start(upgrade, response, timeout)

    # -- the exchange ---------------------------------------------------------------------
    def _url(self, path: str, params: Optional[ParamsType]) -> SplitResult:
        """The URL to request: ``path`` below ``base_url`` (or absolute), quoted, plus ``params``."""
        given = urlsplit(path)
        base = self.base_url
        if given.scheme or given.netloc:
            scheme, netloc, raw_path = given.scheme or base.scheme, given.netloc or base.netloc, given.path
        else:
            scheme, netloc = base.scheme, base.netloc
            raw_path = base.path.rstrip("/") + ("" if given.path.startswith("/") else "/") + given.path
        query = quote(given.query, safe=_QUERY_SAFE)
        if params:
            extra = params if isinstance(params, str) else urlencode(_pairs(params), doseq=True)
            query = f"{query}&{extra}" if query else extra
        return SplitResult(scheme, netloc, quote(raw_path or "/", safe=_PATH_SAFE), query, "")

    def _send(self, outbound: _Outbound) -> TestResponse:
        return self._send_keeping_upgrade(outbound)[0]

    def _send_keeping_upgrade(self, outbound: _Outbound) -> tuple[TestResponse, Optional[_Upgrade]]:
        """Send ``outbound``; the response, and the ``Outgoing.upgrade`` of a 101 (or None)."""
        secure = outbound.url.scheme == "https"
        jar = self.cookies.for_request(secure)
        jar.update(outbound.cookies)
        headers = _merge([("Host", outbound.url.netloc)], outbound.headers)
        if jar and not any(name.lower() == "cookie" for name, _ in headers):
            headers.append(("Cookie", "; ".join(f"{name}={value}" for name, value in jar.items())))
        framed = {name.lower() for name, value in headers if value is not None}
        if not framed & {"content-length", "transfer-encoding"} and (
                outbound.body or outbound.method in ("POST", "PUT", "PATCH")):
            headers.append(("Content-Length", str(len(outbound.body))))
        target = outbound.url.path + (f"?{outbound.url.query}" if outbound.url.query else "")
        raw = _encode_head(outbound.method, target, headers) + outbound.body
        response, upgrade = self._serve(raw, outbound.url.scheme, outbound.url.netloc)
        if self.keep_cookies:
            self.cookies.update_from_response(response._set_cookies)
        return response, upgrade

    def _exchange(self, raw: bytes, scheme: str, netloc: str) -> TestResponse:
        """Parse ``raw`` as a server would, serve it, and read the response back (the
        connection hand-over of a 101 is dropped: only :meth:`websocket_connect` runs it)."""
        return self._serve(raw, scheme, netloc)[0]

    def _serve(self, raw: bytes, scheme: str, netloc: str) -> tuple[TestResponse, Optional[_Upgrade]]:
        """:meth:`_exchange`, also handing back the ``Outgoing.upgrade`` of a 101 (or None)."""
        upgrade: Optional[_Upgrade] = None
        limits = self.app.limits
        method, target = "GET", "/"
        try:
            parsed = parse_head(raw, limits)
            if parsed is None:
                raise TestClientError("The request head is incomplete: a server would wait for more bytes")
            head, consumed = parsed
            method, target = head.method, head.target
            body = _read_body(head, raw[consumed:], limits)
        except ProtocolError as error:
            # What both drivers answer before closing (see servers.common.RequestReader users).
            wire = error_bytes(error.code, error.message)
            close = True
        else:
            request = Request(head, body, client_address=self.client_address, scheme=scheme)
            response = Response()
            channel = _Recorder()
            response.bind(request, channel)
            out = self._dispatch(request, response)
            upgrade = out.upgrade
            # Streamed: the head and chunks went to the channel, ``out`` holds nothing more.
            # Otherwise the channel is empty and ``out`` is the whole response.
            wire = channel.getvalue() + out.head + _drain(out.body)
            close = out.close
        url = target if "://" in target else f"{scheme}://{netloc}{target}"
        return _parse_response(wire, method, url, close), upgrade

    def _dispatch(self, request: Request, response: Response) -> Outgoing:
        """``handle_sync`` on this thread, or on a helper thread when this one runs an event
        loop (an async test): the dispatcher runs async controllers on a loop of its own,
        which cannot run inside another one. The caller's loop is blocked meanwhile."""
        dispatcher = self.app.dispatcher
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return dispatcher.handle_sync(request, response)
        result: list[Outgoing] = []
        failure: list[BaseException] = []

        def run() -> None:
            try:
                result.append(dispatcher.handle_sync(request, response))
            except BaseException as exc:  # noqa: B036 - re-raised on the calling thread
                failure.append(exc)

        worker = threading.Thread(target=run, name="naja_atra-testclient", daemon=True)
        worker.start()
        worker.join()
        if failure:
            raise failure[0]
        return result[0]


# -- helpers -------------------------------------------------------------------------------------
def _merge(base: list[tuple[str, Optional[str]]],
           extra: Optional[HeadersType]) -> list[tuple[str, Optional[str]]]:
    """``base`` with the headers named in ``extra`` replaced by ``extra``'s (case-insensitive)."""
    if not extra:
        return list(base)
    pairs = list(extra.items()) if isinstance(extra, Mapping) else list(extra)
    names = {name.lower() for name, _ in pairs}
    return [pair for pair in base if pair[0].lower() not in names] + pairs


def _pairs(values: Union[Mapping[str, Any], Sequence[tuple[str, Any]]]) -> list[tuple[str, Any]]:
    return list(values.items()) if isinstance(values, Mapping) else list(values)


def _encode_head(method: str, target: str, headers: list[tuple[str, Optional[str]]]) -> bytes:
    """The request line and header block; refuses text that would add or split lines."""
    if not method or any(ch in method for ch in " \t\r\n"):
        raise ValueError(f"Invalid method {method!r}")
    lines = [f"{method} {target} HTTP/1.1"]
    for name, value in headers:
        if value is None:
            continue
        if not name or any(ch in name for ch in "\r\n") or any(ch in value for ch in "\r\n"):
            raise ValueError(f"Invalid header {name!r}: {value!r} (CR and LF are not allowed)")
        lines.append(f"{name}: {value}")
    text = "\r\n".join(lines) + "\r\n\r\n"
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError("Header names and values must be ISO-8859-1 text") from None


def _encode_body(json: Any, data: Optional[DataType], files: Optional[FilesType],
                 content: Optional[Union[bytes, str]]) -> tuple[bytes, Optional[str]]:
    """(body, the Content-Type it implies or None) from the body arguments of ``request``."""
    raw_data = isinstance(data, (str, bytes))
    form = bool(files) or (data is not None and not raw_data)
    given = [content is not None, json is not None, raw_data, form]
    if sum(given) > 1:
        raise TypeError("Give at most one of content, json, data (form fields may go with files)")
    if content is not None:
        return (content.encode("utf-8") if isinstance(content, str) else bytes(content)), None
    if json is not None:
        return _json.dumps(json, ensure_ascii=False).encode("utf-8"), "application/json"
    if files:
        fields = [] if data is None or isinstance(data, (str, bytes)) else _pairs(data)
        return _multipart(fields, files)
    if isinstance(data, str):
        return data.encode("utf-8"), None
    if isinstance(data, bytes):
        return data, None
    if data is not None:
        return urlencode(_pairs(data), doseq=True).encode("ascii"), "application/x-www-form-urlencoded"
    return b"", None


def _disposition_param(name: str, value: str) -> str:
    """``name="value"`` with ``"`` and ``\\`` escaped (as the multipart parser reads them)."""
    if any(ch in value for ch in "\r\n"):
        raise ValueError(f"CR and LF are not allowed in a multipart {name}: {value!r}")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{name}="{escaped}"'


def _filename_params(filename: str) -> str:
    """``filename=...``; a non-ASCII name gets an ASCII fallback plus RFC 5987 ``filename*``."""
    if filename.isascii():
        return _disposition_param("filename", filename)
    fallback = "".join(ch if ch.isascii() else "_" for ch in filename)
    return f"{_disposition_param('filename', fallback)}; filename*=UTF-8''{quote(filename, safe='')}"


def _file_part(spec: Any, field: str) -> tuple[str, bytes, str]:
    """(filename, content, content type) of one ``files`` entry."""
    if isinstance(spec, (bytes, bytearray)):
        filename, raw, content_type = field, bytes(spec), None
    elif isinstance(spec, tuple) and len(spec) in (2, 3):
        filename, raw = str(spec[0]), spec[1]
        content_type = spec[2] if len(spec) == 3 else None
    else:
        raise TypeError(f"files[{field!r}]: give bytes, (filename, content) or (filename, content, content_type)")
    if hasattr(raw, "read"):
        raw = raw.read()
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise TypeError(f"files[{field!r}]: the content must be bytes, str or a binary file object")
    content = bytes(raw)
    if not content_type:
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return filename, content, content_type


def _multipart(fields: list[tuple[str, Any]], files: FilesType) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body (RFC 7578) of text ``fields`` then ``files``."""
    parts: list[tuple[str, bytes]] = []  # (header block, content)
    for name, value in fields:
        for item in value if isinstance(value, (list, tuple)) else [value]:
            text = item if isinstance(item, (bytes, bytearray)) else str(item).encode("utf-8")
            parts.append((f"Content-Disposition: form-data; {_disposition_param('name', name)}", bytes(text)))
    entries: list[tuple[str, Any]] = []
    if isinstance(files, Mapping):
        for field, given in files.items():
            entries.extend((field, one) for one in (given if isinstance(given, list) else [given]))
    else:
        entries.extend(files)
    for field, spec in entries:
        filename, content, content_type = _file_part(spec, field)
        disposition = f"form-data; {_disposition_param('name', field)}; {_filename_params(filename)}"
        parts.append((f"Content-Disposition: {disposition}\r\nContent-Type: {content_type}", content))
    boundary = "naja-atra-" + secrets.token_hex(16)
    while any(boundary.encode("ascii") in content for _, content in parts):
        boundary = "naja-atra-" + secrets.token_hex(16)
    dash = f"--{boundary}".encode("ascii")
    body = bytearray()
    for headers, content in parts:
        body += dash + b"\r\n" + headers.encode("utf-8") + b"\r\n\r\n" + content + b"\r\n"
    body += dash + b"--\r\n"
    return bytes(body), f"multipart/form-data; boundary={boundary}"


def _redirected(previous: _Outbound, response: TestResponse) -> _Outbound:
    """The request that follows ``response`` (a redirect): 303, and 301/302 after a POST,
    become a body-less GET; 307 and 308 repeat the method and body."""
    location = response.headers.get("Location") or ""
    url = urlsplit(urljoin(response.url, location))
    url = url._replace(fragment="")
    method, body, headers = previous.method, previous.body, previous.headers
    if (response.status_code == 303 and method != "HEAD") or (response.status_code in (301, 302)
                                                                and method == "POST"):
        method, body = "GET", b""
        headers = [pair for pair in headers if pair[0].lower() not in _BODY_HEADERS]
    return _Outbound(method, url, headers, body, previous.cookies)


def _read_body(head: RequestHead, rest: bytes, limits: Limits) -> bytes:
    """The body of the request ``head`` from the bytes after it, as the drivers read it."""
    decoder = body_decoder(head, limits)
    if decoder is None or decoder.done:
        return b""
    data, _ = decoder.feed(rest)
    if len(data) > limits.max_body_size:
        raise ProtocolError(413, "Content Too Large", "Request body too large")
    if not decoder.done:
        raise TestClientError("The request body is shorter than its framing announces: "
                              "a server would wait for more bytes")
    return data


def _drain(body: Iterable[bytes]) -> bytes:
    """Join the body pieces of an ``Outgoing`` (closing a file generator, as drivers do)."""
    try:
        return b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()


def _parse_response(wire: bytes, method: str, url: str, close: bool) -> TestResponse:
    """Read a response from the bytes a driver would have sent: head, then the body framed
    by ``Transfer-Encoding: chunked``, ``Content-Length`` or the end of the connection."""
    end = wire.find(b"\r\n\r\n")
    if end < 0:
        raise TestClientError(f"No response head for {method} {url}: {wire[:200]!r}")
    lines = wire[:end].decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code, _, reason = rest.partition(" ")
    headers = HeaderMap()
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.add(name, value.strip(" \t"))
    status = int(code)
    data = wire[end + 4:]
    complete = True
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        content = b""
    elif "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        decoder = ChunkedDecoder(_RESPONSE_LIMITS)
        try:
            content, _ = decoder.feed(data)
            complete = decoder.done
        except ProtocolError:
            content, complete = b"", False
    elif headers.get("Content-Length") is not None:
        length = int(headers.get("Content-Length") or "0")
        content, complete = data[:length], len(data) >= length
    else:
        content = data  # delimited by the end of the connection
    response = TestResponse(status, reason, version, headers, content, method=method, url=url,
                            connection_close=close or not complete)
    if not complete:
        raise IncompleteResponse(f"The response to {method} {url} was cut short (the server failed "
                                 "after it began streaming)", response)
    return response
