"""``Response.set_cookie`` and ``SessionCookie``: what they refuse, and the lines they make."""
from __future__ import annotations

import datetime
from typing import Any

import pytest

from naja_atra import Response
from naja_atra.http.response import header_lines
from naja_atra.sessions import SessionCookie


@pytest.mark.parametrize("name, value, options", [
    ("bad name", "v", {}),
    ("semi;colon", "v", {}),
    ("", "v", {}),
    ("ok", "v", {"samesite": "lax"}),
    ("ok", "v", {"samesite": "None"}),  # None needs secure=True
    ("ok", "v", {"max_age": 1.5}),
    ("ok", "v", {"max_age": True}),
    ("ok", "v", {"expires": datetime.datetime(2030, 1, 1)}),  # naive
    ("ok", "v", {"expires": True}),
    ("ok", "v", {"domain": "a;b"}),
    ("ok", "v", {"path": "/a b"}),
])
def test_set_cookie_refuses(name: str, value: str, options: dict[str, Any]) -> None:
    response = Response()
    with pytest.raises(ValueError):
        response.set_cookie(name, value, **options)
    assert "ok" not in response.cookies  # nothing half-set


def test_samesite_none_with_secure_and_no_samesite() -> None:
    response = Response()
    response.set_cookie("a", "1", samesite="None", secure=True)
    response.set_cookie("b", "2", samesite=None, path=None)
    lines = [value for _, value in header_lines(response.headers, response.cookies)]
    assert lines == ["a=1; Path=/; SameSite=None; Secure", "b=2"]


def test_expires_in_seconds_is_an_http_date() -> None:
    response = Response()
    response.set_cookie("a", "1", expires=3600)
    expires = response.cookies["a"]["expires"]
    parsed = datetime.datetime.strptime(expires, "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=datetime.timezone.utc)
    delta = parsed - datetime.datetime.now(datetime.timezone.utc)
    assert 3500 < delta.total_seconds() <= 3601


@pytest.mark.parametrize("options", [
    {"name": "bad name"},
    {"path": "/a;b"},
    {"domain": "a b"},
    {"samesite": "lax"},
    {"samesite": "None"},
    {"samesite": "None", "secure": None},
])
def test_session_cookie_setting_refuses(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        SessionCookie(**options)


def test_session_cookie_secure_follows_tls_unless_set() -> None:
    assert SessionCookie().attributes(60, tls=False) == "; Path=/; HttpOnly; SameSite=Lax; Max-Age=60"
    assert SessionCookie().attributes(None, tls=True) == "; Path=/; HttpOnly; SameSite=Lax; Secure"
    assert SessionCookie(secure=False).attributes(None, tls=True) == "; Path=/; HttpOnly; SameSite=Lax"
    assert SessionCookie(secure=True, samesite=None, httponly=False, domain="example.com").attributes(
        0, tls=False) == "; Path=/; Domain=example.com; Max-Age=0; Secure"
