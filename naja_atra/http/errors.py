"""Exceptions that end a request with an HTTP status."""
from __future__ import annotations

from typing import Mapping, Optional, Sequence


class HttpError(Exception):
    """Raise (or return) this from a controller or filter to answer with an error status.

    ``message`` is the short reason shown on the error page and ``explain`` the longer text;
    ``headers`` are added to the error response.
    """

    def __init__(self, code: int = 400, message: str = "", explain: str = "", *,
                 headers: Optional[Mapping[str, str]] = None) -> None:
        super().__init__(f"HTTP_ERROR[{code}] {message}")
        self.code: int = code
        self.message: str = message
        self.explain: str = explain
        self.headers: dict[str, str] = dict(headers or {})


class MethodNotAllowed(HttpError):
    """A 405 that knows which methods the path does accept (sent as ``Allow``)."""

    def __init__(self, allowed: Sequence[str]) -> None:
        super().__init__(405, "Method Not Allowed", headers={"Allow": ", ".join(allowed)})
        self.allowed: tuple[str, ...] = tuple(allowed)


class ProtocolError(HttpError):
    """Malformed or unacceptable bytes on the wire: the server answers ``code`` and closes.

    Raised only by the sans-I/O core; it never reaches a controller.
    """

    def __init__(self, code: int, message: str, explain: str = "", close: bool = True) -> None:
        super().__init__(code, message, explain)
        self.close: bool = close


class HeaderInjectionError(ValueError):
    """A response header name or value that would split the response (CR, LF or NUL in it)."""

    def __init__(self, name: str, value: Optional[str] = None,
                 reason: str = "CR, LF and NUL are not allowed in response headers") -> None:
        what = f"header {name!r}" if value is None else f"value of header {name!r}"
        super().__init__(f"Refusing {what}: {reason}")
