"""The response as the test client received it (:class:`TestResponse`)."""
from __future__ import annotations

import gzip
import json as _json
import time
from typing import Any

from ..http.forms import parse_content_type
from ..http.headers import HeaderMap
from .cookies import SetCookie

REDIRECT_STATUSES = frozenset((301, 302, 303, 307, 308))


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
        parsed = (SetCookie.parse(line, now) for line in headers.get_all("Set-Cookie"))
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
