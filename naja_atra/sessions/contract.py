"""The session contract: ``Session`` and ``SessionFactory``, the cookie that carries a
session's id, and the default inactivity limit.

Subclass :class:`Session` and :class:`SessionFactory` to keep sessions elsewhere (Redis, a
database, ...) and install the factory with ``set_session_factory``.
"""
from __future__ import annotations

from typing import Any, Optional

__all__ = ["DEFAULT_MAX_INACTIVE_INTERVAL", "SESSION_COOKIE_NAME", "Session", "SessionFactory"]

#: The session cookie's name; the reference framework's, kept so existing clients keep their session.
SESSION_COOKIE_NAME = "PY_SIM_HTTP_SER_SESSION_ID"

#: Seconds without a request after which a session expires, unless configured otherwise.
DEFAULT_MAX_INACTIVE_INTERVAL = 1800


class Session:
    """One client's session: attributes kept between its requests.

    Subclass it to store sessions elsewhere. The members a subclass must provide raise
    :class:`NotImplementedError` here; :attr:`max_inactive_interval`, :attr:`is_valid` and
    :attr:`is_stored` have defaults (1800 s, True, True) because the original documentation's
    example subclass does not define them.
    """

    def __init__(self) -> None:
        # Nothing to set up; present so that subclasses may call super().__init__(), as the
        # original documentation's example does.
        pass

    @property
    def id(self) -> str:
        """The session's id, as sent in the session cookie."""
        raise NotImplementedError

    @property
    def creation_time(self) -> float:
        """When the session was created (seconds since the epoch)."""
        raise NotImplementedError

    @property
    def last_accessed_time(self) -> float:
        """When the session was last looked up by a request (seconds since the epoch)."""
        raise NotImplementedError

    @property
    def max_inactive_interval(self) -> int:
        """Seconds without a request after which the session expires; also the cookie's Max-Age."""
        return DEFAULT_MAX_INACTIVE_INTERVAL

    @property
    def is_new(self) -> bool:
        """True until a request brings the session's id back (the client has not joined it yet)."""
        raise NotImplementedError

    @property
    def is_valid(self) -> bool:
        """False once the session is invalidated or expired."""
        return True

    @property
    def is_stored(self) -> bool:
        """Whether the factory keeps the session (or will, at the end of the request), so that
        the response hands its cookie to the client.

        True by default: a 1.x-style session is stored when its factory creates it. The
        built-in factories store a session only once an attribute is set on it, so requests
        that merely look at a session cost no memory and get no cookie.
        """
        return True

    @property
    def attribute_names(self) -> tuple[str, ...]:
        """The names of the attributes set on this session."""
        raise NotImplementedError

    def get_attribute(self, name: str) -> Any:
        """The attribute's value, or None when it is not set."""
        raise NotImplementedError

    def set_attribute(self, name: str, value: Any) -> None:
        """Set an attribute (the value is kept as it is, not copied)."""
        raise NotImplementedError

    def invalidate(self) -> None:
        """End the session: it is forgotten by its factory and its id is never accepted again."""
        raise NotImplementedError


class SessionFactory:
    """Finds and creates sessions; install your own with ``set_session_factory``."""

    def get_session(self, session_id: str, create: bool = False) -> Optional[Session]:
        """The valid session with this id; else a new session (with a new id) if ``create``, else None.

        An implementation must not adopt an id it did not issue (session fixation): for an
        unknown, expired or invalidated id it creates a session with a fresh id, or returns None.
        """
        raise NotImplementedError

    def clean_expired(self) -> None:
        """Drop expired sessions now. Optional: the default does nothing."""
