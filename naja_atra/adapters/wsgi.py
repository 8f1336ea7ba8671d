"""Serving an application with any WSGI server (PEP 3333).

``app.wsgi`` (or ``WsgiAdapter(app)``) is a WSGI callable for the same application: the
same routes, filters, argument injection, sessions, error pages, gzip and limits as the
built-in servers. In the module a WSGI server loads::

    from naja_atra import Application   # or: from naja_atra import default_app as app

    app = Application()

    @app.route("/")
    def index() -> str:
        return "hello"

    wsgi_app = app.wsgi

and run it with, for instance, ``gunicorn -w 4 -k gthread --threads 8 "mymodule:wsgi_app"``.

How the WSGI world maps onto the framework:

- The request is built from the environ. ``PATH_INFO`` (which the server already
  percent-decoded, one character per byte) is turned back into bytes and decoded as UTF-8,
  then normalised like the HTTP parser does (``.``/``..`` segments and repeated slashes);
  routing sees the path below ``SCRIPT_NAME``, the application's mount point, which
  controllers find in ``request.environment["SCRIPT_NAME"]``. ``request.raw_path`` is the
  path as the client sent it, prefix included (``RAW_URI``/``REQUEST_URI`` when the server
  gives one). ``request.environment`` is the environ itself (the ``Environment`` argument
  kind reads it).
- The body is read from ``wsgi.input`` in bounded pieces, never past ``CONTENT_LENGTH``. A
  ``CONTENT_LENGTH`` above ``max_body_size`` is answered 413 before anything is read. A
  body without a length (a chunked upload) is read to its end when the server sets
  ``wsgi.input_terminated`` (gunicorn does), with the same 413 past the limit; a server
  that cannot deliver such a body gets 411 for it instead of a silently empty body.
- Hop-by-hop headers (``Connection``, ``Keep-Alive``, ``Transfer-Encoding``, ``Upgrade``,
  ... and any header a ``Connection`` header names) are never passed to
  ``start_response``: PEP 3333 forbids them, the server frames the response itself.
- Static files are returned as the file iterator; its ``close()`` closes the file and the
  server calls it, as PEP 3333 requires, even when the client goes away mid-file.
- ``response.write_bytes`` streaming goes out as it is produced, through the ``write()``
  callable that ``start_response`` returns: PEP 3333 keeps ``write()`` precisely for
  imperative streaming APIs like this one. The controller runs on the server's thread as
  usual, the server sends each piece before ``write()`` returns (a slow client slows the
  producer down instead of filling memory: one piece in flight, whatever the client does)
  and the application then returns an empty iterable. No helper thread, no queue. A
  ``write()`` that fails (the server raises ``OSError`` for a client that is gone) makes that
  write and every later one raise :class:`~naja_atra.http.errors.ClientDisconnected`; the
  application then returns normally and the server, writing the end of the body, finds the
  connection dead itself. A streamed response that fails after its head went out for another
  reason raises :class:`StreamAborted` to the server, which cuts the connection so the
  client sees a truncated body instead of a complete-looking one (the built-in drivers do
  the same).
- How long one ``write()`` may wait for a client that does not read is the server's socket
  business, except under gunicorn, whose sockets have no timeout at all (a sync worker
  would be killed by its ``--timeout``, a gthread thread would wait forever): there the
  adapter bounds each write by ``write_timeout`` on ``environ["gunicorn.socket"]`` (the
  previous timeout is put back after it) and, past it, shuts the socket down, so the
  connection is dropped and gunicorn's own end-of-body write fails at once (it logs that
  quietly, as a client that left). wsgiref has no such socket in the environ: its writes
  wait as long as the client lets them.
- Closing the connection after a refusal: an answer the adapter gives to input it refuses
  (a path, ``CONTENT_LENGTH`` or header the HTTP core refuses) or an error answered before
  the request body was read to its end (a 413, say) must be the connection's last, so that
  no bytes behind it are served as a request if a proxy in front framed the request
  otherwise. PEP 3333 forbids the application a ``Connection`` header (wsgiref asserts, and
  gunicorn silently drops it), so each server is told in its own way. gunicorn: its
  ``start_response`` is a method of its response object, whose ``force_close()`` is what
  gunicorn itself calls for a connection it will not keep; the adapter calls it before
  ``start_response``, and gunicorn then sends ``Connection: close`` and closes (the ``sync``
  worker closes after every request anyway; ``gthread`` would keep the connection). gunicorn
  refuses a request with both ``Transfer-Encoding`` and ``Content-Length`` (or a malformed
  one) with a 400 of its own before the application sees it, and closes. wsgiref serves one
  request per connection: it always closes.
- Async controllers work: the dispatcher runs them on an event loop owned by the server
  thread (the WSGI server thread must not run an event loop of its own).
- WebSocket needs the connection itself, which WSGI never hands over: an upgrade request
  for a WebSocket endpoint is answered ``501 Not Implemented`` with a text saying so.
  Serve WebSocket endpoints with ``server.start()`` / ``app.start()`` or an ASGI server.
- Input the HTTP core would refuse (a path that is not UTF-8 or holds a NUL, a bad
  ``CONTENT_LENGTH``, an oversized body) gets the same plain-text error the built-in
  servers send. A malformed percent-escape (``/a%zz``) is only visible in the raw URI, so it
  is refused when the server gives one (``RAW_URI``: gunicorn; ``REQUEST_URI``: uWSGI,
  mod_wsgi); elsewhere it reaches the application as literal text.
- The application's lifespan (its plugins' ``naja_atra_lifespan`` contexts) is entered at
  the first request, WSGI having no start-up event, and left by :meth:`WsgiAdapter.close`
  or at interpreter exit (a gunicorn worker that stops exits normally, so that runs).
"""
from __future__ import annotations

import atexit
import contextlib
import re
import socket
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional
from urllib.parse import quote

from ..app.routes import WEBSOCKET_METHOD
from ..http.errors import ClientDisconnected, HttpError, ProtocolError, StreamAborted
from ..http.finalize import finalize
from ..http.limits import Limits
from ..http.outgoing import Outgoing
from ..http.parser import build_head, normalize_path
from ..http.request import Request
from ..http.request_body import EMPTY_BODY, PullBody, RequestBodyReader
from ..http.response import Response
from ..http.status import reason_phrase
from ..utils.logger import get_logger

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from ..app.application import Application
    from ..app.pipeline import Dispatcher

__all__ = ["WsgiAdapter", "StreamAborted", "HOP_BY_HOP", "build_request", "wsgi_headers"]

_log = get_logger("naja_atra.wsgi")

#: The hop-by-hop headers of RFC 2616 13.5.1, the ones PEP 3333 forbids an application to
#: send (``wsgiref`` asserts on these very names).
HOP_BY_HOP = frozenset((
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
    "transfer-encoding", "upgrade",
))
#: How much of the request body one ``wsgi.input.read`` asks for.
READ_SIZE = 64 * 1024
#: The text of the answer to a WebSocket upgrade.
WEBSOCKET_REFUSED = (
    "WebSocket is not available under WSGI: a WSGI server never hands the connection over to "
    "the application. Serve this application with naja_atra's own servers (server.start() / "
    "app.start()) or with an ASGI server for its WebSocket endpoints.\n"
)
# CGI names that are request headers without the HTTP_ prefix.
_CGI_HEADERS = (("CONTENT_TYPE", "Content-Type"), ("CONTENT_LENGTH", "Content-Length"))
_SKIPPED_HTTP = frozenset(("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"))
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


# -- the response ------------------------------------------------------------------------------
def wsgi_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` without the hop-by-hop ones, those a ``Connection`` header names included
    (RFC 9110 7.6.1)."""
    pairs = list(headers)
    dropped = set(HOP_BY_HOP)
    for name, value in pairs:
        if name.lower() == "connection":
            dropped.update(token.strip(" \t").lower() for token in value.split(","))
    return [(name, value) for name, value in pairs if name.lower() not in dropped]


def _status(status: int, reason: str) -> str:
    return f"{status} {reason}"


def _force_close(environ: WSGIEnvironment, start_response: StartResponse) -> None:
    """Have the server close the connection after this response (see the module notes)."""
    if not str(environ.get("SERVER_SOFTWARE") or "").startswith("gunicorn"):
        return  # wsgiref closes after every request; other servers cannot be told
    force_close = getattr(getattr(start_response, "__self__", None), "force_close", None)
    if callable(force_close):
        force_close()


def _server_socket(environ: WSGIEnvironment) -> Optional[socket.socket]:
    """The connection's socket when the server hands it over (gunicorn), to bound writes."""
    sock = environ.get("gunicorn.socket")
    return sock if isinstance(sock, socket.socket) else None


class _Channel:
    """The channel of a live response: a streamed head goes to ``start_response``, the body
    pieces to the ``write()`` callable it returns, each sent before ``write`` returns (the
    WSGI server frames the body). With the connection's ``sock``, each write is bounded by
    ``write_timeout`` (see the module notes). Callable from any thread while the request is
    handled."""

    __slots__ = ("_start_response", "_write", "_sock", "_timeout", "gone")

    def __init__(self, start_response: StartResponse, sock: Optional[socket.socket] = None,
                 write_timeout: float = Limits.write_timeout) -> None:
        self._start_response = start_response
        self._write: Optional[Callable[[bytes], object]] = None
        self._sock = sock
        self._timeout = write_timeout
        #: Why the client can no longer be written to (None while it can).
        self.gone: Optional[str] = None

    @property
    def started(self) -> bool:
        """True once the streamed head went to ``start_response``."""
        return self._write is not None

    def start(self, request: Request, status: int, headers: list[tuple[str, str]]) -> None:
        """Hand the head to the server."""
        self._write = self._start_response(_status(status, reason_phrase(status)), wsgi_headers(headers))

    def write(self, data: bytes) -> None:
        """Send one body piece through the server's ``write()``; ``ClientDisconnected`` once
        the client is gone or did not read for ``write_timeout``."""
        write = self._write
        assert write is not None, "start() comes first"
        if self.gone is not None:
            raise ClientDisconnected(self.gone)
        if not data:
            return
        sock = self._sock
        try:
            if sock is None:
                write(data)
                return
            previous = sock.gettimeout()
            sock.settimeout(self._timeout)
            write(data)
            sock.settimeout(previous)
        except OSError as exc:
            stalled = isinstance(exc, socket.timeout)
            self.gone = f"the client read nothing for {self._timeout:g} s" if stalled else f"the client is gone ({exc})"
            if sock is not None:
                with contextlib.suppress(OSError):  # drop the connection: it is in an unknown state
                    sock.shutdown(socket.SHUT_RDWR)
            raise ClientDisconnected(self.gone) from exc

    def end(self) -> None:
        """The body ends when the application returns: nothing to send."""


# -- the request ------------------------------------------------------------------------------
def _utf8(text: str, what: str) -> str:
    """A WSGI string (one character per byte) as the UTF-8 text it encodes; 400 if it is not."""
    if text.isascii():
        return text
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:  # a server that already decoded it
        return text
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(400, "Bad Request", f"Request {what} is not valid UTF-8") from None


def _path(environ: WSGIEnvironment) -> str:
    """The routing path: ``PATH_INFO`` decoded and normalised, "/" when empty."""
    path = _utf8(environ.get("PATH_INFO") or "", "path")
    if "\0" in path:
        raise ProtocolError(400, "Bad Request", "NUL in request path")
    if not path.startswith("/"):
        path = "/" + path
    return normalize_path(path)


def _raw_path(environ: WSGIEnvironment) -> str:
    """The path as sent: from ``RAW_URI``/``REQUEST_URI`` when the server gives it in origin
    form, else ``SCRIPT_NAME`` + ``PATH_INFO`` percent-encoded again.

    A sent path with a malformed percent-escape is refused (400) as the HTTP parser does;
    servers leave such an escape in ``PATH_INFO`` as it is, so this needs the raw form.
    """
    for key in ("RAW_URI", "REQUEST_URI"):
        uri = environ.get(key)
        if isinstance(uri, str) and uri.startswith("/"):
            sent = _utf8(uri.partition("?")[0], "path")
            if _BAD_ESCAPE.search(sent) is not None:
                raise ProtocolError(400, "Bad Request", "Malformed percent-escape in path")
            return sent
    joined = (environ.get("SCRIPT_NAME") or "") + (environ.get("PATH_INFO") or "")
    try:
        raw = joined.encode("latin-1")
    except UnicodeEncodeError:
        raw = joined.encode("utf-8")
    return quote(raw, safe="/!$&'()*+,;=:@-._~") or "/"


def _fields(environ: WSGIEnvironment) -> list[tuple[str, str]]:
    """The request headers: ``HTTP_*`` variables plus ``CONTENT_TYPE``/``CONTENT_LENGTH``,
    and a Host made of ``SERVER_NAME``/``SERVER_PORT`` when the client sent none."""
    fields = [(key[5:].replace("_", "-").title(), value) for key, value in environ.items()
              if key.startswith("HTTP_") and key not in _SKIPPED_HTTP and isinstance(value, str)]
    for key, name in _CGI_HEADERS:
        value = environ.get(key)
        if value:
            fields.append((name, value))
    if "HTTP_HOST" not in environ:
        name, port = environ.get("SERVER_NAME") or "localhost", environ.get("SERVER_PORT") or ""
        fields.append(("Host", f"{name}:{port}" if port else name))
    return fields


def _tokens(value: Optional[str]) -> list[str]:
    return [t.strip(" \t").lower() for t in (value or "").split(",") if t.strip(" \t")]


def _client(environ: WSGIEnvironment) -> Optional[tuple[str, int]]:
    host = environ.get("REMOTE_ADDR")
    if not host:
        return None
    port = environ.get("REMOTE_PORT") or 0
    try:
        return str(host), int(port)
    except ValueError:
        return str(host), 0


class _InputPieces:
    """``wsgi.input`` as body pieces of at most ``READ_SIZE`` bytes: ``length`` bytes when the
    length is known, else to the end of a terminated input."""

    __slots__ = ("_stream", "_left")

    def __init__(self, stream: Any, length: Optional[int]) -> None:
        self._stream = stream
        self._left = length

    def __call__(self) -> bytes:
        left = self._left
        if left is not None and left <= 0:
            return b""
        piece: bytes = self._stream.read(READ_SIZE if left is None else min(left, READ_SIZE))
        if left is not None:
            if not piece:
                raise ProtocolError(400, "Bad Request", "The request body is shorter than its Content-Length")
            self._left = left - len(piece)
        return piece


def _body(environ: WSGIEnvironment, content_length: Optional[int]) -> RequestBodyReader:
    """The request body as a reader of ``wsgi.input`` (the route's limit applies as it reads)."""
    stream = environ.get("wsgi.input")
    if content_length is not None:
        if not content_length or stream is None:
            return EMPTY_BODY
        return PullBody(content_length, _InputPieces(stream, content_length))
    if stream is not None and environ.get("wsgi.input_terminated"):
        return PullBody(None, _InputPieces(stream, None))
    if "chunked" in _tokens(environ.get("HTTP_TRANSFER_ENCODING")):
        raise ProtocolError(411, "Length Required",
                            "This WSGI server does not pass on a request body without a Content-Length")
    return EMPTY_BODY


def build_request(environ: WSGIEnvironment, limits: Limits) -> Request:
    """The :class:`Request` the environ describes, its body a reader of ``wsgi.input``
    (``ProtocolError`` for input the HTTP core would refuse: the head is decided by the
    core's ``build_head``)."""
    method = environ.get("REQUEST_METHOD") or "GET"
    path = _path(environ)
    raw_path = _raw_path(environ)
    query = _utf8(environ.get("QUERY_STRING") or "", "query")
    version = "HTTP/1.0" if environ.get("SERVER_PROTOCOL") == "HTTP/1.0" else "HTTP/1.1"
    target = raw_path + ("?" + query if query else "")
    head = build_head(method, target, version, raw_path, query, path, _fields(environ), limits)
    body = _body(environ, head.content_length)
    request = Request(head, body, client_address=_client(environ), scheme=environ.get("wsgi.url_scheme") or "http")
    request.environment = environ
    return request


# -- the callable -----------------------------------------------------------------------------
class WsgiAdapter:
    """A PEP 3333 application serving ``app`` (see the module notes); get one from
    ``app.wsgi``. Thread-safe: multi-threaded servers call it concurrently.

    ``lifespan``: enter the application's lifespan at the first request and leave it at
    :meth:`close` (or at interpreter exit).
    """

    def __init__(self, app: Application, *, lifespan: bool = True) -> None:
        self.app = app
        self._lifespan = lifespan
        self._stack: Optional[contextlib.ExitStack] = None
        self._started = False
        self._warned_websocket = False
        self._lock = threading.Lock()

    def _start(self) -> None:
        """Build the application and enter its lifespan (once)."""
        with self._lock:
            if self._started:
                return
            self.app.build()
            if self._lifespan:
                stack = contextlib.ExitStack()
                stack.enter_context(self.app.lifespan())
                self._stack = stack
                atexit.register(self.close)
            self._started = True

    def close(self) -> None:
        """Leave the application's lifespan if the first request entered it (idempotent)."""
        with self._lock:
            stack, self._stack = self._stack, None
        if stack is not None:
            atexit.unregister(self.close)
            stack.close()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Serve one request (PEP 3333)."""
        if not self._started:
            self._start()
        app = self.app
        dispatcher = app.dispatcher
        try:
            request = build_request(environ, app.limits)
        except ProtocolError as error:
            return _plain_error(environ, start_response, error)
        response = Response()
        channel = _Channel(start_response, _server_socket(environ), app.limits.write_timeout)
        response.bind(request, channel)
        try:
            if request.upgrade == "websocket" and _is_websocket(dispatcher, request):
                out = self._websocket_refused(dispatcher, request)
            else:
                out = dispatcher.handle_sync(request, response)
        finally:
            request.release()
        if out.streamed:
            # Head and body went out through start_response and write() already; a client
            # that is gone is the server's to find (module notes).
            if channel.gone is None and not (channel.started and response.stream_closed):
                raise StreamAborted(f"the streamed response to {request.method} {request.path} failed")
            return []
        if out.upgrade is not None:  # a 101 that a custom router let through
            out = self._websocket_refused(dispatcher, request)
        reader = request.reader
        if out.status >= 400 and reader is not EMPTY_BODY and (reader.failed or not reader.done):
            _force_close(environ, start_response)  # the body was not read to its end (module notes)
        start_response(_status(out.status, out.reason), wsgi_headers(out.headers))
        body = out.body
        return list(body) if isinstance(body, tuple) else body

    def _websocket_refused(self, dispatcher: Dispatcher, request: Request) -> Outgoing:
        """``501`` with a text saying that WebSocket needs another server (logged once)."""
        if not self._warned_websocket:
            self._warned_websocket = True
            _log.warning("WebSocket upgrade to %s refused: a WSGI server cannot hand the connection over "
                         "(serve WebSocket endpoints with app.start() or an ASGI server)", request.path)
        refusal = Response(501, headers={"Content-Type": "text/plain; charset=utf-8"}, body=WEBSOCKET_REFUSED)
        return finalize(request, refusal, dispatcher.gzip, False)

    def __repr__(self) -> str:
        return f"<WsgiAdapter {self.app!r}>"


def _plain_error(environ: WSGIEnvironment, start_response: StartResponse, error: ProtocolError) -> Iterable[bytes]:
    """The built-in servers' answer to input they refuse: a short plain-text error."""
    out = Outgoing.error(error.code, error.message)
    _force_close(environ, start_response)
    start_response(_status(out.status, out.reason), wsgi_headers(out.headers))
    return [] if environ.get("REQUEST_METHOD") == "HEAD" else out.body


def _is_websocket(dispatcher: Dispatcher, request: Request) -> bool:
    """True when the upgrade request is for a WebSocket endpoint of the application."""
    if request.method != "GET":
        return False
    try:
        match = dispatcher.router.match(WEBSOCKET_METHOD, request.path, request)
    except HttpError:  # 404 / 405: not a WebSocket endpoint, served as plain HTTP
        return False
    return WEBSOCKET_METHOD in match.route.methods
