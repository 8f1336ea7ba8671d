"""Jinja2 views: a controller returns ``JinjaView("page.html", {...})`` and gets the rendered page.

Install with ``pip install naja_atra[jinja]`` (the ``jinja2`` package). With your own
application, register the plugin::

    from naja_atra import Application
    from naja_atra.plugins.jinja import JinjaPlugin, JinjaView

    app = Application()
    app.register(JinjaPlugin())              # templates/ next to this file

    @app.route("/hello")
    def hello(name: str = "world"):
        return JinjaView("hello.html", {"name": name})

With the default application (``@route`` and ``server.start()``), importing this module is
enough: it registers a plugin on ``naja_atra.default_app``; ``set_env(env)`` gives it your
own ``jinja2.Environment``, as the original ``naja-atra-jinja`` extension's ``set_env`` did.

Where templates are looked up, unless you pass an ``env``:

* ``JinjaPlugin(templates="templates")``: a relative folder is taken relative to the
  directory of the file whose code creates the plugin (not the working directory, which
  depends on where the server is started from); an absolute one as it is. Code without a
  file (an interactive session) uses the working directory.
* the default application's plugin: ``templates/`` in the project folder given to
  ``python -m naja_atra -s``, else next to the script being run (``__main__``), else in
  the working directory; decided when the first template is loaded.

The default environment escapes values in ``.html``, ``.htm``, ``.xml`` and ``.jinja``
templates (``select_autoescape``; also ``.jinja2`` and ``.j2``, so ``page.html.j2`` is
escaped too) and in templates made from strings; other templates (``.txt``) are not. The
page is sent as ``text/html; charset=utf-8`` unless the view says otherwise, encoded in
UTF-8. A missing template fails the request with a 500 and a logged
``jinja2.TemplateNotFound`` naming the folders searched.

Rendering is synchronous (response converters are plain calls): give ``set_env`` an
environment without ``enable_async``. Templates are compiled once and cached by Jinja;
with ``auto_reload`` (Jinja's default) each render checks the file's modification time.
"""
from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Sequence, Union

from ..hooks.specs import hookimpl
from ..http.errors import ConfigurationError

try:
    import jinja2
except ImportError as _exc:  # pragma: no cover - depends on the installation
    raise ImportError("Jinja views need the jinja2 package: pip install 'naja_atra[jinja]'") from _exc

if TYPE_CHECKING:
    from ..app.application import Application
    from ..app.context import RequestContext
    from ..app.render import Converter

__all__ = [
    "AUTOESCAPE_EXTENSIONS",
    "DEFAULT_CONTENT_TYPE",
    "DEFAULT_PLUGIN_NAME",
    "JinjaPlugin",
    "JinjaView",
    "default_plugin",
    "get_env",
    "set_env",
]

#: The content type of a rendered view, unless the view gives another.
DEFAULT_CONTENT_TYPE = "text/html; charset=utf-8"
#: Template name endings whose output the default environment escapes.
AUTOESCAPE_EXTENSIONS = ("html", "htm", "xml", "jinja", "jinja2", "j2")
#: The name of the plugin this module registers on ``naja_atra.default_app``.
DEFAULT_PLUGIN_NAME = "naja_atra.jinja"


class JinjaView:
    """A page to render: a controller's return value.

    ``template`` is the template's name in the environment's loader, ``model`` the
    variables it sees, ``status_code`` and ``headers`` go to the response (a
    ``Content-Type`` in ``headers`` wins over ``content_type``).
    """

    __slots__ = ("template", "model", "status_code", "headers", "content_type")

    def __init__(self, template: str, model: Optional[Mapping[str, Any]] = None, status_code: int = 200,
                 headers: Optional[Mapping[str, str]] = None, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        if not isinstance(template, str) or not template:
            raise TypeError(f"JinjaView needs a template name, not {template!r}")
        self.template = template
        self.model: dict[str, Any] = dict(model or {})
        self.status_code = status_code
        self.headers: dict[str, str] = dict(headers or {})
        self.content_type = content_type

    def __repr__(self) -> str:
        return f"JinjaView({self.template!r}, status_code={self.status_code})"


def default_environment(folder: str) -> jinja2.Environment:
    """The environment used when none is given: templates from ``folder``, autoescaped by name."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=jinja2.select_autoescape(enabled_extensions=AUTOESCAPE_EXTENSIONS,
                                            default_for_string=True, default=False),
    )


def _caller_dir(depth: int) -> str:
    """The directory of the file whose code is ``depth`` frames up (the working directory if none)."""
    try:
        filename = sys._getframe(depth + 1).f_globals.get("__file__")
    except ValueError:  # pragma: no cover - not that many frames
        filename = None
    if isinstance(filename, str) and filename:
        return os.path.dirname(os.path.abspath(filename))
    return os.getcwd()


def _check_env(env: Any) -> jinja2.Environment:
    if not isinstance(env, jinja2.Environment):
        raise TypeError(f"Expected a jinja2.Environment, not {env!r}")
    if env.is_async:
        raise ConfigurationError("Jinja views render synchronously: use an Environment without enable_async=True")
    return env


class JinjaPlugin:
    """Renders :class:`JinjaView` results (``naja_atra_response_converters``).

    ``env``: your ``jinja2.Environment``; without one, a default environment loads templates
    from ``templates`` (relative to the directory of the file that creates the plugin, see
    the module's documentation) with autoescaping by file name.
    """

    def __init__(self, env: Optional[jinja2.Environment] = None,
                 templates: Union[str, os.PathLike[str]] = "templates", *, _depth: int = 1) -> None:
        self._lock = threading.Lock()
        self._env: Optional[jinja2.Environment] = _check_env(env) if env is not None else None
        folder = os.fspath(templates)
        if os.path.isabs(folder):
            self._folder: Union[str, Callable[[], str]] = folder
        else:
            self._folder = os.path.join(_caller_dir(_depth), folder)

    @property
    def templates_folder(self) -> str:
        """Where the default environment looks for templates."""
        folder = self._folder
        return folder if isinstance(folder, str) else folder()

    @property
    def env(self) -> jinja2.Environment:
        """The environment templates are rendered with (the default one is made at first use)."""
        env = self._env
        if env is None:
            with self._lock:
                if self._env is None:
                    self._env = default_environment(self.templates_folder)
                env = self._env
        return env

    def set_env(self, env: jinja2.Environment) -> None:
        """Render with ``env`` from now on."""
        checked = _check_env(env)
        with self._lock:
            self._env = checked

    def render_to_string(self, view: JinjaView) -> str:
        """The rendered text of ``view``; ``jinja2.TemplateNotFound`` names the folders searched."""
        env = self.env
        try:
            template = env.get_template(view.template)
        except jinja2.TemplateNotFound as exc:
            if exc.name != view.template:  # an {% include %} inside is missing: as Jinja says
                raise
            searched = getattr(env.loader, "searchpath", None)
            where = f" in {', '.join(searched)}" if searched else ""
            raise jinja2.TemplateNotFound(view.template, f"Jinja template {view.template!r} not found{where}") \
                from exc
        return template.render(view.model)

    def render(self, view: JinjaView, ctx: RequestContext) -> None:
        """Converter: the rendered page as the response body, with the view's status and headers."""
        body = self.render_to_string(view).encode("utf-8")
        response = ctx.response
        response.status_code = view.status_code
        response.set_header("Content-Type", view.content_type)
        for name, value in view.headers.items():
            response.set_header(name, value)
        response.body = body

    @hookimpl
    def naja_atra_response_converters(self, app: Application) -> Sequence[tuple[type, Converter]]:
        """``JinjaView`` results are rendered by this plugin."""
        return [(JinjaView, self.render)]

    def __repr__(self) -> str:
        folder = self._folder if isinstance(self._folder, str) else "<project templates/>"
        return f"<JinjaPlugin env={'custom' if self._env is not None else 'default'} templates={folder!r}>"


def _default_app_folder() -> str:
    """``templates/`` of the default application's project (see the module's documentation)."""
    from ..app.default import default_app
    scan = getattr(default_app.cli_args, "scan", None)
    if isinstance(scan, str) and scan:
        base = os.path.abspath(scan)
    else:
        main_file = getattr(sys.modules.get("__main__"), "__file__", None)
        base = os.path.dirname(os.path.abspath(main_file)) if isinstance(main_file, str) else os.getcwd()
    return os.path.join(base, "templates")


_default_lock = threading.Lock()


def default_plugin() -> JinjaPlugin:
    """The plugin registered on ``naja_atra.default_app`` (registered now if it is not)."""
    from ..app.default import default_app
    with _default_lock:
        plugin = default_app.plugin_manager.get_plugin(DEFAULT_PLUGIN_NAME)
        if isinstance(plugin, JinjaPlugin):
            return plugin
        plugin = JinjaPlugin()
        plugin._folder = _default_app_folder
        default_app.register(plugin, name=DEFAULT_PLUGIN_NAME)
        return plugin


def set_env(env: jinja2.Environment) -> None:
    """Render the default application's views with ``env``."""
    default_plugin().set_env(env)


def get_env() -> jinja2.Environment:
    """The environment the default application's views are rendered with."""
    return default_plugin().env


default_plugin()
