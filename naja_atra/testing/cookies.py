"""The test client's cookie jar, and the ``Set-Cookie`` lines it is filled from.

What is honoured (``Max-Age``, ``Expires``, ``Secure``) and what is not (``Domain``,
``Path``) is listed in the notes of :mod:`naja_atra.testing`.
"""
from __future__ import annotations

import contextlib
import threading
import time
from email.utils import parsedate_to_datetime
from typing import Iterable, Iterator, MutableMapping, Optional


class _StoredCookie:
    __slots__ = ("value", "expires", "secure")

    def __init__(self, value: str, expires: Optional[float] = None, secure: bool = False) -> None:
        self.value = value
        self.expires = expires
        self.secure = secure


class SetCookie:
    """One parsed ``Set-Cookie`` line: name, value, when it expires (None: session cookie)."""

    __slots__ = ("name", "value", "expires", "secure")

    def __init__(self, name: str, value: str, expires: Optional[float], secure: bool) -> None:
        self.name = name
        self.value = value
        self.expires = expires
        self.secure = secure

    @classmethod
    def parse(cls, line: str, now: float) -> Optional[SetCookie]:
        """Parse ``line``; None when it has no ``name=value`` pair (a browser ignores it)."""
        first, *attributes = line.split(";")
        name, eq, value = first.partition("=")
        name, value = name.strip(" \t"), value.strip(" \t")
        if not eq or not name:
            return None
        max_age: Optional[float] = None
        expires: Optional[float] = None
        secure = False
        for attribute in attributes:
            key, _, raw = attribute.partition("=")
            key, raw = key.strip(" \t").lower(), raw.strip(" \t")
            if key == "max-age":
                with contextlib.suppress(ValueError):
                    max_age = now + int(raw)
            elif key == "expires":
                with contextlib.suppress(TypeError, ValueError, IndexError, OverflowError):
                    expires = parsedate_to_datetime(raw).timestamp()
            elif key == "secure":
                secure = True
        # RFC 6265 5.3: Max-Age wins over Expires.
        return cls(name, value, max_age if max_age is not None else expires, secure)


class CookieJar(MutableMapping[str, str]):
    """The client's cookies, name -> value, sent with every request.

    Filled from the ``Set-Cookie`` headers of responses (see the module notes for what is
    honoured); set or delete entries by hand like in a dict. Safe to share across threads.
    """

    def __init__(self) -> None:
        self._cookies: dict[str, _StoredCookie] = {}
        self._lock = threading.Lock()

    def _live(self) -> dict[str, _StoredCookie]:
        """The cookies that have not expired (expired ones are dropped here)."""
        now = time.time()
        with self._lock:
            for name in [n for n, c in self._cookies.items() if c.expires is not None and c.expires <= now]:
                del self._cookies[name]
            return dict(self._cookies)

    def __getitem__(self, name: str) -> str:
        return self._live()[name].value

    def __setitem__(self, name: str, value: str) -> None:
        _check_cookie(name, value)
        with self._lock:
            self._cookies[name] = _StoredCookie(value)

    def __delitem__(self, name: str) -> None:
        with self._lock:
            del self._cookies[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._live())

    def __len__(self) -> int:
        return len(self._live())

    def clear(self) -> None:
        """Forget every cookie."""
        with self._lock:
            self._cookies.clear()

    def update_from_response(self, set_cookies: Iterable[SetCookie]) -> None:
        """Apply the ``Set-Cookie`` lines of a response: store, replace or delete."""
        now = time.time()
        with self._lock:
            for cookie in set_cookies:
                if cookie.expires is not None and cookie.expires <= now:
                    self._cookies.pop(cookie.name, None)
                else:
                    self._cookies[cookie.name] = _StoredCookie(cookie.value, cookie.expires, cookie.secure)

    def for_request(self, secure: bool) -> dict[str, str]:
        """The name -> value pairs to send on a request (``secure``: over https)."""
        return {name: c.value for name, c in self._live().items() if secure or not c.secure}

    def __repr__(self) -> str:
        return f"CookieJar({dict(self.items())!r})"


def _check_cookie(name: str, value: str) -> None:
    """Refuse a cookie that could not be sent as one ``name=value`` of a Cookie header."""
    bad = any(ch in name + value for ch in ";\r\n") or "=" in name or not name.strip()
    if bad:
        raise ValueError(f"Invalid cookie {name!r}={value!r}")
