"""Cookies over real sockets (both drivers): ``response.set_cookie`` / ``delete_cookie``, and
session cookies named per application, so two applications on one host keep apart in one
browser cookie jar."""
from __future__ import annotations

import datetime
import http.cookiejar
import urllib.request
from collections.abc import Iterator

import pytest

from naja_atra import SESSION_COOKIE_NAME, Application, Response, Session
from naja_atra.sessions import SessionCookie

from ..support import DRIVERS, WAIT, serving


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest) -> Iterator[str]:
    yield request.param


def _cookie_app() -> Application:
    app = Application(load_entry_points=False)

    @app.get("/set")
    def set_cookies(response: Response) -> str:
        response.set_cookie("theme", "dark", max_age=600, path="/app", domain="example.com", secure=True,
                            httponly=True, samesite="Strict",
                            expires=datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc))
        response.set_cookie("plain", "1")
        response.set_cookie("plain", "2")  # set again: one line, the last value
        response.set_cookie("spaced", "a b;c")
        return "set"

    @app.get("/delete")
    def delete(response: Response) -> str:
        response.delete_cookie("theme", path="/app")
        return "deleted"

    return app


def _set_cookies(headers: list[str]) -> dict[str, dict[str, str]]:
    """``Set-Cookie`` lines by cookie name: the value (key ``""``) and lower-cased attributes."""
    found: dict[str, dict[str, str]] = {}
    for line in headers:
        first, *attributes = line.split("; ")
        name, _, value = first.partition("=")
        assert name not in found, f"{name} set twice"
        found[name] = {"": value}
        for attribute in attributes:
            key, _, text = attribute.partition("=")
            found[name][key.lower()] = text
    return found


def test_set_cookie_sends_every_attribute(driver: str) -> None:
    with serving(_cookie_app(), driver) as client:
        reply = client.get("/set")
    cookies = _set_cookies(reply.headers.get_all("Set-Cookie") or [])
    assert cookies["theme"] == {"": "dark", "max-age": "600", "path": "/app", "domain": "example.com",
                                "secure": "", "httponly": "", "samesite": "Strict",
                                "expires": "Wed, 02 Jan 2030 03:04:05 GMT"}
    assert cookies["plain"] == {"": "2", "path": "/", "samesite": "Lax"}
    assert cookies["spaced"][""] == '"a b\\073c"'  # quoted: a cookie value cannot carry ";" bare


def test_delete_cookie_expires_it(driver: str) -> None:
    with serving(_cookie_app(), driver) as client:
        reply = client.get("/delete")
    theme = _set_cookies(reply.headers.get_all("Set-Cookie") or [])["theme"]
    assert theme[""] in ("", '""')
    assert theme["max-age"] == "0"
    assert theme["expires"] == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert theme["path"] == "/app"


def _login_app(cookie: SessionCookie | None) -> Application:
    app = Application(load_entry_points=False, session_cookie=cookie)

    @app.get("/login")
    def login(user: str, session: Session) -> str:
        session.set_attribute("user", user)
        return "ok"

    @app.get("/whoami")
    def whoami(session: Session) -> str:
        return str(session.get_attribute("user"))

    return app


def _open(opener: urllib.request.OpenerDirector, url: str) -> str:
    with opener.open(url, timeout=WAIT) as answer:
        return str(answer.read().decode())


@pytest.mark.parametrize("names, kept_apart", [(("shop_sid", "admin_sid"), True), ((None, None), False)])
def test_two_apps_on_one_host_share_a_cookie_jar(driver: str, names: tuple[str | None, str | None],
                                                 kept_apart: bool) -> None:
    """A browser keeps one cookie jar per host, whatever the port: with their own session
    cookie names two applications keep their sessions; with the same (default) name the
    second login replaces the first application's cookie."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    apps = [_login_app(SessionCookie(name=name) if name else None) for name in names]
    with serving(apps[0], driver) as shop, serving(apps[1], driver) as admin:
        assert _open(opener, f"{shop.base_url}/login?user=alice") == "ok"
        assert _open(opener, f"{admin.base_url}/login?user=bob") == "ok"
        expected = {cookie.name for cookie in jar}
        assert expected == ({"shop_sid", "admin_sid"} if kept_apart else {SESSION_COOKIE_NAME})
        assert _open(opener, f"{admin.base_url}/whoami") == "bob"
        assert _open(opener, f"{shop.base_url}/whoami") == ("alice" if kept_apart else "None")


def test_session_cookie_attributes_follow_the_setting(driver: str) -> None:
    cookie = SessionCookie(name="sid", path="/", domain="127.0.0.1", secure=True, httponly=False, samesite="Strict")
    with serving(_login_app(cookie), driver) as client:
        reply = client.get("/login?user=carol")
    sid = _set_cookies(reply.headers.get_all("Set-Cookie") or [])["sid"]
    assert {key: value for key, value in sid.items() if key not in ("", "max-age")} == {
        "path": "/", "domain": "127.0.0.1", "secure": "", "samesite": "Strict"}  # no HttpOnly: asked so
