"""``naja_atra.plugins.jinja``: JinjaView results rendered by JinjaPlugin."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

try:
    import jinja2
except ImportError:  # pragma: no cover - depends on the installation
    if os.environ.get("CI"):
        raise
    pytest.skip("the 'jinja2' package is not installed (pip install 'naja_atra[jinja]')", allow_module_level=True)

from naja_atra import Application, Session
from naja_atra.http.errors import ConfigurationError
from naja_atra.plugins.jinja import DEFAULT_PLUGIN_NAME, JinjaPlugin, JinjaView, default_plugin, get_env

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def make_app(plugin: JinjaPlugin) -> Application:
    app = Application(load_entry_points=False)
    app.register(plugin, name="jinja")

    @app.route("/hello")
    def hello(name: str = "world") -> JinjaView:
        return JinjaView("hello.html", {"name": name, "items": ["a", "<b>"]})

    @app.route("/note")
    def note(text: str) -> JinjaView:
        return JinjaView("note.txt", {"text": text}, content_type="text/plain; charset=utf-8")

    @app.route("/created")
    def created() -> JinjaView:
        return JinjaView("hello.html", {"name": "new", "items": []}, status_code=201,
                         headers={"X-Rendered-By": "jinja", "Cache-Control": "no-store"})

    @app.route("/missing")
    def missing() -> JinjaView:
        return JinjaView("nowhere.html")

    @app.route("/broken")
    def broken() -> JinjaView:
        return JinjaView("broken_include.html")

    @app.route("/tuple")
    def in_a_tuple(session: Session) -> Any:
        session.set_attribute("seen", True)
        return JinjaView("hello.html", {"name": session.id[:4], "items": []})

    return app


@pytest.fixture
def client() -> Any:
    with make_app(JinjaPlugin()).test_client() as c:  # templates/ next to this file
        yield c


def test_renders_a_template_with_its_model(client: Any) -> None:
    response = client.get("/hello", params={"name": "Ada"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<h1>Hello, Ada!</h1>" in response.text
    assert "<li>a</li>" in response.text  # an include, from the same folder


def test_html_templates_are_autoescaped(client: Any) -> None:
    response = client.get("/hello", params={"name": "<script>alert(1)</script>"})
    assert "<script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert "<li>&lt;b&gt;</li>" in response.text
    # A .txt template is not escaped (and is sent with the content type the view gives).
    note = client.get("/note", params={"text": "a < b"})
    assert note.text.strip() == "Note: a < b"
    assert note.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_status_and_headers(client: Any) -> None:
    response = client.get("/created")
    assert response.status_code == 201
    assert response.headers["X-Rendered-By"] == "jinja"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Hello, new!" in response.text


def test_non_ascii_is_sent_as_utf8(client: Any) -> None:
    response = client.get("/hello", params={"name": "Zoë 中文"})
    assert "Hello, Zoë 中文!" in response.content.decode("utf-8")


def test_a_missing_template_is_a_logged_500(client: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        response = client.get("/missing")
    assert response.status_code == 500
    assert "TemplateNotFound" in caplog.text
    assert "'nowhere.html' not found in" in caplog.text and str(HERE / "templates") in caplog.text
    with caplog.at_level(logging.ERROR):
        assert client.get("/broken").status_code == 500
    assert "partials/missing.html" in caplog.text


def test_a_custom_environment_through_set_env() -> None:
    plugin = JinjaPlugin()
    app = make_app(plugin)
    plugin.set_env(jinja2.Environment(loader=jinja2.DictLoader({"hello.html": "Hi {{ name }}!"}), autoescape=False))
    with app.test_client() as c:
        assert c.get("/hello", params={"name": "<i>x</i>"}).text == "Hi <i>x</i>!"
    with pytest.raises(ConfigurationError, match="enable_async"):
        plugin.set_env(jinja2.Environment(enable_async=True))
    with pytest.raises(TypeError):
        plugin.set_env("templates")  # type: ignore[arg-type]


def test_an_environment_given_to_the_plugin() -> None:
    env = jinja2.Environment(loader=jinja2.DictLoader({"hello.html": "{{ name }}"}),
                             autoescape=jinja2.select_autoescape())
    plugin = JinjaPlugin(env)
    assert plugin.env is env
    with make_app(plugin).test_client() as c:
        assert c.get("/hello", params={"name": "<b>"}).text == "&lt;b&gt;"


def test_where_templates_are_found(tmp_path: Path) -> None:
    assert JinjaPlugin().templates_folder == str(HERE / "templates")
    assert JinjaPlugin(templates="views").templates_folder == str(HERE / "views")
    assert JinjaPlugin(templates=tmp_path).templates_folder == str(tmp_path)
    (tmp_path / "hello.html").write_text("absolute {{ name }}")
    with make_app(JinjaPlugin(templates=tmp_path)).test_client() as c:
        assert c.get("/hello", params={"name": "yes"}).text == "absolute yes"


def test_views_on_the_asyncio_server() -> None:
    app = make_app(JinjaPlugin())
    app.run_in_thread(host="127.0.0.1", port=0, prefer_coroutine=True)
    try:
        import http.client
        assert app.server is not None
        conn = http.client.HTTPConnection("127.0.0.1", app.server.port, timeout=5)
        conn.request("GET", "/tuple")
        response = conn.getresponse()
        body = response.read().decode()
        conn.close()
        assert response.status == 200 and "Hello, " in body
        assert "PY_SIM_HTTP_SER_SESSION_ID=" in (response.getheader("Set-Cookie") or "")
    finally:
        app.stop()


def test_bad_views() -> None:
    with pytest.raises(TypeError):
        JinjaView("")
    assert repr(JinjaView("a.html")) == "JinjaView('a.html', status_code=200)"


def test_the_default_application_plugin() -> None:
    import naja_atra
    plugin = default_plugin()
    assert naja_atra.default_app.plugin_manager.get_plugin(DEFAULT_PLUGIN_NAME) is plugin
    assert default_plugin() is plugin and get_env() is plugin.env


def test_the_default_application_like_the_original_extension(tmp_path: Path) -> None:
    # In its own process: it changes naja_atra.default_app.
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text("<p>{{ who }}</p>")
    script = tmp_path / "site.py"
    script.write_text(textwrap.dedent("""
        import jinja2
        import naja_atra
        from naja_atra import route
        from naja_atra.plugins.jinja import JinjaView, set_env

        @route("/page")
        def page(who: str):
            return JinjaView("page.html", {"who": who})

        with naja_atra.default_app.test_client() as c:
            print(c.get("/page", params={"who": "<me>"}).text)   # templates/ next to this script
        set_env(jinja2.Environment(loader=jinja2.DictLoader({"page.html": "custom {{ who }}"})))
        with naja_atra.default_app.test_client() as c:
            print(c.get("/page", params={"who": "env"}).text)
    """))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NAJA_ATRA_DISABLE_PLUGIN_AUTOLOAD": "1"}
    result = subprocess.run([sys.executable, str(script)], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["<p>&lt;me&gt;</p>", "custom env"]
