"""The request object controllers and filters see."""
from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any, Optional, Union

from .errors import HttpError
from .headers import HeaderMap
from .json_body import loads_json
from .limits import Limits
from .parser import RequestHead
from .request_body import EMPTY_BODY, BufferedBody, RequestBodyReader, SpoolReader

if TYPE_CHECKING:
    from ..sessions import Session
    from .forms import MultipartFile
    from .spool import BodyBudget, Spool


class Cookies(SimpleCookie):
    """Request or response cookies (a ``http.cookies.SimpleCookie``)."""

    EXPIRE_DATE_FORMAT = "%a, %d %b %Y %H:%M:%S GMT"


class SessionAccess:
    """How a request reaches its session store; set by the application per request."""

    def get_session(self, request: Request, create: bool) -> Optional[Session]:
        """The request's session, created when ``create`` and none is valid."""
        raise NotImplementedError


class Request:
    """An HTTP request: method, path, headers, query and form parameters, cookies, body.

    Parsing of parameters, cookies and JSON happens on first access, so a route that
    reads none of them pays nothing for them. It is bounded by ``limits`` (those the head
    was parsed under): more than ``max_form_fields`` fields in the query string, in a
    URL-encoded body or parts in a multipart body, or JSON nested deeper than
    ``max_json_depth``, is a 400.

    ``reader`` (a :class:`~naja_atra.http.request_body.RequestBodyReader`) is the body as it
    arrives. A route whose controller does not take the reader has its body read before
    the controller runs (kept in memory up to ``spool_threshold``, in a temporary file
    beyond), and ``body`` is that body as bytes; a route that streams its body has no
    ``body`` to give (reading it raises ``RuntimeError``).

    ``Request()`` with no head is a blank request: as a parameter default
    (``req=Request()``) it asks for the current request, as in naja-atra 1.x.
    """

    def __init__(
        self,
        head: Optional[RequestHead] = None,
        body: Union[bytes, RequestBodyReader] = b"",
        *,
        client_address: Optional[tuple[str, int]] = None,
        scheme: str = "http",
    ) -> None:
        if head is None:
            head = RequestHead("", "", "", "", "", "HTTP/1.1", HeaderMap())
        self.method: str = head.method
        self.path: str = head.path
        self.raw_path: str = head.raw_path
        self.query_string: str = head.query_string
        self.version: str = head.version
        self.headers: HeaderMap = head.headers
        self.client_address = client_address
        self.scheme = scheme
        #: The limits the head was parsed under; form and JSON parsing apply them too.
        self.limits: Limits = head.limits
        if isinstance(body, RequestBodyReader):
            #: The body as it arrives (see the class notes).
            self.reader: RequestBodyReader = body
            self._body: Optional[bytes] = b"" if body is EMPTY_BODY else None
        else:
            self.reader = BufferedBody(body) if body else EMPTY_BODY
            self._body = body
        self._spool: Optional[Spool] = None
        self.path_values: dict[str, str] = {}
        self.reg_groups: tuple[str, ...] = ()
        self.environment: dict[str, Any] = {}
        self.keep_alive: bool = head.keep_alive
        #: The protocol asked for with ``Connection: upgrade`` (lower-case), e.g. "websocket".
        self.upgrade: Optional[str] = head.upgrade
        self._parameters: Optional[dict[str, list[str]]] = None
        self._parameter: Optional[dict[str, str]] = None
        self._files: Optional[dict[str, list[MultipartFile]]] = None
        self._cookies: Optional[Cookies] = None
        self._json: Any = _UNSET
        #: How this request finds its session (the dispatcher sets it per request).
        self.session_access: Optional[SessionAccess] = None
        #: The session ``get_session`` found or created (None until a request asks for one).
        self.loaded_session: Optional[Session] = None

    # -- the body -----------------------------------------------------------------------
    @property
    def body(self) -> bytes:
        """The whole body (read back from its temporary file when it was spooled there).

        ``RuntimeError`` on a route that streams its body: use the ``RequestBodyReader``.
        """
        data = self._body
        if data is None:
            spool = self._spool
            if spool is None:
                raise RuntimeError("this route reads its body as a stream: use its RequestBodyReader")
            data = self._body = spool.getvalue()
        return data

    @body.setter
    def body(self, value: bytes) -> None:
        self._body = value
        self._parameters = self._parameter = self._files = None
        self._json = _UNSET

    @property
    def body_loaded(self) -> bool:
        """True when the whole body is here (in memory or spooled): ``body`` can be read."""
        return self._body is not None or self._spool is not None

    async def load_body(self, threshold: int, budget: Optional[BodyBudget] = None) -> None:
        """Read the whole body from ``reader`` (in memory up to ``threshold`` bytes while
        ``budget`` allows, then into a temporary file). Does nothing when it is loaded."""
        if not self.body_loaded:
            self._loaded(await self.reader.load(threshold, budget))

    def load_body_sync(self, threshold: int, budget: Optional[BodyBudget] = None) -> None:
        """:meth:`load_body` for synchronous code."""
        if not self.body_loaded:
            self._loaded(self.reader.load_sync(threshold, budget))

    def _loaded(self, spool: Spool) -> None:
        # The reader now reads the loaded body again, from its start, for anyone who asks.
        limit = self.reader.limit
        self._spool = spool
        self.reader = SpoolReader(spool)
        self.reader.limit = limit

    def release(self) -> None:
        """The request is over: close the spooled body (its temporary file is removed and
        uploads backed by it can no longer be read)."""
        spool, self._spool = self._spool, None
        if spool is not None:
            spool.close()

    # -- parameters -------------------------------------------------------------------
    def _parse_parameters(self) -> None:
        from .forms import parse_multipart, parse_query, parse_urlencoded

        max_fields = self.limits.max_form_fields
        params = parse_query(self.query_string, max_fields) if self.query_string else {}
        files: dict[str, list[MultipartFile]] = {}
        # A streamed body (not loaded) is the controller's to read: only the query counts.
        if self.body_loaded and (self._spool is not None and self._spool.size or self._body):
            mime = self.content_type.split(";", 1)[0].strip().lower()
            form: dict[str, list[str]] = {}
            if mime == "application/x-www-form-urlencoded":
                form = parse_urlencoded(self.body, max_fields=max_fields)
            elif mime == "multipart/form-data":
                spool = self._spool
                if spool is not None and self._body is None:
                    # Parsed in place: file parts of a spooled body stay in its file.
                    form, files = parse_multipart(spool.view(), self.content_type, max_fields, spool)
                else:
                    form, files = parse_multipart(self.body, self.content_type, max_fields)
            for key, values in form.items():
                params.setdefault(key, []).extend(values)
        self._parameters = params
        self._files = files

    @property
    def parameters(self) -> dict[str, list[str]]:
        """Query and form parameters, every value of each name."""
        if self._parameters is None:
            self._parse_parameters()
            assert self._parameters is not None
        return self._parameters

    @parameters.setter
    def parameters(self, value: dict[str, list[str]]) -> None:
        self._parameters = value
        self._parameter = None

    @property
    def parameter(self) -> dict[str, str]:
        """Query and form parameters, the first value of each name."""
        if self._parameter is None:
            self._parameter = {k: v[0] for k, v in self.parameters.items() if v}
        return self._parameter

    @property
    def files(self) -> dict[str, list[MultipartFile]]:
        """Uploaded files of a ``multipart/form-data`` body, by field name."""
        if self._files is None:
            self._parse_parameters()
            assert self._files is not None
        return self._files

    def get_parameter(self, key: str, default: Optional[str] = None) -> Optional[str]:
        """The first value of parameter ``key``, or ``default``."""
        return self.parameter.get(key, default)

    # -- headers and body -------------------------------------------------------------
    @property
    def host(self) -> str:
        """The Host header ("" when absent)."""
        return self.headers.get("Host") or ""

    @property
    def has_form_body(self) -> bool:
        """True when the body is a form (urlencoded or multipart), whose fields are parameters."""
        if self.reader is EMPTY_BODY:
            return False
        mime = self.content_type.split(";", 1)[0].strip().lower()
        return mime in ("application/x-www-form-urlencoded", "multipart/form-data")

    @property
    def content_type(self) -> str:
        """The Content-Type header ("" when absent)."""
        return self.headers.get("Content-Type") or ""

    @property
    def content_length(self) -> Optional[int]:
        """The body's length, or None when the request has none."""
        if self._body is not None:
            return len(self._body) if self._body or "Content-Length" in self.headers else None
        if self._spool is not None:
            return self._spool.size
        return self.reader.length

    @property
    def cookies(self) -> Cookies:
        """Cookies sent by the client; a malformed Cookie header gives no cookies."""
        if self._cookies is None:
            jar = Cookies()
            raw = self.headers.get("Cookie")
            if raw:
                try:
                    jar.load(raw)
                except CookieError:
                    pass
            self._cookies = jar
        return self._cookies

    @property
    def json(self) -> Any:
        """The body decoded as JSON when the content type is JSON, else None.

        A body that is not valid JSON, or nested deeper than ``limits.max_json_depth``,
        raises ``HttpError(400)``.
        """
        if self._json is _UNSET:
            mime = self.content_type.split(";", 1)[0].strip().lower()
            if self.body and (mime == "application/json" or mime.endswith("+json")):
                try:
                    self._json = loads_json(self.body, self.limits.max_json_depth)
                except (ValueError, UnicodeDecodeError) as exc:
                    raise HttpError(400, "Bad Request", f"The body is not valid JSON: {exc}") from None
            else:
                self._json = None
        return self._json

    @json.setter
    def json(self, value: Any) -> None:
        self._json = value

    # -- session ----------------------------------------------------------------------
    def get_session(self, create: bool = False) -> Optional[Session]:
        """The session of this request; with ``create`` a new one when there is none (the
        built-in stores keep it, and send its cookie, once an attribute is set on it)."""
        if self.loaded_session is not None and self.loaded_session.is_valid:
            return self.loaded_session
        if self.session_access is None:
            return None
        self.loaded_session = self.session_access.get_session(self, create)
        return self.loaded_session

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path}>"


class _Unset:
    pass


_UNSET: Any = _Unset()
