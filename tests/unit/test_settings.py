"""Every option of ``Application(...)`` and ``start(...)`` is checked when given: one
``ConfigurationError`` naming the option, the value and what is accepted."""
from __future__ import annotations

from typing import Any

import pytest

from naja_atra import Application, ConfigurationError
from naja_atra.app.settings import OPTION_RULES
from naja_atra.http.limits import Limits

# A value each rule refuses, and one it accepts, by the kind of rule.
_BAD_AND_GOOD: dict[str, tuple[list[Any], Any]] = {
    "whole": (["10", 1.5, True, -1, None], 8),
    "seconds": (["5", True, -1, float("nan"), float("inf"), None], 2.5),
    "flag": ([1, "yes", None], True),
    "text": ([1, None, b"x"], "x"),
}
_KINDS = {
    **{name: "whole" for name in ("max_header_size", "max_headers", "max_body_size", "spool_threshold",
                                  "body_memory_budget", "keep_alive_max_requests", "max_websocket_message",
                                  "max_websocket_fragments", "websocket_send_buffer", "max_connections",
                                  "worker_threads", "min_receive_rate", "max_form_fields", "max_json_depth",
                                  "threadpool_size")},
    **{name: "seconds" for name in ("keep_alive_timeout", "header_timeout", "body_timeout", "write_timeout",
                                    "receive_rate_window", "websocket_ping_interval", "websocket_ping_timeout")},
    **{name: "flag" for name in ("load_entry_points", "ssl", "ssl_check_hostname", "keep_alive", "prefer_coroutine")},
    **{name: "text" for name in ("title", "version", "description", "host", "keyfile", "certfile", "keypass")},
}
_APPLICATION_ONLY = {"threadpool_size", "websocket_ping_interval", "websocket_ping_timeout", "load_entry_points",
                     "title", "version", "description"}
_START_ONLY = {"host", "ssl", "ssl_check_hostname", "keyfile", "certfile", "keypass", "keep_alive",
               "prefer_coroutine"}
_LIMITS = set(Limits.__dataclass_fields__)


def _refused(name: str) -> list[tuple[str, Any]]:
    bad, _ = _BAD_AND_GOOD[_KINDS[name]]
    return [(name, value) for value in bad]


def _application(**options: Any) -> Application:
    return Application(load_entry_points=False, **options) if "load_entry_points" not in options else (
        Application(**options))


@pytest.mark.parametrize("name, value", [case for name in sorted(_KINDS) if name not in _START_ONLY
                                         for case in _refused(name)])
def test_application_refuses(name: str, value: Any) -> None:
    with pytest.raises(ConfigurationError) as info:
        _application(**{name: value})
    message = str(info.value)
    assert message.startswith(f"Application(): {name}={value!r} is not accepted; expected ")


@pytest.mark.parametrize("name, value", [case for name in sorted(_KINDS) if name not in _APPLICATION_ONLY
                                         for case in _refused(name)])
def test_start_refuses(name: str, value: Any) -> None:
    app = _application()
    with pytest.raises(ConfigurationError) as info:
        app.make_server(**{name: value})
    assert str(info.value).startswith(f"start(): {name}={value!r} is not accepted; expected ")
    assert app.server is None  # refused before anything was bound


@pytest.mark.parametrize("name", sorted(_KINDS))
def test_accepted_values_pass_the_rules(name: str) -> None:
    _, good = _BAD_AND_GOOD[_KINDS[name]]
    assert OPTION_RULES[name](good) is None


@pytest.mark.parametrize("options, words", [
    ({"port": 70000}, "port=70000 is not accepted; expected a whole number from 0 to 65535"),
    ({"port": -1}, "port=-1 is not accepted"),
    ({"port": "23260"}, "port='23260' is not accepted"),
    ({"gzip_compress_level": 10}, "gzip_compress_level=10 is not accepted; expected None or a whole number from 0"),
    ({"gzip_content_types": "text/html"}, "expected None or a set, list or tuple of strings"),
    ({"gzip_content_types": ["text/html", 3]}, "expected None or a set, list or tuple of strings"),
    ({"resources": {"/s/**": 3}}, "expected None or a mapping of URL patterns to folders"),
    ({"shutdown_timeout": -1}, "shutdown_timeout=-1 is not accepted"),
    ({"connection_idle_time": "5"}, "connection_idle_time='5' is not accepted"),
    ({"ssl_context": "yes"}, "ssl_context='yes' is not accepted; expected an ssl.SSLContext"),
    ({"max_bodysize": 1}, "unknown option 'max_bodysize'; did you mean 'max_body_size'?"),
    ({"frobnicate": 1}, "unknown option 'frobnicate'"),
])
def test_start_messages(options: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        _application().make_server(**options)
    assert words in str(info.value)


def test_application_unknown_option_and_session_cookie() -> None:
    with pytest.raises(ConfigurationError, match="unknown option 'keep_alive'"):
        Application(keep_alive=False)  # a start() option, not an application's
    with pytest.raises(ConfigurationError, match="session_cookie='sid' is not accepted"):
        Application(session_cookie="sid")  # type: ignore[arg-type]


def test_every_limit_has_a_rule() -> None:
    assert _LIMITS <= set(OPTION_RULES)
