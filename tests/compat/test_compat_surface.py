"""The naja-atra 1.x surface kept for code written against it: the 1.x module paths
(``naja_atra.app_conf``, ``naja_atra.models``, ``naja_atra.request_handlers...``),
``get_app_conf`` tags served by ``server.start(app_conf=...)``, 1.x-style ``ModelBinding``
subclasses, and what ``scan()`` does with a module that fails to import.

Servers run on 127.0.0.1 on a port the OS picks; every wait is bounded and every server
started here is stopped.
"""
from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import threading
import traceback
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import naja_atra
import naja_atra.app_conf as app_conf
import naja_atra.models as models
import naja_atra.request_handlers.http_session_local_impl as session_impl
import naja_atra.request_handlers.model_bindings as model_bindings
import naja_atra.utils.logger as logger
from naja_atra import Application, server
from naja_atra.app_conf import AppConf, get_app_conf

from ..support import HOST, STOP_TIMEOUT, WAIT, Client, python_env, serving, wait_until


def unique(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


# -- the 1.x module paths ------------------------------------------------------------------------

#: What naja-atra 1.2.2's ``app_conf`` module defines (its imports are not part of it).
APP_CONF_1X = [
    "AppConf", "controller", "default_model_binding", "error_message", "filter_map", "get_app_conf",
    "model_binding", "request_filter", "request_map", "route", "set_session_factory",
    "websocket_close", "websocket_handler", "websocket_handshake", "websocket_message", "websocket_open",
]

#: What naja-atra 1.2.2's ``models`` module defines, less ``ParamStringValue`` (an
#: implementation base class, not offered here).
MODELS_1X = [
    "DEFAULT_ENCODING", "SESSION_COOKIE_NAME",
    "WEBSOCKET_OPCODE_CONTINUATION", "WEBSOCKET_OPCODE_TEXT", "WEBSOCKET_OPCODE_BINARY",
    "WEBSOCKET_OPCODE_CLOSE", "WEBSOCKET_OPCODE_PING", "WEBSOCKET_OPCODE_PONG",
    "WEBSOCKET_MESSAGE_TEXT", "WEBSOCKET_MESSAGE_BINARY", "WEBSOCKET_MESSAGE_BINARY_FRAME",
    "WEBSOCKET_MESSAGE_PING", "WEBSOCKET_MESSAGE_PONG",
    "HttpSession", "HttpSessionFactory", "Cookies", "Request", "RequestBodyReader", "MultipartFile", "Parameter",
    "PathValue", "Parameters", "ModelDict", "Environment", "RegGroups", "RegGroup", "Header", "JSONBody", "BytesBody",
    "StaticFile", "Response", "HttpError", "Redirect", "Headers", "Cookie", "FilterContext",
    "WebsocketRequest", "WebsocketSession", "WebsocketCloseReason", "WebsocketHandler",
]

ALIAS_MODULES = [
    "naja_atra.app_conf",
    "naja_atra.models",
    "naja_atra.request_handlers",
    "naja_atra.request_handlers.model_bindings",
    "naja_atra.request_handlers.http_session_local_impl",
]


def test_app_conf_module_is_the_application_registry() -> None:
    assert AppConf is Application
    assert sorted(app_conf.__all__) == sorted(APP_CONF_1X)
    for name in APP_CONF_1X:
        if name in ("AppConf", "get_app_conf"):
            continue
        function = getattr(app_conf, name)
        # the default application's own methods, the same ones the facade exports
        assert function.__self__ is naja_atra.default_app, name
        assert function.__func__ is getattr(Application, name), name
        assert function.__func__ is getattr(naja_atra, name).__func__, name
    assert naja_atra.AppConf is AppConf and naja_atra.get_app_conf is get_app_conf


def test_models_module_reexports_the_package_objects() -> None:
    assert sorted(models.__all__) == sorted(MODELS_1X)
    for name in MODELS_1X:
        assert getattr(models, name) is getattr(naja_atra, name), name
    assert models.HttpSession is naja_atra.Session
    assert models.HttpSessionFactory is naja_atra.SessionFactory
    assert models.DEFAULT_ENCODING == "UTF-8"
    # the WebSocket constants keep their 1.x values
    assert (models.WEBSOCKET_OPCODE_TEXT, models.WEBSOCKET_OPCODE_CLOSE) == (0x1, 0x8)
    assert models.WEBSOCKET_MESSAGE_TEXT == "WEBSOCKET_MESSAGE_TEXT"
    assert models.SESSION_COOKIE_NAME == "PY_SIM_HTTP_SER_SESSION_ID"


def test_request_handlers_paths() -> None:
    assert model_bindings.ModelBinding is naja_atra.ModelBinding
    assert model_bindings.__all__ == ["ModelBinding"]
    assert session_impl.LocalSessionFactory is naja_atra.sessions.LocalSessionFactory
    assert session_impl.LocalSessionFactory is naja_atra.LocalSessionFactory
    assert session_impl.__all__ == ["LocalSessionFactory"]
    assert isinstance(session_impl.LocalSessionFactory(), naja_atra.HttpSessionFactory)


def test_logger_path_of_1x() -> None:
    for name in ("get_logger", "get_logger_factory", "set_level", "add_handler", "remove_handler",
                 "set_handler", "set_custom_logger", "LoggerFactory"):
        assert callable(getattr(logger, name)), name


@pytest.mark.parametrize("module", ALIAS_MODULES)
def test_alias_modules_say_what_they_are(module: str) -> None:
    doc = sys.modules[module].__doc__ or ""
    assert "1.x" in doc and "naja_atra/" in doc, module


@pytest.mark.parametrize("module", ALIAS_MODULES)
def test_each_alias_path_imports_first_in_a_fresh_interpreter(module: str) -> None:
    """No import cycle with the facade, whichever module a program imports first."""
    code = f"import {module}, naja_atra; print(naja_atra.get_app_conf() is naja_atra.default_app)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env=python_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


@pytest.mark.parametrize("module", ["naja_atra.http_servers", "naja_atra.request_handlers.http_request_handler",
                                    "naja_atra.request_handlers.http_controller_handler",
                                    "naja_atra.utils.http_utils"])
def test_1x_internals_are_not_offered(module: str) -> None:
    with pytest.raises(ModuleNotFoundError):
        __import__(module)


def test_a_1x_import_block_works() -> None:
    code = "\n".join([
        "from naja_atra import AppConf, get_app_conf, set_session_factory, LocalSessionFactory, DEFAULT_ENCODING",
        "from naja_atra import HttpSessionFactory, WebsocketHandler, route, request_map, server",
        "from naja_atra.app_conf import controller, websocket_handler, error_message",
        "from naja_atra.models import Request, Response, Headers, Cookies, HttpError, StaticFile, Redirect",
        "from naja_atra.models import WebsocketSession, WebsocketCloseReason, WEBSOCKET_MESSAGE_TEXT",
        "from naja_atra.request_handlers.model_bindings import ModelBinding",
        "from naja_atra.request_handlers.http_session_local_impl import LocalSessionFactory as L",
        "from naja_atra.utils.logger import get_logger",
        "import naja_atra.server as srv",
        "assert srv is server and L is LocalSessionFactory",
        "print('ok')",
    ])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env=python_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


# -- get_app_conf ---------------------------------------------------------------------------------


def test_the_empty_tag_is_the_default_application() -> None:
    assert get_app_conf() is naja_atra.default_app
    assert get_app_conf("") is naja_atra.default_app


def test_one_isolated_application_per_tag() -> None:
    a_tag, b_tag = unique("a"), unique("b")
    a = get_app_conf(a_tag)
    assert isinstance(a, AppConf)
    assert get_app_conf(a_tag) is a
    b = get_app_conf(b_tag)
    assert b is not a and b is not naja_atra.default_app

    @a.route(f"/{a_tag}")
    def only_on_a() -> str:
        return "a"

    a_paths = [r.path for r in a.routes()]
    assert f"/{a_tag}" in a_paths
    assert f"/{a_tag}" not in [r.path for r in b.routes()]
    assert all(f"/{a_tag}" != m.route.path for m in naja_atra.default_app.registry.mappings)


def test_get_app_conf_is_thread_safe() -> None:
    tag = unique("race")
    barrier = threading.Barrier(16)
    found: list[Application] = []
    lock = threading.Lock()

    def fetch() -> None:
        barrier.wait(WAIT)
        app = get_app_conf(tag)
        with lock:
            found.append(app)

    threads = [threading.Thread(target=fetch) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert len(found) == 16
    assert all(app is found[0] for app in found)


def tagged_app_with_routes() -> tuple[Application, str]:
    tag = unique("srv")
    app = get_app_conf(tag)

    @app.route("/where")
    def where() -> dict[str, str]:
        return {"app": tag}

    return app, tag


def wait_ready(app: Application, thread: threading.Thread, failures: list[BaseException]) -> int:
    assert wait_until(lambda: server.is_ready(app_conf=app) or not thread.is_alive(), 10), "never ready"
    assert not failures, failures
    assert thread.is_alive()
    assert app.server is not None
    return int(app.server.port)


def test_server_start_serves_the_tagged_application() -> None:
    app, tag = tagged_app_with_routes()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            server.start(host=HOST, port=0, app_conf=app, handle_signals=False)
        except BaseException as error:  # reported to the test
            failures.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        port = wait_ready(app, thread, failures)
        assert server.is_ready()  # what server.start serves, as 1.x's is_ready() said
        client = Client(port)
        reply = client.get("/where")
        assert (reply.status, reply.json()) == (200, {"app": tag})
        assert not naja_atra.default_app.is_ready()  # the default application was not started
        server.stop()  # as in 1.x: stops what server.start serves
        thread.join(STOP_TIMEOUT)
        assert not thread.is_alive(), "server.start did not return after server.stop()"
        assert failures == []
        assert not server.is_ready(app_conf=app)
    finally:
        app.stop()
        thread.join(STOP_TIMEOUT)


def test_server_start_async_serves_the_tagged_application() -> None:
    app, tag = tagged_app_with_routes()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(server.start_async(host=HOST, port=0, app_conf=app, handle_signals=False))
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        port = wait_ready(app, thread, failures)
        reply = Client(port).get("/where")
        assert (reply.status, reply.json()) == (200, {"app": tag})
        server.stop(app_conf=app)
        thread.join(STOP_TIMEOUT)
        assert not thread.is_alive(), "server.start_async did not return after server.stop(app_conf=...)"
        assert failures == []
    finally:
        app.stop()
        thread.join(STOP_TIMEOUT)


def test_app_conf_must_be_an_application() -> None:
    with pytest.raises(TypeError, match="app_conf"):
        server.start(host=HOST, port=0, app_conf="admin")  # type: ignore[arg-type]


# -- ModelBinding subclasses written for 1.x ---------------------------------------------------------


class Person:
    def __init__(self, name: str, how: str) -> None:
        self.name = name
        self.how = how


class Pet:
    def __init__(self, name: str) -> None:
        self.name = name


class Unknown:
    pass


def binding_app() -> Application:
    """A tagged application with 1.x-style bindings, decorated the 1.x way."""
    app = get_app_conf(unique("mb"))

    @app.model_binding(Person)
    class PersonBinding(model_bindings.ModelBinding):
        async def bind(self) -> Any:  # 1.x bindings were async
            name = self.request.parameter.get("name")
            if name is None:
                return None  # a required argument: 400, as in 1.x
            return Person(name, f"async {self.arg_name}:{self.arg_type.__name__}")

    @app.model_binding(Pet)
    class PetBinding(model_bindings.ModelBinding):
        def __init__(self, request: Any, response: Any, arg: str, arg_type: Any, val: Any = None) -> None:
            super().__init__(request, response, arg, arg_type, val)  # 1.x parameter names

        def bind(self) -> Any:
            self.response.set_header("X-Bound", self.arg_name)
            default = self._kws.get("val")
            return Pet(self.request.parameter.get("pet", default.name if default else "none"))

    @app.default_model_binding
    class Fallback(model_bindings.ModelBinding):
        def bind(self) -> Any:
            return f"{self.arg_name}={self.default_value!r}"

    @app.route("/person")
    def person(who: Person, pet: Pet = Pet("rex"), other: Unknown = None) -> dict[str, str]:  # type: ignore[assignment]
        return {"name": who.name, "how": who.how, "pet": pet.name, "other": str(other)}

    @app.route("/pet")
    def pet(pet: Pet) -> str:
        return pet.name

    return app


@pytest.fixture
def binding_client(driver: str) -> Iterator[Client]:
    with serving(binding_app(), driver) as client:
        yield client


def test_a_1x_model_binding_end_to_end(binding_client: Client) -> None:
    reply = binding_client.get("/person?name=ann&pet=tom")
    assert reply.status == 200, reply.text
    assert reply.json() == {"name": "ann", "how": "async who:Person", "pet": "tom", "other": "other=None"}
    assert reply.header("X-Bound") == "pet"
    # the sync binding's default comes from the parameter's default, through 1.x's _kws
    assert binding_client.get("/person?name=bo").json()["pet"] == "rex"
    assert binding_client.get("/pet").text == "none"


def test_a_binding_giving_none_for_a_required_argument_is_a_400(binding_client: Client) -> None:
    reply = binding_client.get("/person")
    assert reply.status == 400
    assert "who" in reply.text


def test_model_binding_attributes_match_1x() -> None:
    request: Any = "req"
    response: Any = "res"
    binding = model_bindings.ModelBinding(request, response, "name", str, "dflt")
    attributes: tuple[Any, ...] = (binding.request, binding.response, binding.arg_name, binding.arg_type,
                                   binding.default_value)
    assert attributes == ("req", "res", "name", str, "dflt")
    assert binding._kws == {"val": "dflt"}
    assert model_bindings.ModelBinding(request, response, "n", str)._kws == {}


# -- scan() with a module that fails to import -----------------------------------------------------


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def collected() -> Iterator[Collect]:
    handler = Collect()
    logger.add_handler(handler)
    try:
        yield handler
    finally:
        logger.remove_handler(handler)


@pytest.fixture
def broken_project(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A project with a package holding one good and one broken controller module."""
    pkg = unique("scanpkg_")
    (tmp_path / pkg).mkdir()
    (tmp_path / pkg / "__init__.py").write_text("")
    (tmp_path / pkg / "good_controller.py").write_text("LOADED = True\n")
    (tmp_path / pkg / "broken_controller.py").write_text(
        "LOADED = True\n\n\ndef explode():\n    raise RuntimeError('boom at import')\n\n\nexplode()\n")
    path_before = list(sys.path)
    yield tmp_path, pkg
    sys.path[:] = path_before
    for name in [m for m in sys.modules if pkg in m]:
        del sys.modules[name]


ScanCall = Callable[..., list[str]]
SCANS: dict[str, ScanCall] = {
    "server.scan": server.scan,
    "Application.scan": lambda *args, **kw: get_app_conf(unique("scan")).scan(*args, **kw),
}


@pytest.mark.parametrize("scan", SCANS.values(), ids=list(SCANS))
def test_scan_logs_a_failing_module_and_goes_on(broken_project: tuple[Path, str], collected: Collect,
                                                 scan: ScanCall) -> None:
    root, pkg = broken_project
    imported = scan(pkg, r".*controller", str(root))  # the default: log, as 1.x did
    assert imported == [f"{pkg}.good_controller"]
    assert sys.modules[f"{pkg}.good_controller"].LOADED is True
    assert f"{pkg}.broken_controller" not in sys.modules
    errors = [r for r in collected.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    record = errors[0]
    message = record.getMessage()
    broken_file = str(root / pkg / "broken_controller.py")
    assert f"{pkg}.broken_controller" in message and broken_file in message
    assert "boom at import" in message
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)
    text = logging.Formatter().format(record)  # the original traceback is in the log
    assert "Traceback" in text and "in explode" in text and broken_file in text


@pytest.mark.parametrize("scan", SCANS.values(), ids=list(SCANS))
def test_scan_raise_names_the_module_and_its_file(broken_project: tuple[Path, str], scan: ScanCall) -> None:
    root, pkg = broken_project
    broken_file = str(root / pkg / "broken_controller.py")
    with pytest.raises(ImportError) as info:
        scan(pkg, r".*controller", str(root), on_error="raise")
    error = info.value
    assert f"{pkg}.broken_controller" in str(error) and broken_file in str(error)
    assert (error.name, error.path) == (f"{pkg}.broken_controller", broken_file)
    assert isinstance(error.__cause__, RuntimeError)
    frames = [frame.f_code.co_name for frame, _ in traceback.walk_tb(error.__cause__.__traceback__)]
    assert "explode" in frames  # the original traceback is kept


@pytest.mark.parametrize("spelling", ["{pkg}/good_controller.py", "{pkg}/good_controller"])
def test_scan_base_dir_may_name_one_module_as_in_1x(broken_project: tuple[Path, str], spelling: str) -> None:
    root, pkg = broken_project
    assert server.scan(spelling.format(pkg=pkg), project_dir=str(root)) == [f"{pkg}.good_controller"]
    assert f"{pkg}.broken_controller" not in sys.modules


def test_scan_missing_folder_logged_or_raised(tmp_path: Path, collected: Collect) -> None:
    assert server.scan("no_such_folder", project_dir=str(tmp_path)) == []
    assert any("no_such_folder" in r.getMessage() for r in collected.records if r.levelno >= logging.ERROR)
    with pytest.raises(FileNotFoundError):
        server.scan("no_such_folder", project_dir=str(tmp_path), on_error="raise")


def test_scan_refuses_an_unknown_on_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="on_error"):
        server.scan(project_dir=str(tmp_path), on_error="ignore")


def cli(project: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "naja_atra", "-s", str(project), "--routes", *extra],
                          capture_output=True, text=True, timeout=60, env=python_env())


def test_cli_scan_errors_option(tmp_path: Path) -> None:
    (tmp_path / "shop_controller.py").write_text(
        "from naja_atra import route\n\n\n@route('/shop')\ndef shop():\n    return 'shop'\n")
    (tmp_path / "broken_controller.py").write_text("import no_such_module_anywhere_42\n")
    logged = cli(tmp_path)
    assert logged.returncode == 0, logged.stderr
    assert "/shop" in logged.stdout
    assert "broken_controller" in logged.stderr and str(tmp_path / "broken_controller.py") in logged.stderr
    assert "no_such_module_anywhere_42" in logged.stderr
    raised = cli(tmp_path, "--scan-errors", "raise")
    assert raised.returncode != 0
    assert "ImportError" in raised.stderr and str(tmp_path / "broken_controller.py") in raised.stderr
