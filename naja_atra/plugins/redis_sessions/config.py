"""Where Redis is: the defaults, the environment variable, and URLs made safe to print.

Also the logger every module of the package writes to.
"""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from ...utils.logger import get_logger

__all__ = ["DEFAULT_PREFIX", "DEFAULT_URL", "ENV_URL", "log", "redacted"]

#: The Redis URL used when none is given.
DEFAULT_URL = "redis://127.0.0.1:6379/0"
#: The prefix of the session keys.
DEFAULT_PREFIX = "naja_atra:session:"
#: The environment variable that makes the ``redis_sessions`` entry point register a plugin.
ENV_URL = "NAJA_ATRA_REDIS_SESSIONS_URL"

#: The logger of Redis sessions.
log = get_logger("naja_atra.redis_sessions")


def redacted(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable Redis URL>"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))
