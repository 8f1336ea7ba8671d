"""The ``Set-Cookie`` values that hand a session to the client, or take it back."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Union

from typing_extensions import Literal

from .contract import SESSION_COOKIE_NAME, Session

__all__ = ["SessionCookie", "expired_session_cookie", "session_cookie"]

_COOKIE_NAME_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_COOKIE_VALUE_RE = re.compile(r"[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*")


@dataclass(frozen=True)
class SessionCookie:
    """The name and attributes of an application's session cookie.

    ``secure=None`` (the default) sets ``Secure`` when the request came over TLS (or
    through a proxy that says so). The default name is naja-atra 1.x's, so sessions of an
    upgraded application survive; two applications on one host need different names (a
    browser sends one cookie jar per host, ports included). ``ValueError`` for a name,
    path or domain a ``Set-Cookie`` line cannot carry, an unknown ``samesite``, or
    ``samesite="None"`` without ``secure=True`` (browsers drop such cookies).
    """

    name: str = SESSION_COOKIE_NAME
    path: str = "/"
    domain: Optional[str] = None
    secure: Optional[bool] = None
    httponly: bool = True
    samesite: Optional[Literal["Lax", "Strict", "None"]] = "Lax"

    def __post_init__(self) -> None:
        _check_cookie_name(self.name)
        for what, text in (("path", self.path), ("domain", self.domain or "")):
            if not _ATTRIBUTE_RE.fullmatch(text):
                raise ValueError(f"Invalid session cookie {what} {text!r}")
        if self.samesite not in (None, "Lax", "Strict", "None"):
            raise ValueError(f"samesite must be 'Lax', 'Strict', 'None' or None, not {self.samesite!r}")
        if self.samesite == "None" and self.secure is not True:
            raise ValueError("samesite='None' needs secure=True: browsers refuse such cookies otherwise")

    def attributes(self, max_age: Optional[int], tls: bool) -> str:
        """The attributes after ``NAME=VALUE`` (``tls``: the request came over TLS)."""
        attributes = f"; Path={self.path}"
        if self.domain:
            attributes += f"; Domain={self.domain}"
        if self.httponly:
            attributes += "; HttpOnly"
        if self.samesite:
            attributes += f"; SameSite={self.samesite}"
        if max_age is not None:
            attributes += f"; Max-Age={max_age}"
        if self.secure or (self.secure is None and tls):
            attributes += "; Secure"
        return attributes


_ATTRIBUTE_RE = re.compile(r"[\x21-\x3A\x3C-\x7E]*")  # printable ASCII but ";"


def _check_cookie_name(name: str) -> None:
    if not _COOKIE_NAME_RE.fullmatch(name):
        raise ValueError(f"Invalid cookie name {name!r}")


def _config(cookie: Union[str, SessionCookie]) -> SessionCookie:
    return cookie if isinstance(cookie, SessionCookie) else SessionCookie(name=cookie)


def session_cookie(cookie: Union[str, SessionCookie], session: Session, secure: bool) -> str:
    """The ``Set-Cookie`` value that hands ``session`` to the client.

    ``cookie`` is the application's ``SessionCookie`` (or just a name, with the default
    attributes): ``NAME=ID; Path=/; HttpOnly; SameSite=Lax; Max-Age=<max_inactive_interval>``,
    plus ``; Secure`` when ``secure`` (served over TLS) and the setting leaves it to that.
    A session whose interval is not positive gets a cookie without Max-Age (it lasts until
    the browser closes) rather than one deleted at once.
    """
    config = _config(cookie)
    session_id = session.id
    if not session_id or not _COOKIE_VALUE_RE.fullmatch(session_id):
        raise ValueError("Invalid session id for a cookie value (empty, or characters RFC 6265 forbids)")
    interval = session.max_inactive_interval
    return f"{config.name}={session_id}" + config.attributes(interval if interval > 0 else None, secure)


def expired_session_cookie(cookie: Union[str, SessionCookie], secure: bool) -> str:
    """The ``Set-Cookie`` value that deletes the session cookie (empty value, ``Max-Age=0``)."""
    config = _config(cookie)
    return f"{config.name}=" + config.attributes(0, secure)
