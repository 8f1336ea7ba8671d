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

The package, one concept a module: :mod:`~naja_atra.testing.client` (:class:`TestClient`),
:mod:`~naja_atra.testing.encoding` (URL, headers and body of a request, redirects),
:mod:`~naja_atra.testing.exchange` (one request served through the application and read
back), :mod:`~naja_atra.testing.response` (:class:`TestResponse`),
:mod:`~naja_atra.testing.cookies` (:class:`CookieJar`), :mod:`~naja_atra.testing.websocket`
(:class:`TestWebSocket`) and :mod:`~naja_atra.testing.errors` (the exceptions).
"""
from __future__ import annotations

# A name imported "as" itself is re-exported without being in ``__all__``: the argument
# types and the defaults, importable from here as they always were.
from .client import DEFAULT_MAX_REDIRECTS as DEFAULT_MAX_REDIRECTS
from .client import USER_AGENT as USER_AGENT
from .client import TestClient
from .cookies import CookieJar
from .encoding import DataType as DataType
from .encoding import FileSpec as FileSpec
from .encoding import FilesType as FilesType
from .encoding import HeadersType as HeadersType
from .encoding import ParamsType as ParamsType
from .errors import (
    IncompleteResponse,
    TestClientError,
    TooManyRedirects,
    WebSocketClosed,
    WebSocketRefused,
    WebSocketTimeout,
)
from .response import REDIRECT_STATUSES as REDIRECT_STATUSES
from .response import TestResponse
from .websocket import DEFAULT_WEBSOCKET_TIMEOUT as DEFAULT_WEBSOCKET_TIMEOUT
from .websocket import TestWebSocket

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
