"""What each option of ``Application(...)`` and ``start(...)`` accepts, checked when given.

One table maps an option's name to its rule; a rule returns None for a good value, or the
words for what is accepted. :func:`check_options` raises one ``ConfigurationError`` naming
the option, the value and what is accepted, and suggests the nearest name for an unknown
option. Values are not converted: ``port="8080"`` is refused rather than read as 8080, so
a setting that arrived as text (an environment variable, say) is noticed where it is given.
"""
from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, Callable, Optional

from ..http.errors import ConfigurationError

__all__ = ["OPTION_RULES", "check_options"]

#: ``rule(value)`` is None when ``value`` is accepted, else what would be.
Rule = Callable[[Any], Optional[str]]


def whole(minimum: int, maximum: Optional[int] = None) -> Rule:
    """An ``int`` (not a bool) within ``minimum``..``maximum``."""
    words = f"a whole number from {minimum} to {maximum}" if maximum is not None else f"a whole number >= {minimum}"

    def rule(value: Any) -> Optional[str]:
        if isinstance(value, bool) or not isinstance(value, int):
            return words
        if value < minimum or (maximum is not None and value > maximum):
            return words
        return None
    return rule


def seconds(positive: bool = False) -> Rule:
    """A number of seconds (``int`` or ``float``, not a bool): >= 0, or > 0 when ``positive``."""
    words = "a number of seconds > 0" if positive else "a number of seconds >= 0"

    def rule(value: Any) -> Optional[str]:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return words
        if value != value or value < 0 or (positive and value == 0) or value == float("inf"):
            return words
        return None
    return rule


def instance(kind: type, words: str) -> Rule:
    """An instance of ``kind``."""
    def rule(value: Any) -> Optional[str]:
        return None if isinstance(value, kind) else words
    return rule


def optional(inner: Rule) -> Rule:
    """None, or what ``inner`` accepts."""
    def rule(value: Any) -> Optional[str]:
        problem = inner(value) if value is not None else None
        return f"None or {problem}" if problem else None
    return rule


def _strings(value: Any) -> Optional[str]:
    words = "a set, list or tuple of strings"
    if isinstance(value, (str, bytes)) or not isinstance(value, (set, frozenset, list, tuple)):
        return words
    return None if all(isinstance(item, str) for item in value) else words


def _string_mapping(value: Any) -> Optional[str]:
    words = "a mapping of URL patterns to folders (strings)"
    if not isinstance(value, Mapping):
        return words
    return None if all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()) else words


def _callables(value: Any) -> Optional[str]:
    words = "a list or tuple of functions"
    if not isinstance(value, (list, tuple)) or not all(callable(item) for item in value):
        return words
    return None


def _callable(value: Any) -> Optional[str]:
    return None if callable(value) else "a function"


FLAG = instance(bool, "True or False")
TEXT = instance(str, "a string")
COUNT = whole(1)
SIZE = whole(0)

#: Every option of ``Application(...)`` and ``start(...)``/``make_server(...)``, and the
#: limits of ``naja_atra.http.limits.Limits``, which both take.
OPTION_RULES: dict[str, Rule] = {
    # naja_atra.http.limits.Limits
    "max_header_size": COUNT,
    "max_headers": COUNT,
    "max_body_size": SIZE,
    "spool_threshold": SIZE,
    "body_memory_budget": SIZE,
    "keep_alive_timeout": seconds(),
    "header_timeout": seconds(positive=True),
    "body_timeout": seconds(positive=True),
    "keep_alive_max_requests": SIZE,
    "max_websocket_message": COUNT,
    "max_websocket_fragments": COUNT,
    "websocket_send_buffer": COUNT,
    "write_timeout": seconds(positive=True),
    "max_connections": COUNT,
    "worker_threads": COUNT,
    "min_receive_rate": SIZE,
    "receive_rate_window": seconds(positive=True),
    "max_form_fields": COUNT,
    "max_json_depth": COUNT,
    # Application(...)
    "resources": optional(_string_mapping),
    "gzip_content_types": optional(_strings),
    "gzip_compress_level": optional(whole(0, 9)),
    "gzip_min_size": optional(SIZE),
    "run_sync_in_threadpool": optional(FLAG),
    "threadpool_size": COUNT,
    "websocket_ping_interval": seconds(),
    "websocket_ping_timeout": seconds(positive=True),
    "load_entry_points": FLAG,
    "shutdown_timeout": optional(seconds()),
    "title": TEXT,
    "version": TEXT,
    "description": TEXT,
    "openapi_url": optional(TEXT),
    "docs_url": optional(TEXT),
    "on_startup": _callables,
    "on_shutdown": _callables,
    "lifespan": optional(_callable),
    # start(...) / make_server(...)
    "host": TEXT,
    "port": whole(0, 65535),
    "ssl": FLAG,
    "ssl_protocol": whole(0),
    "ssl_check_hostname": FLAG,
    "keyfile": TEXT,
    "certfile": TEXT,
    "keypass": TEXT,
    "connection_idle_time": optional(seconds()),
    "keep_alive": FLAG,
    "keep_alive_max_request": optional(SIZE),
    "prefer_coroutine": FLAG,
    "handle_signals": FLAG,
}


def check_options(where: str, options: Mapping[str, Any], known: Optional[frozenset[str]] = None) -> None:
    """Raise ``ConfigurationError`` for the first option of ``options`` that is unknown (not
    in ``known``, by default every option of the table) or whose value its rule refuses."""
    names = known if known is not None else frozenset(OPTION_RULES)
    for name, value in options.items():
        if name not in names:
            close = difflib.get_close_matches(name, sorted(names), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigurationError(f"{where}: unknown option {name!r}{hint}")
        rule = OPTION_RULES.get(name)
        problem = rule(value) if rule is not None else None
        if problem:
            raise ConfigurationError(f"{where}: {name}={value!r} is not accepted; expected {problem}")
