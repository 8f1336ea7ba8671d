"""The ``Set-Cookie`` values that hand a session to the client, or take it back."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

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
    upgraded application survive; two applications on one host need different names.
    """

    name: str = SESSION_COOKIE_NAME
    path: str = "/"
    domain: Optional[str] = None
    secure: Optional[bool] = None
    httponly: bool = True
    samesite: Optional[Literal["Lax", "Strict", "None"]] = "Lax"


def _check_cookie_name(name: str) -> None:
    if not _COOKIE_NAME_RE.fullmatch(name):
        raise ValueError(f"Invalid cookie name {name!r}")


def _cookie_attributes(max_age: Optional[int], secure: bool) -> str:
    attributes = "; Path=/; HttpOnly; SameSite=Lax"
    if max_age is not None:
        attributes += f"; Max-Age={max_age}"
    if secure:
        attributes += "; Secure"
    return attributes


def session_cookie(name: str, session: Session, secure: bool) -> str:
    """The ``Set-Cookie`` value that hands ``session`` to the client.

    ``NAME=ID; Path=/; HttpOnly; SameSite=Lax; Max-Age=<max_inactive_interval>``, plus ``; Secure``
    when ``secure`` (served over TLS). A session whose interval is not positive gets a cookie
    without Max-Age (it lasts until the browser closes) rather than one deleted at once.
    """
    _check_cookie_name(name)
    session_id = session.id
    if not session_id or not _COOKIE_VALUE_RE.fullmatch(session_id):
        raise ValueError("Invalid session id for a cookie value (empty, or characters RFC 6265 forbids)")
    interval = session.max_inactive_interval
    return f"{name}={session_id}" + _cookie_attributes(interval if interval > 0 else None, secure)


def expired_session_cookie(name: str, secure: bool) -> str:
    """The ``Set-Cookie`` value that deletes the session cookie (empty value, ``Max-Age=0``)."""
    _check_cookie_name(name)
    return f"{name}=" + _cookie_attributes(0, secure)
