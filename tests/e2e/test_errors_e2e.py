"""Error pages over real sockets (both drivers): ``@error_message`` forms, 500s, JSON default."""
from __future__ import annotations

from typing import Callable

from naja_atra import Application, HttpError, Response

from ..support import Client

Serve = Callable[..., Client]


def _app_with_failures() -> Application:
    app = Application()

    @app.route("/forbidden")
    def forbidden() -> str:
        raise HttpError(403, "Forbidden!", "go away")

    @app.route("/teapot")
    def teapot() -> str:
        raise HttpError(418, "teapot", "short and stout")

    @app.route("/conflict")
    def conflict() -> str:
        raise HttpError(409, "conflict", "edit clash")

    @app.route("/down")
    def down() -> str:
        raise HttpError(503, "down", "maintenance")

    @app.route("/crash")
    def crash() -> str:
        raise ValueError("secret-detail-xyz in /srv/app/db.py")

    @app.route("/returned")
    def returned() -> HttpError:
        return HttpError(409, "conflict", "returned, not raised")

    @app.route("/send-error")
    def send_error(response: Response) -> None:
        response.send_error(401, "who are you", "log in first")

    @app.route("/get-only", method="GET")
    def get_only() -> str:
        return "got"

    return app


def test_error_message_for_listed_codes(serve: Serve) -> None:
    app = _app_with_failures()

    @app.error_message("403", "404")
    def my_40x_page(message: str, explain: str = "") -> str:
        return f"message: {message}, explain: {explain}"

    client = serve(app)
    reply = client.get("/forbidden")
    assert (reply.status, reply.text) == (403, "message: Forbidden!, explain: go away")
    assert reply.header("Content-Type") == "text/html; charset=utf-8"
    reply = client.get("/no/such/page")
    assert reply.status == 404
    assert reply.text.startswith("message: Not Found, explain: ")
    # A code that is not listed gets the default page, not this one.
    reply = client.get("/teapot")
    assert reply.status == 418
    assert not reply.text.startswith("message:")
    assert "teapot" in reply.text


def test_error_message_for_code_ranges(serve: Serve) -> None:
    app = _app_with_failures()

    @app.error_message("40x", "50x")
    def my_error_message(code: int, message: str, explain: str = "") -> str:
        return f"{code}-{message}-{explain}"

    client = serve(app)
    reply = client.get("/conflict")
    assert (reply.status, reply.text) == (409, "409-conflict-edit clash")
    reply = client.get("/missing")
    assert reply.status == 404
    assert reply.text.startswith("404-Not Found-")
    reply = client.get("/down")
    assert (reply.status, reply.text) == (503, "503-down-maintenance")
    reply = client.get("/returned")
    assert (reply.status, reply.text) == (409, "409-conflict-returned, not raised")
    reply = client.get("/send-error")
    assert (reply.status, reply.text) == (401, "401-who are you-log in first")


def test_exact_code_wins_over_range_and_range_over_catch_all(serve: Serve) -> None:
    app = _app_with_failures()

    @app.error_message
    def every(code: int, message: str, explain: str = "") -> str:
        return f"all:{code}"

    @app.error_message("40x")
    def range_page(code: int) -> str:
        return f"range:{code}"

    @app.error_message("403")
    def exact(code: int) -> str:
        return f"exact:{code}"

    client = serve(app)
    assert client.get("/forbidden").text == "exact:403"
    assert client.get("/conflict").text == "range:409"
    # "40x" is 400-409, as in naja-atra 1.2.2: 418 is not in it.
    assert client.get("/teapot").text == "all:418"
    assert client.get("/down").text == "all:503"


def test_a_range_covers_only_its_last_digit(serve: Serve) -> None:
    app = _app_with_failures()

    @app.error_message("40x")
    def range_40(code: int) -> str:
        return f"40x:{code}"

    @app.error_message("41x")
    def range_41(code: int) -> str:
        return f"41x:{code}"

    client = serve(app)
    assert client.get("/forbidden").text == "40x:403"
    assert client.get("/conflict").text == "40x:409"
    assert client.get("/teapot").text == "41x:418"
    assert client.get("/down").status == 503
    assert not client.get("/down").text.startswith("4")


def test_bare_error_message_catches_every_error(serve: Serve) -> None:
    app = _app_with_failures()

    @app.error_message
    def my_error_message(code: int, message: str, explain: str = "") -> str:
        return f"{code}-{message}-{explain}"

    client = serve(app)
    reply = client.get("/missing")
    assert reply.status == 404
    assert reply.text.startswith("404-Not Found-")
    reply = client.post("/get-only", body=b"")
    assert reply.status == 405
    assert reply.text.startswith("405-")
    assert "GET" in [m.strip() for m in (reply.header("Allow") or "").split(",")]
    reply = client.get("/down")
    assert (reply.status, reply.text) == (503, "503-down-maintenance")


def test_error_page_may_return_json_and_a_tuple(serve: Serve) -> None:
    app = _app_with_failures()

    @app.error_message("404")
    def as_json(code: int, message: str) -> dict[str, object]:
        return {"error": code, "message": message}

    @app.error_message("403")
    def as_tuple(code: int) -> tuple[object, ...]:
        from naja_atra import Headers
        return Headers({"X-Error-Page": "tuple"}), f"tuple:{code}"

    client = serve(app)
    reply = client.get("/nowhere")
    assert reply.status == 404
    assert reply.header("Content-Type") == "application/json; charset=utf-8"
    assert reply.json() == {"error": 404, "message": "Not Found"}
    reply = client.get("/forbidden")
    assert (reply.status, reply.text) == (403, "tuple:403")
    assert reply.header("X-Error-Page") == "tuple"


def test_an_exception_in_a_controller_is_a_500_without_the_traceback(serve: Serve) -> None:
    client = serve(_app_with_failures())
    reply = client.get("/crash")
    assert reply.status == 500
    for leak in ("secret-detail-xyz", "Traceback", "ValueError", "db.py", 'File "'):
        assert leak not in reply.text
    # The connection handler survived.
    assert client.get("/get-only").text == "got"


def test_an_exception_reaches_the_500_page_as_internal_server_error(serve: Serve) -> None:
    app = _app_with_failures()

    @app.error_message("500")
    def page(code: int, message: str, explain: str = "") -> str:
        return f"{code}|{message}|{explain}"

    client = serve(app)
    reply = client.get("/crash")
    assert reply.status == 500
    # The application's own page gets the exception's text as ``explain`` (naja-atra 1.2.2);
    # the default page never shows it (test_an_exception_in_a_controller_is_a_500_without_the_traceback).
    assert reply.text == "500|Internal Server Error|secret-detail-xyz in /srv/app/db.py"


def test_the_exception_text_reaches_the_page_html_escaped(serve: Serve) -> None:
    """Exception text may carry request input; a page putting it into HTML stays safe."""
    app = Application()

    @app.route("/reflect")
    def reflect(q: str = "") -> str:
        raise ValueError(f"bad value {q}")

    @app.error_message
    def page(code: int, explain: str = "") -> str:
        return f"<p>{explain}</p>"

    reply = serve(app).get("/reflect?q=%3Cscript%3Ealert(1)%3C/script%3E")
    assert reply.status == 500
    assert reply.text == "<p>bad value &lt;script&gt;alert(1)&lt;/script&gt;</p>"


def test_an_error_page_that_fails_still_answers_with_the_status(serve: Serve) -> None:
    app = _app_with_failures()

    @app.error_message("404")
    def broken(code: int) -> str:
        raise RuntimeError("error-page-bug")

    client = serve(app)
    reply = client.get("/missing")
    assert reply.status == 404
    assert "error-page-bug" not in reply.text
    assert client.get("/get-only").text == "got"


def test_default_error_page_is_json_when_the_client_accepts_json(serve: Serve) -> None:
    client = serve(_app_with_failures())
    reply = client.get("/missing", headers={"Accept": "application/json"})
    assert reply.status == 404
    assert (reply.header("Content-Type") or "").startswith("application/json")
    data = reply.json()
    assert data["code"] == 404
    assert data["message"] == "Not Found"
    reply = client.get("/forbidden", headers={"Accept": "application/json"})
    assert reply.status == 403
    assert reply.json() == {"code": 403, "message": "Forbidden!", "explain": "go away"}
    # A browser (HTML preferred) gets HTML.
    reply = client.get("/missing", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert reply.status == 404
    assert (reply.header("Content-Type") or "").startswith("text/html")
    assert "404" in reply.text


def test_default_error_page_escapes_html(serve: Serve) -> None:
    app = Application()

    @app.route("/xss")
    def xss() -> str:
        raise HttpError(400, "<script>alert(1)</script>", "<img src=x onerror=alert(2)>")

    client = serve(app)
    reply = client.get("/xss")
    assert reply.status == 400
    assert "<script>" not in reply.text
    assert "<img" not in reply.text
    assert "&lt;script&gt;" in reply.text


def test_head_of_a_missing_page_has_no_body(serve: Serve) -> None:
    client = serve(_app_with_failures())
    reply = client.request("HEAD", "/missing")
    assert reply.status == 404
    assert reply.body == b""
