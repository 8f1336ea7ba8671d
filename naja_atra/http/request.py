"""The request object controllers and filters see."""
from __future__ import annotations

import json
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any, Optional

from .errors import HttpError
from .headers import HeaderMap

if TYPE_CHECKING:
    from ..sessions import Session
    from .forms import MultipartFile
    from .parser import RequestHead


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
    reads none of them pays nothing for them.
    """

    def __init__(
        self,
        head: RequestHead,
        body: bytes = b"",
        *,
        client_address: Optional[tuple[str, int]] = None,
        scheme: str = "http",
    ) -> None:
        self.method: str = head.method
        self.path: str = head.path
        self.raw_path: str = head.raw_path
        self.query_string: str = head.query_string
        self.version: str = head.version
        self.headers: HeaderMap = head.headers
        self.client_address = client_address
        self.scheme = scheme
        self.body: bytes = body
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

    # -- parameters -------------------------------------------------------------------
    def _parse_parameters(self) -> None:
        from .forms import parse_multipart, parse_query, parse_urlencoded

        params = parse_query(self.query_string) if self.query_string else {}
        files: dict[str, list[MultipartFile]] = {}
        if self.body:
            mime = self.content_type.split(";", 1)[0].strip().lower()
            form: dict[str, list[str]] = {}
            if mime == "application/x-www-form-urlencoded":
                form = parse_urlencoded(self.body)
            elif mime == "multipart/form-data":
                form, files = parse_multipart(self.body, self.content_type)
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
    def content_type(self) -> str:
        """The Content-Type header ("" when absent)."""
        return self.headers.get("Content-Type") or ""

    @property
    def content_length(self) -> Optional[int]:
        """The body's length, or None when the request has none."""
        return len(self.body) if self.body or "Content-Length" in self.headers else None

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

        A body that is not valid JSON raises ``HttpError(400)``.
        """
        if self._json is _UNSET:
            mime = self.content_type.split(";", 1)[0].strip().lower()
            if self.body and (mime == "application/json" or mime.endswith("+json")):
                try:
                    self._json = json.loads(self.body)
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
        """The session of this request; with ``create`` a new one when there is none."""
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
