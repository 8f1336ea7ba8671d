"""The response object controllers fill, and its streaming mode."""
from __future__ import annotations

import datetime
import re
import threading
import time
from email.utils import format_datetime, formatdate
from typing import (
    TYPE_CHECKING,
    Any,
    Awaitable,
    Callable,
    Generator,
    Iterator,
    Mapping,
    MutableMapping,
    Optional,
    Protocol,
    Union,
)

from .errors import HeaderInjectionError, HttpError
from .request import Cookies

if TYPE_CHECKING:
    from .compression import GzipStream
    from .request import Request

HeaderValue = Union[str, list[str]]
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")


_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an RFC 9110 token
_COOKIE_ATTRIBUTE = re.compile(r"[\x21-\x3A\x3C-\x7E]+")  # printable ASCII but ";"


def _http_date(expires: Union[datetime.datetime, int, float, str]) -> str:
    """An ``Expires`` value: an aware datetime, seconds from now, or an HTTP date already."""
    if isinstance(expires, datetime.datetime):
        if expires.tzinfo is None:
            raise ValueError("expires must be an aware datetime (naive ones have no time zone)")
        return format_datetime(expires.astimezone(datetime.timezone.utc), usegmt=True)
    if isinstance(expires, bool):
        raise ValueError("expires must be a datetime, seconds from now, or an HTTP date")
    if isinstance(expires, (int, float)):
        return formatdate(time.time() + expires, usegmt=True)
    return expires  # text: checked with the whole Set-Cookie line when written


def check_header(name: str, value: str) -> None:
    """Raise ``HeaderInjectionError`` if the pair could split or corrupt a response."""
    if not _TOKEN.match(name):
        raise HeaderInjectionError(name)
    if "\r" in value or "\n" in value or "\0" in value:
        raise HeaderInjectionError(name, value)
    if not value.isascii():
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise HeaderInjectionError(name, value, "header values must be ISO-8859-1 text") from None


def header_lines(headers: ResponseHeaders, cookies: Cookies) -> list[tuple[str, str]]:
    """Every header line of a response: its headers, then one Set-Cookie per cookie.

    Cookie attributes can be set on a morsel without any check, so each Set-Cookie line is
    validated here, where it is finally written.
    """
    lines = list(headers.pairs())
    for morsel in cookies.values():
        line = morsel.OutputString()
        check_header("Set-Cookie", line)
        lines.append(("Set-Cookie", line))
    return lines


class ResponseHeaders(MutableMapping[str, HeaderValue]):
    """Response headers: case-insensitive names, a value or a list of values each.

    Every name and value is checked when it is set, so a CR or LF smuggled in from user
    input raises at that point instead of splitting the response.
    """

    __slots__ = ("_items",)

    def __init__(self, initial: Optional[Mapping[str, HeaderValue]] = None) -> None:
        self._items: dict[str, tuple[str, HeaderValue]] = {}
        if initial:
            for name, value in initial.items():
                self[name] = value

    @staticmethod
    def _checked(name: str, value: Any) -> HeaderValue:
        if isinstance(value, (list, tuple)):
            values = [str(v) for v in value]
            for v in values:
                check_header(name, v)
            return values
        text = str(value)
        check_header(name, text)
        return text

    def __setitem__(self, name: str, value: HeaderValue) -> None:
        self._items[name.lower()] = (name, self._checked(name, value))

    def add(self, name: str, value: HeaderValue) -> None:
        """Add a value, keeping the ones already set under the same name."""
        key = name.lower()
        new = self._checked(name, value)
        if key not in self._items:
            self._items[key] = (name, new)
            return
        old_name, old = self._items[key]
        merged = (old if isinstance(old, list) else [old]) + (new if isinstance(new, list) else [new])
        self._items[key] = (old_name, merged)

    def __getitem__(self, name: str) -> HeaderValue:
        return self._items[name.lower()][1]

    def __delitem__(self, name: str) -> None:
        del self._items[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def pairs(self) -> Iterator[tuple[str, str]]:
        """Every (name, value) line to send, lists expanded."""
        for name, value in self._items.values():
            if isinstance(value, list):
                for v in value:
                    yield name, v
            else:
                yield name, value

    def __repr__(self) -> str:
        return f"ResponseHeaders({dict(self.items())!r})"


class Channel(Protocol):
    """Where a streamed response (``write_bytes``) goes: the driver's connection.

    The response calls ``start`` once with its status and header lines, ``write`` per body
    piece, ``end`` when the body is complete. Framing is the channel's business: a socket
    driver chunk-encodes on HTTP/1.1 (see :class:`~naja_atra.http.wire.StreamFramer`), an
    ASGI or WSGI server frames the body itself, the test client records the pieces. Every
    method may be called from any thread.

    Backpressure: called from any thread but the event loop's, ``start`` and ``write`` return
    once the connection has taken the data, waiting for a client that reads slowly at most
    ``Limits.write_timeout`` seconds (past it the connection is dropped). Called on the event
    loop's thread, where nothing may wait, ``write`` queues the piece and returns a future
    that is done once the connection has taken it (None when there is nothing to wait for).
    Once the client is gone, both raise :class:`~naja_atra.http.errors.ClientDisconnected`.
    """

    def start(self, request: Request, status: int, headers: list[tuple[str, str]]) -> None:
        """Send the head now."""

    def write(self, data: bytes) -> Optional[Awaitable[None]]:
        """Send one body piece now (see the class docstring for what waits)."""

    def end(self) -> None:
        """The body is complete."""


class Drain:
    """What ``write_bytes`` returns. A plain (sync) controller ignores it: its write already
    waited for the client. An ``async`` controller writing on the event loop awaits it,
    ``await response.write_bytes(piece)``, to wait until the client has taken the piece
    (at most ``Limits.write_timeout``; :class:`~naja_atra.http.errors.ClientDisconnected`
    past it or once the client is gone). Without the ``await``, pieces queue in memory."""

    __slots__ = ("_pending",)

    def __init__(self, pending: Optional[Awaitable[None]] = None) -> None:
        self._pending = pending

    def __await__(self) -> Generator[Any, None, None]:
        if self._pending is not None:
            yield from self._pending.__await__()


_DRAINED = Drain()


class StreamHooks(Protocol):
    """What the application contributes when a response starts streaming."""

    def before_commit(self, request: Request, response: Response) -> None:
        """Last changes before the head is sent (session cookie, for one)."""

    def stream_gzip(self, request: Request, response: Response) -> Optional[GzipStream]:
        """A compressor when this streamed response should be gzipped, else None."""


class Response:
    """An HTTP response: status, headers, cookies and body.

    Return one from a controller, or take the live one as an argument and fill it.
    ``write_bytes`` streams the body as it is produced (chunked on HTTP/1.1).
    """

    def __init__(
        self,
        status_code: int = 200,
        headers: Optional[Mapping[str, HeaderValue]] = None,
        body: Any = "",
    ) -> None:
        self.status_code: int = status_code
        self._headers = ResponseHeaders(headers)
        self._cookies = Cookies()
        self.body: Any = body
        self.error: Optional[HttpError] = None
        #: Set with a 101 status: what takes the connection over (a WebSocket runner).
        self.upgrade: Optional[Any] = None
        self._committed = False
        self._request: Optional[Request] = None
        self._channel: Optional[Channel] = None
        #: What the application adds when this response starts streaming (the dispatcher
        #: sets it: the session cookie, gzip).
        self.stream_hooks: Optional[StreamHooks] = None
        self._streaming = False
        self._stream_closed = False
        self._gzip: Optional[GzipStream] = None
        self._lock: Optional[threading.Lock] = None

    def bind(self, request: Request, channel: Channel) -> None:
        """Attach the live response to its request and connection (drivers call this)."""
        self._request = request
        self._channel = channel

    # -- headers and cookies ----------------------------------------------------------
    @property
    def headers(self) -> ResponseHeaders:
        """The headers to send (case-insensitive, validated on every set)."""
        return self._headers

    @property
    def cookies(self) -> Cookies:
        """Cookies to send as ``Set-Cookie``."""
        return self._cookies

    @cookies.setter
    def cookies(self, value: Cookies) -> None:
        self._cookies = value

    def set_cookie(self, name: str, value: str = "", *, max_age: Optional[int] = None,
                   expires: Union[datetime.datetime, int, float, str, None] = None, path: Optional[str] = "/",
                   domain: Optional[str] = None, secure: bool = False, httponly: bool = False,
                   samesite: Optional[str] = "Lax") -> None:
        """Send a ``Set-Cookie`` for ``name`` (replacing one set earlier on this response).

        ``expires``: an aware ``datetime``, seconds from now, or an HTTP date as text.
        ``samesite``: ``"Lax"`` (the default, as browsers assume), ``"Strict"``, ``"None"``
        (which needs ``secure=True``), or None to leave it out. ``ValueError`` for a name
        or value a cookie cannot carry and for the refused attribute combinations.
        """
        if samesite is not None and samesite not in ("Lax", "Strict", "None"):
            raise ValueError(f"samesite must be 'Lax', 'Strict', 'None' or None, not {samesite!r}")
        if samesite == "None" and not secure:
            raise ValueError("samesite='None' needs secure=True: browsers refuse such cookies otherwise")
        if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, int)):
            raise ValueError(f"max_age must be whole seconds, not {max_age!r}")
        if not _COOKIE_NAME.fullmatch(name):
            raise ValueError(f"Invalid cookie name {name!r}")
        attributes: dict[str, Any] = {}
        for attribute, given in (("path", path), ("domain", domain)):
            if given:
                if not _COOKIE_ATTRIBUTE.fullmatch(given):
                    raise ValueError(f"Invalid cookie {attribute} {given!r}")
                attributes[attribute] = given
        if max_age is not None:
            attributes["max-age"] = str(max_age)
        if expires is not None:
            attributes["expires"] = _http_date(expires)
        attributes.update(secure=secure, httponly=httponly, samesite=samesite or "")
        self._cookies[name] = value  # SimpleCookie quotes a value with characters a cookie cannot carry bare
        morsel = self._cookies[name]
        for attribute, text in attributes.items():
            if text:
                morsel[attribute] = text

    def delete_cookie(self, name: str, *, path: Optional[str] = "/", domain: Optional[str] = None,
                      secure: bool = False, httponly: bool = False, samesite: Optional[str] = "Lax") -> None:
        """Tell the client to drop cookie ``name``: an empty value that expired long ago
        (``path`` and ``domain`` must be those it was set with)."""
        self.set_cookie(name, "", max_age=0, expires="Thu, 01 Jan 1970 00:00:00 GMT", path=path, domain=domain,
                        secure=secure, httponly=httponly, samesite=samesite)

    def set_header(self, key: str, value: str) -> None:
        """Set a header, replacing any value it had."""
        self._headers[key] = value

    def add_header(self, key: str, value: HeaderValue) -> None:
        """Add a header value, keeping earlier ones."""
        self._headers.add(key, value)

    def add_headers(self, headers: Optional[Mapping[str, HeaderValue]] = None) -> None:
        """Add several headers."""
        if headers:
            for key, value in headers.items():
                self._headers.add(key, value)

    # -- ending the response early ----------------------------------------------------
    @property
    def is_sent(self) -> bool:
        """True once the response is decided (an error or redirect sent, or streaming begun)."""
        return self._committed

    def send_error(self, status_code: int, message: str = "", explain: str = "") -> None:
        """Answer with an error page for ``status_code``; the filter chain stops here."""
        self.status_code = status_code
        self.error = HttpError(status_code, message, explain)
        self._committed = True

    def send_redirect(self, url: str) -> None:
        """Answer ``302 Found`` to ``url``; the filter chain stops here."""
        self.status_code = 302
        self.set_header("Location", url)
        self.body = None
        self._committed = True

    def send_response(self) -> None:
        """Mark the response as final; nothing further in the chain runs."""
        self._committed = True

    # -- streaming --------------------------------------------------------------------
    def _stream_start(self) -> None:
        request, channel = self._request, self._channel
        if request is None or channel is None:
            raise RuntimeError("write_bytes needs the live response the server passed to the controller")
        self._streaming = True
        self._committed = True
        hooks = self.stream_hooks
        if hooks is not None:
            hooks.before_commit(request, self)
            self._gzip = hooks.stream_gzip(request, self)
        headers = self._headers
        headers.pop("Content-Length", None)
        if self._gzip is not None:
            headers["Content-Encoding"] = "gzip"
            headers.add("Vary", "Accept-Encoding")
        channel.start(request, self.status_code, header_lines(headers, self._cookies))

    def _send_piece(self, data: bytes) -> Optional[Awaitable[None]]:
        assert self._channel is not None and self._request is not None
        if self._request.method == "HEAD" or not data:
            return None
        return self._channel.write(data)

    def write_bytes(self, data: Union[bytes, bytearray]) -> Drain:
        """Send ``data`` to the client now; the head goes out with the first call.

        Waits while a slow client catches up, at most ``Limits.write_timeout`` seconds;
        raises :class:`~naja_atra.http.errors.ClientDisconnected` once the client is gone (or
        has read nothing for that long): stop producing then. In an ``async`` controller,
        ``await`` the result for the same backpressure (see :class:`Drain`).
        """
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError("write_bytes takes bytes or bytearray")
        if self._lock is None:
            self._lock = threading.Lock()
        with self._lock:
            if self._stream_closed:
                raise RuntimeError("the response is closed")
            if not self._streaming:
                self._stream_start()
            payload = bytes(data)
            if self._gzip is not None:
                payload = self._gzip.compress(payload)
            pending = self._send_piece(payload)
        return _DRAINED if pending is None else Drain(pending)

    def close(self) -> None:
        """End a streamed body (sends the last chunk). Without streaming it only marks the response final."""
        if not self._streaming:
            self._committed = True
            return
        assert self._lock is not None
        with self._lock:
            if self._stream_closed:
                return
            self._stream_closed = True
            if self._gzip is not None:
                self._send_piece(self._gzip.finish())
            assert self._channel is not None
            self._channel.end()

    @property
    def streaming(self) -> bool:
        """True once ``write_bytes`` has sent the head."""
        return self._streaming

    @property
    def stream_closed(self) -> bool:
        """True once a streamed body was ended with ``close``."""
        return self._stream_closed

    def __repr__(self) -> str:
        return f"<Response {self.status_code}>"


ResponseFactory = Callable[[], Response]
