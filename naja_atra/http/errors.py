"""Every exception of the framework that crosses a package boundary, in one module.

It lives with the sans-I/O HTTP core because the core raises some of them
(``ProtocolError``) and must not import anything outside itself; everything else imports
its exceptions from here. Exceptions private to one module (a converter's
``ConversionError``, the deflate codec's ``DeflateError``) stay where they are raised,
and so do the exceptions of the test client and of the optional Redis plugin, which are
part of those components' own API.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence


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


class ConfigurationError(Exception):
    """A registration that cannot work: raised at decoration or build, naming the culprit."""


class ClientDisconnected(ConnectionResetError):
    """Raised by ``response.write_bytes`` (and the other writes of a streamed response) once
    the client is gone: the handler should stop producing. A ``ConnectionResetError``, so
    code written against an ``OSError`` keeps working."""


class StreamAborted(RuntimeError):
    """Raised to an ASGI or WSGI server when a streamed response failed after its head was
    sent: the server then cuts the connection, the only honest signal left once a status
    went out (the built-in servers cut it themselves). The error itself was logged."""


class HandshakeError(Exception):
    """A WebSocket upgrade request the server must refuse: answer with ``status``,
    ``headers`` and ``message`` as the body instead of ``101 Switching Protocols``."""

    def __init__(self, status: int, message: str, headers: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers: list[tuple[str, str]] = list(headers)


#: Where an argument value is looked for, as the ``in`` of an ``ArgumentError``: query
#: string, form body, header, cookie, path segment or JSON body.
LOCATIONS = ("query", "form", "header", "cookie", "path", "body")

# How the human-readable ``explain`` names each location (e.g. "Parameter[page]").
_KIND = {"query": "Parameter", "form": "Parameter", "header": "Header", "cookie": "Cookie",
         "path": "PathValue", "body": "Body"}


@dataclass(frozen=True)
class ArgumentError:
    """One bad or missing argument value.

    ``name`` is the parameter, header or cookie name (for a body, the path of the bad field,
    ``"items[2].price"``, or the controller parameter's name for the body as a whole);
    ``location`` is one of :data:`LOCATIONS` (``in`` in JSON); ``received`` is the value
    sent (None when it was missing; objects and arrays of a body as ``"object"``/``"array"``).
    """

    name: str
    location: str
    expected: str
    received: Any
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``name``, ``in``, ``expected``, ``received``, ``reason``."""
        return {"name": self.name, "in": self.location, "expected": self.expected,
                "received": self.received, "reason": self.reason}

    def describe(self) -> str:
        """One human-readable line, e.g. ``Parameter[page]: not an integer``."""
        kind = _KIND.get(self.location, self.location)
        if self.reason == "required":
            return f"{kind}[{self.name}] is required"
        return f"{kind}[{self.name}]: {self.reason}"


class InjectionError(HttpError):
    """A 400 listing every argument of the request that is missing or does not convert.

    The built-in ``naja_atra.resolvers`` plugin renders it as JSON::

        {"code": 400, "message": "Invalid request",
         "explain": "Parameter[page]: not an integer",
         "errors": [{"name": "page", "in": "query", "expected": "int", "received": "abc",
                     "reason": "not an integer"}]}
    """

    def __init__(self, errors: Sequence[ArgumentError], message: str = "Invalid request") -> None:
        self.errors: list[ArgumentError] = list(errors)
        super().__init__(400, message, "; ".join(e.describe() for e in self.errors) + "." if self.errors else "")

    @classmethod
    def missing(cls, name: str, location: str, expected: str = "str") -> InjectionError:
        """The error of a required value the request does not carry."""
        return cls([ArgumentError(name, location, expected, None, "required")])

    def to_dict(self) -> dict[str, Any]:
        """The JSON answer: ``code``, ``message``, ``explain`` and ``errors``."""
        return {"code": self.code, "message": self.message, "explain": self.explain,
                "errors": [e.to_dict() for e in self.errors]}
