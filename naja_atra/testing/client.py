"""The test client (:class:`TestClient`): requests and WebSocket handshakes sent to an
application in-process (see the notes of :mod:`naja_atra.testing`)."""
from __future__ import annotations

import base64
import contextlib
import secrets
from types import TracebackType
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence, Union
from urllib.parse import urlsplit

from ..websocket.handshake import accept_key
from .cookies import CookieJar
from .encoding import (
    DataType,
    FilesType,
    HeadersType,
    Outbound,
    ParamsType,
    encode_body,
    encode_head,
    merge_headers,
    redirected,
    request_url,
)
from .errors import TestClientError, TooManyRedirects, WebSocketRefused
from .exchange import exchange, serve
from .response import TestResponse
from .websocket import DEFAULT_WEBSOCKET_TIMEOUT, TestWebSocket, Upgrade

if TYPE_CHECKING:
    from ..app.application import Application

DEFAULT_MAX_REDIRECTS = 10
USER_AGENT = "naja-atra-testclient"


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
        self.headers: list[tuple[str, Optional[str]]] = merge_headers(
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
        body, content_type = encode_body(json, data, files, content)
        extra = [("Content-Type", content_type)] if content_type else []
        outbound = Outbound(method, request_url(self.base_url, path, params),
                             merge_headers(merge_headers(self.headers, extra), headers), body, dict(cookies or {}))
        follow = self.follow_redirects if follow_redirects is None else follow_redirects
        response = self._send(outbound)
        history: list[TestResponse] = []
        while follow and response.is_redirect:
            if len(history) >= self.max_redirects:
                raise TooManyRedirects(f"more than {self.max_redirects} redirects", response)
            history.append(response)
            outbound = redirected(outbound, response)
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
        return exchange(self.app, bytes(data), self.base_url.scheme, self.base_url.netloc, self.client_address)

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
        outbound = Outbound("GET", request_url(self.base_url, path, params),
                             merge_headers(merge_headers(self.headers, handshake), headers), b"", {})
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

    # -- sending ------------------------------------------------------------------------
    def _send(self, outbound: Outbound) -> TestResponse:
        return self._send_keeping_upgrade(outbound)[0]

    def _send_keeping_upgrade(self, outbound: Outbound) -> tuple[TestResponse, Optional[Upgrade]]:
        """Send ``outbound``; the response, and the ``Outgoing.upgrade`` of a 101 (or None)."""
        secure = outbound.url.scheme == "https"
        jar = self.cookies.for_request(secure)
        jar.update(outbound.cookies)
        headers = merge_headers([("Host", outbound.url.netloc)], outbound.headers)
        if jar and not any(name.lower() == "cookie" for name, _ in headers):
            headers.append(("Cookie", "; ".join(f"{name}={value}" for name, value in jar.items())))
        framed = {name.lower() for name, value in headers if value is not None}
        if not framed & {"content-length", "transfer-encoding"} and (
                outbound.body or outbound.method in ("POST", "PUT", "PATCH")):
            headers.append(("Content-Length", str(len(outbound.body))))
        target = outbound.url.path + (f"?{outbound.url.query}" if outbound.url.query else "")
        raw = encode_head(outbound.method, target, headers) + outbound.body
        response, upgrade = serve(self.app, raw, outbound.url.scheme, outbound.url.netloc, self.client_address)
        if self.keep_cookies:
            self.cookies.update_from_response(response._set_cookies)
        return response, upgrade
