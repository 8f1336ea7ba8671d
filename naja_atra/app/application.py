"""``Application``: the registration API, the plugin host, the build, and start/stop."""
from __future__ import annotations

import argparse
import contextlib
import ssl as _ssl
import threading
import time
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncIterator,
    Callable,
    Iterator,
    Mapping,
    Optional,
    Sequence,
    TypeVar,
    Union,
    overload,
)

from ..hooks.calls import Hooks
from ..hooks.entrypoints import EntryPointPlugin, selected_plugins
from ..hooks.manager import AppPluginManager
from ..http.errors import ConfigurationError
from ..http.finalize import GzipPolicy
from ..http.json_codec import DEFAULT_JSON_CODEC
from ..http.limits import Limits
from ..http.spool import BodyBudget
from ..injection.model_binding import ModelBindingRegistry
from ..plugins import BUILTIN_PLUGINS
from ..servers.common import Server
from ..servers.config import ServerConfig
from ..servers.shutdown import DEFAULT_SHUTDOWN_TIMEOUT, stop_on_signals, stop_on_signals_async, stop_server
from ..servers.tls import make_ssl_context
from ..sessions import SessionCookie, SessionFactory
from ..utils.logger import get_logger
from ..utils.scan import scan as _scan
from ..utils.workers import WorkerPool
from ..websocket.session import OpenSessions
from .filtering import CompiledFilter, RouteFilters
from .invoke import compile_call
from .lifecycle import Lifecycle, LifespanFactory
from .pipeline import Dispatcher, RouteEntry
from .registrar import Registrar
from .render import Renderer
from .routes import Route, Router
from .settings import check_options
from .urls import UrlIndex

if TYPE_CHECKING:
    from ..adapters.asgi import AsgiAdapter, Receive, Scope, Send
    from ..adapters.wsgi import WsgiAdapter
    from ..testing import TestClient

_log = get_logger("naja_atra.app")
F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C", bound=type)
_LIMIT_NAMES = frozenset(Limits.__dataclass_fields__)
_APPLICATION_OPTIONS = _LIMIT_NAMES | {
    "resources", "gzip_content_types", "gzip_compress_level", "gzip_min_size", "run_sync_in_threadpool",
    "threadpool_size", "websocket_ping_interval", "websocket_ping_timeout", "load_entry_points",
    "shutdown_timeout", "title", "version", "description", "openapi_url", "docs_url", "on_startup", "on_shutdown",
    "lifespan"}
_START_OPTIONS = _LIMIT_NAMES | {
    "host", "port", "ssl", "ssl_protocol", "ssl_check_hostname", "keyfile", "certfile", "keypass", "resources",
    "connection_idle_time", "keep_alive", "keep_alive_max_request", "gzip_content_types", "gzip_compress_level",
    "gzip_min_size", "prefer_coroutine", "shutdown_timeout", "run_sync_in_threadpool"}


def _limits(base: Limits, options: Mapping[str, Any]) -> Limits:
    unknown = set(options) - _LIMIT_NAMES
    if unknown:
        raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}")
    values = {name: getattr(base, name) for name in _LIMIT_NAMES}
    values.update(options)
    return Limits(**values)


class Application(Registrar):
    """An isolated web application: its own routes, filters, error pages, sessions,
    plugins and server.

    Everything that decides how a request is served is a plugin registered in
    ``plugin_manager``; the built-in ones (``naja_atra.routing``, ``naja_atra.resolvers``,
    ...) run last, so a plugin of yours that implements the same hook wins.

    ``load_entry_points``: register the installed plugins of the ``naja_atra`` entry-point
    group at the first build (see ``naja_atra.entrypoints`` for the environment controls).

    ``run_sync_in_threadpool``: on the asyncio server and under ASGI, run plain (non-async)
    controllers in a pool of at most ``threadpool_size`` daemon threads (the default, as Starlette
    does): a controller that blocks (sleep, a synchronous database call) then holds one
    pool thread, not the event loop. ``False`` runs them inline on the loop, which is
    faster for controllers that never block, but one that blocks then stalls every other
    connection of that server for as long as it blocks (and a stop cannot cut it short).
    Also a ``start()`` option.

    ``shutdown_timeout``: seconds in-flight requests get to finish when SIGTERM/SIGINT stop
    a server started with ``start()``/``start_async()`` (see ``naja_atra.shutdown``).

    ``gzip_min_size``: bodies (and static files) under this many bytes are sent as they
    are even when their type is in ``gzip_content_types``; 0 (the default) compresses every
    non-empty one, as naja-atra 1.2.2 did. Also a ``start()`` option.

    The registration decorators (``route``, ``get``, ``post``, ..., ``controller``,
    ``request_filter``, ``error_message``, ``websocket_*``, ``include`` of a ``RouteGroup``)
    are those of ``naja_atra.app.registrar.Registrar``; ``url_for`` builds a named route's URL.

    ``title``, ``version``, ``description``: the OpenAPI document's ``info`` (``openapi()``).
    ``openapi_url``, ``docs_url``: where the application serves its OpenAPI document and a
    page that renders it; None (the default) serves neither.

    ``session_cookie``: the session cookie's name and attributes (``SessionCookie``).
    """

    def __init__(
        self,
        *,
        resources: Optional[Mapping[str, str]] = None,
        gzip_content_types: Union[set[str], frozenset[str], tuple[str, ...], list[str]] = (),
        gzip_compress_level: int = 9,
        gzip_min_size: int = 0,
        run_sync_in_threadpool: bool = True,
        threadpool_size: int = 64,
        websocket_ping_interval: float = 0.0,
        websocket_ping_timeout: float = 20.0,
        load_entry_points: bool = True,
        shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT,
        title: str = "naja_atra application",
        version: str = "0.1.0",
        description: str = "",
        openapi_url: Optional[str] = None,
        docs_url: Optional[str] = None,
        session_cookie: Optional[SessionCookie] = None,
        on_startup: Sequence[Callable[[], Any]] = (),
        on_shutdown: Sequence[Callable[[], Any]] = (),
        lifespan: Optional[LifespanFactory] = None,
        **limits: Any,
    ) -> None:
        check_options("Application()", dict(
            resources=resources, gzip_content_types=gzip_content_types, gzip_compress_level=gzip_compress_level,
            gzip_min_size=gzip_min_size, run_sync_in_threadpool=run_sync_in_threadpool,
            threadpool_size=threadpool_size, websocket_ping_interval=websocket_ping_interval,
            websocket_ping_timeout=websocket_ping_timeout, load_entry_points=load_entry_points,
            shutdown_timeout=shutdown_timeout, title=title, version=version, description=description,
            openapi_url=openapi_url, docs_url=docs_url, on_startup=on_startup, on_shutdown=on_shutdown,
            lifespan=lifespan, **limits), _APPLICATION_OPTIONS)
        if session_cookie is not None and not isinstance(session_cookie, SessionCookie):
            raise ConfigurationError(f"Application(): session_cookie={session_cookie!r} is not accepted; "
                                     "expected a naja_atra.sessions.SessionCookie")
        super().__init__()
        self._dispatcher: Optional[Dispatcher] = None
        self.shutdown_timeout = shutdown_timeout
        self._generation = 0
        self.plugin_manager = AppPluginManager(self._changed)
        for name, plugin in BUILTIN_PLUGINS:
            self.plugin_manager.register(plugin, name=name)
        #: The hooks of ``plugin_manager`` with their declared types (``app.hooks.make_resolver(...)``).
        self.hooks = Hooks(self.plugin_manager)
        self.load_entry_points = load_entry_points
        self.entry_point_plugins: list[EntryPointPlugin] = []
        #: Parsed command-line arguments when started by ``python -m naja_atra``.
        self.cli_args: Optional[argparse.Namespace] = None
        self.resources: dict[str, str] = dict(resources or {})
        self.gzip_content_types = frozenset(gzip_content_types)
        self.gzip_compress_level = gzip_compress_level
        self.gzip_min_size = gzip_min_size
        self.run_sync_in_threadpool = run_sync_in_threadpool
        self.threadpool_size = threadpool_size
        #: Seconds between server pings on idle WebSocket connections (0: none), and how long
        #: a pong may take before the connection is dropped as dead.
        self.websocket_ping_interval = websocket_ping_interval
        self.websocket_ping_timeout = websocket_ping_timeout
        self.limits = _limits(Limits(), limits)
        #: Memory of buffered request bodies across this application's requests.
        self.body_budget = BodyBudget(self.limits.body_memory_budget)
        self.session_factory: Optional[SessionFactory] = None
        self._lock = threading.RLock()
        self._configured = False
        self._executor: Optional[WorkerPool] = None
        self.server: Optional[Server] = None
        #: The open WebSocket sessions of this application (for broadcasts and shutdown).
        self.websocket_sessions = OpenSessions()
        #: ``@model_binding`` / ``@default_model_binding`` classes (read by ``naja_atra.resolvers``).
        self.model_bindings = ModelBindingRegistry(self._changed)
        #: Provider replacements active under ``override`` (read when resolvers are built).
        self.dependency_overrides: dict[Callable[..., Any], Callable[..., Any]] = {}
        self._urls: Optional[tuple[Router, UrlIndex]] = None
        self._asgi: Optional[AsgiAdapter] = None
        self._wsgi: Optional[WsgiAdapter] = None
        self.title = title
        self.version = version
        self.description = description
        self.openapi_url = openapi_url
        self.docs_url = docs_url
        #: The session cookie's name and attributes (naja-atra 1.x's name by default).
        self.session_cookie = session_cookie or SessionCookie()
        #: Startup and shutdown callbacks and the ``lifespan`` context (``naja_atra.app.lifecycle``).
        self.lifecycle = Lifecycle()
        self.lifecycle.startup.extend(on_startup)
        self.lifecycle.shutdown.extend(on_shutdown)
        self.lifecycle.lifespan = lifespan

    # -- registration ------------------------------------------------------------------
    def _changed(self) -> None:
        """A registration after a build: rebuild before the next request."""
        self._generation += 1
        self._dispatcher = None

    def register(self, plugin: object, name: Optional[str] = None) -> Optional[str]:
        """Register a plugin (a module or object with ``naja_atra_*`` hook implementations)."""
        return self.plugin_manager.register(plugin, name=name)

    @contextlib.contextmanager
    def override(self, provider: Callable[..., Any], replacement: Callable[..., Any]) -> Iterator[None]:
        """Within the block, inject ``replacement`` wherever ``provider`` is depended on
        (for tests). The application is rebuilt on entry and exit, so requests pay nothing
        for overrides."""
        previous = self.dependency_overrides.get(provider)
        self.dependency_overrides[provider] = replacement
        self._changed()
        try:
            yield
        finally:
            if previous is None:
                self.dependency_overrides.pop(provider, None)
            else:
                self.dependency_overrides[provider] = previous
            self._changed()

    def model_binding(self, arg_type: Any) -> Callable[[C], C]:
        """Resolve parameters of type ``arg_type`` with a ``ModelBinding`` class; it wins over
        the built-in kinds."""
        return self.model_bindings.model_binding(arg_type)

    @overload
    def default_model_binding(self, __cls: C) -> C: ...

    @overload
    def default_model_binding(self) -> Callable[[C], C]: ...

    def default_model_binding(self, __cls: Any = None) -> Any:
        """The ``ModelBinding`` class for parameters no other kind claims (bare or called)."""
        if __cls is not None:
            return self.model_bindings.default_model_binding(__cls)
        return self.model_bindings.default_model_binding()

    def set_session_factory(self, factory: SessionFactory) -> None:
        """Store sessions with ``factory`` instead of in local memory."""
        self.session_factory = factory
        self._changed()

    # -- build -------------------------------------------------------------------------
    @property
    def dispatcher(self) -> Dispatcher:
        """The built request path (built on first use, rebuilt after a new registration)."""
        dispatcher = self._dispatcher
        if dispatcher is None:
            dispatcher = self.build()
        return dispatcher

    def build(self) -> Dispatcher:
        """Ask the plugins for router, resolvers, filters, converters and session factory."""
        with self._lock:
            if self._dispatcher is not None:
                return self._dispatcher
            hooks = self.hooks
            generation = self._generation
            if not self._configured:
                self._configured = True
                self.load_entry_point_plugins()
                hooks.configure(self)
                generation = self._generation
            self.plugin_manager.check_hooks()
            routes = self._registry.routes()
            for route in routes:
                try:
                    hooks.route_added(self, route)
                except ConfigurationError:
                    raise
                except Exception as exc:
                    raise ConfigurationError(f"Route {route.describe().strip()} rejected: {exc}") from exc
            router = hooks.make_router(self, routes)
            if router is None:
                raise ConfigurationError("No plugin provided a router (is naja_atra.routing blocked?)")
            filters = [CompiledFilter(spec) for spec in hooks.request_filters(self)]
            entries: dict[Any, RouteEntry] = {}
            for route in router.table():
                call = compile_call(route, lambda r, p: hooks.make_resolver(self, r, p))
                body_limit = getattr(route, "max_body_size", None)  # a custom router may add its own routes
                if body_limit is None:
                    body_limit = self.limits.max_body_size
                entries[route] = RouteEntry(call, RouteFilters(route, filters), hooks.wrap_handler(self, route),
                                            body_limit)
            sessions = hooks.make_session_factory(self)
            if sessions is None:
                raise ConfigurationError("No plugin provided a session factory")
            if self.run_sync_in_threadpool and self._executor is None:
                self._executor = WorkerPool(self.threadpool_size, "naja_atra-sync")
            dispatcher = Dispatcher(
                self, router, entries, Renderer(hooks.response_converters(self)), sessions,
                GzipPolicy(self.gzip_content_types, self.gzip_compress_level, self.gzip_min_size), self._executor,
                self.body_budget, hooks.json_codec(self) or DEFAULT_JSON_CODEC, hooks.response_hooks(self))
            # A registration from another thread during this build leaves it to be rebuilt.
            self._dispatcher = dispatcher if self._generation == generation else None
            return dispatcher

    def load_entry_point_plugins(self) -> None:
        """Register the installed ``naja_atra`` entry-point plugins the environment allows
        (done by the first build; the CLI does it before building its parser, so that their
        command-line options exist). Idempotent."""
        if not self.load_entry_points:
            return
        chosen, blocked = selected_plugins()
        for name in blocked:
            self.plugin_manager.set_blocked(name)
        for found in chosen:
            if not self.plugin_manager.has_plugin(found.name) and not self.plugin_manager.is_blocked(found.name):
                self.plugin_manager.register(found.plugin, name=found.name)
        self.entry_point_plugins = chosen
        self._dispatcher = None

    def test_client(self, **options: Any) -> TestClient:
        """An in-process client driving this application without a socket (see
        ``naja_atra.testing.TestClient`` for the options)."""
        from ..testing import TestClient
        return TestClient(self, **options)

    @property
    def asgi(self) -> AsgiAdapter:
        """This application as an ASGI 3 application (see ``naja_atra.adapters.asgi``)."""
        adapter = self._asgi
        if adapter is None:
            from ..adapters.asgi import AsgiAdapter
            adapter = self._asgi = AsgiAdapter(self)
        return adapter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve an ASGI ``http``, ``websocket`` or ``lifespan`` scope: the application is an
        ASGI 3 app, so ``uvicorn my_module:app`` serves it."""
        await self.asgi(scope, receive, send)

    @property
    def wsgi(self) -> WsgiAdapter:
        """This application as a PEP 3333 WSGI callable, made on first use (see
        ``naja_atra.adapters.wsgi``): put ``wsgi_app = app.wsgi`` in a module and run, for instance,
        ``gunicorn "module:wsgi_app"``. WebSocket endpoints need ``start()`` or ASGI."""
        adapter = self._wsgi
        if adapter is None:
            from ..adapters.wsgi import WsgiAdapter
            with self._lock:
                if self._wsgi is None:
                    self._wsgi = WsgiAdapter(self)
                adapter = self._wsgi
        return adapter

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document of this application's routes (built on each call)."""
        from ..openapi import build_document  # loaded only by applications that describe themselves

        return build_document(self)

    def routes(self) -> list[Route]:
        """The route table, in the order the router tries it."""
        return self.build().router.table()

    def url_for(self, name: str, /, **values: Any) -> str:
        """The path of the route named ``name`` (``name=`` on ``@route``, else the function's
        ``__name__`` or ``Class.method``, after its groups' names: ``users.show``), its
        ``{value}`` segments filled from ``values`` (``str``, percent-encoded), the other
        values in the query string (lists as repeated keys, None left out).

        Raises ``UrlBuildError`` (a ``LookupError``) for an unknown name, a name shared by
        different routes, a missing value, a value that cannot be a path segment, or a route
        with a wildcard or a regexp. Builds the application if needed.
        """
        router = self.dispatcher.router
        cached = self._urls
        if cached is None or cached[0] is not router:
            cached = self._urls = (router, UrlIndex(router.table()))
        return cached[1].build(name, values)

    # -- serving -----------------------------------------------------------------------
    def scan(self, base_dir: str = "", regx: str = r"", project_dir: str = "", *,
             on_error: str = "log") -> list[str]:
        """Import the controller modules below ``project_dir``/``base_dir`` matching ``regx``;
        the names imported without error (see ``naja_atra.utils.scan``).

        ``on_error="log"`` (the default, as in naja-atra 1.x): a module that fails to import
        is logged with its file and traceback and skipped, a missing folder is logged.
        ``on_error="raise"``: an ``ImportError`` naming the module and its file, chained to
        the original error (``FileNotFoundError`` for a missing folder).
        """
        return _scan(base_dir, regx, project_dir, on_error=on_error)

    def make_server(
        self,
        host: str = "",
        port: int = 9090,
        ssl: bool = False,
        ssl_protocol: int = _ssl.PROTOCOL_TLS_SERVER,
        ssl_check_hostname: bool = False,
        keyfile: str = "",
        certfile: str = "",
        keypass: str = "",
        ssl_context: Optional[_ssl.SSLContext] = None,
        resources: Optional[Mapping[str, str]] = None,
        connection_idle_time: Optional[float] = None,
        keep_alive: bool = True,
        keep_alive_max_request: Optional[int] = None,
        gzip_content_types: Optional[Union[set[str], frozenset[str], list[str], tuple[str, ...]]] = None,
        gzip_compress_level: Optional[int] = None,
        gzip_min_size: Optional[int] = None,
        prefer_coroutine: bool = False,
        shutdown_timeout: Optional[float] = None,
        run_sync_in_threadpool: Optional[bool] = None,
        **limits: Any,
    ) -> Server:
        """The server ``start`` would run, built and bound but not yet serving."""
        check_options("start()", dict(
            host=host, port=port, ssl=ssl, ssl_protocol=ssl_protocol, ssl_check_hostname=ssl_check_hostname,
            keyfile=keyfile, certfile=certfile, keypass=keypass, resources=resources,
            connection_idle_time=connection_idle_time, keep_alive=keep_alive,
            keep_alive_max_request=keep_alive_max_request, gzip_content_types=gzip_content_types,
            gzip_compress_level=gzip_compress_level, gzip_min_size=gzip_min_size,
            prefer_coroutine=prefer_coroutine, shutdown_timeout=shutdown_timeout,
            run_sync_in_threadpool=run_sync_in_threadpool, **limits), _START_OPTIONS)
        if ssl_context is not None and not isinstance(ssl_context, _ssl.SSLContext):
            raise ConfigurationError(
                f"start(): ssl_context={ssl_context!r} is not accepted; expected an ssl.SSLContext")
        if run_sync_in_threadpool is not None:
            self.run_sync_in_threadpool = run_sync_in_threadpool
        if resources:
            self.resources.update(resources)
        if gzip_content_types is not None:
            self.gzip_content_types = frozenset(gzip_content_types)
        if gzip_compress_level is not None:
            self.gzip_compress_level = gzip_compress_level
        if gzip_min_size is not None:
            self.gzip_min_size = gzip_min_size
        if shutdown_timeout is not None:
            self.shutdown_timeout = shutdown_timeout
        options = dict(limits)
        if connection_idle_time is not None:
            options.setdefault("keep_alive_timeout", connection_idle_time)
        if not keep_alive:
            options["keep_alive_max_requests"] = 1
        elif keep_alive_max_request:
            options.setdefault("keep_alive_max_requests", keep_alive_max_request)
        self.limits = _limits(self.limits, options)
        self.body_budget.limit = self.limits.body_memory_budget
        if ssl_context is None and ssl:
            ssl_context = make_ssl_context(ssl_protocol=ssl_protocol, ssl_check_hostname=ssl_check_hostname,
                                           keyfile=keyfile, certfile=certfile, keypass=keypass)
        self._changed()
        self.build()
        config = ServerConfig(host=host, port=port, ssl_context=ssl_context, limits=self.limits,
                              prefer_coroutine=prefer_coroutine, shutdown_timeout=self.shutdown_timeout)
        server = self.hooks.make_server(self, config)
        if server is None:
            raise ConfigurationError("No plugin provided a server")
        server.bind()
        self.server = server
        return server

    def on_startup(self, func: F) -> F:
        """Decorator: run ``func()`` (sync or async) when a server starts, before it serves
        (see ``naja_atra.app.lifecycle`` for the order and for failures)."""
        self.lifecycle.add(self.lifecycle.startup, func, "@on_startup")
        return func

    def on_shutdown(self, func: F) -> F:
        """Decorator: run ``func()`` (sync or async) when the server has stopped serving."""
        self.lifecycle.add(self.lifecycle.shutdown, func, "@on_shutdown")
        return func

    @contextlib.contextmanager
    def lifespan(self) -> Iterator[None]:
        """Enter every plugin's lifespan context, then the application's own startup
        (``lifespan=``, ``on_startup``); leave them in reverse order. For drivers without an
        event loop to share: async steps run on a private loop."""
        with contextlib.ExitStack() as stack:
            for cm in self.hooks.lifespan(self):
                stack.enter_context(cm)
            if not self.lifecycle.empty:
                stack.enter_context(self.lifecycle.run_sync(self))
            yield
        self._after_lifespan()

    @contextlib.asynccontextmanager
    async def lifespan_async(self) -> AsyncIterator[None]:
        """``lifespan()`` on the running event loop (the asyncio server's ``start_async``,
        ASGI servers): async startup and shutdown steps share the loop that serves."""
        async with contextlib.AsyncExitStack() as stack:
            for cm in self.hooks.lifespan(self):
                stack.enter_context(cm)
            if not self.lifecycle.empty:
                await stack.enter_async_context(self.lifecycle.run_async(self))
            yield
        self._after_lifespan()

    def _after_lifespan(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None
            self._changed()

    def start(self, host: str = "", port: int = 9090, *, handle_signals: bool = True, **options: Any) -> None:
        """Serve until ``stop()``, SIGTERM or SIGINT (blocks). Options are those of the original
        ``server.start``, ``shutdown_timeout``, plus the limits of
        ``naja_atra.http.limits.Limits`` by name.

        On the main thread (unless ``handle_signals=False``) SIGTERM and SIGINT stop the
        server gracefully: the port closes, WebSocket sessions are closed with 1001,
        in-flight requests get ``shutdown_timeout`` seconds to finish, then the lifespan
        contexts are exited. A second signal stops at once. The previous handlers are
        restored on return.
        """
        server = self.make_server(host, port, **options)
        self._announce(server)
        with self._released_on_failure(server), self.lifespan():
            signals: contextlib.AbstractContextManager[bool] = (
                stop_on_signals(server, self.websocket_sessions) if handle_signals
                else contextlib.nullcontext(False))
            with signals:
                try:
                    server.serve_forever()
                except KeyboardInterrupt:  # Ctrl-C with handle_signals=False, or off the main thread
                    server.shutdown()

    async def start_async(self, host: str = "", port: int = 9090, *, handle_signals: bool = True,
                          **options: Any) -> None:
        """Serve inside the running event loop until ``stop()``, SIGTERM or SIGINT.

        When the loop runs on the main thread (unless ``handle_signals=False``) the signals
        stop the server gracefully as with ``start()``, through ``loop.add_signal_handler``;
        the previous handlers are restored on return.
        """
        server = self.make_server(host, port, **options)
        self._announce(server)
        with self._released_on_failure(server):
            await self._serve_async(server, handle_signals)

    async def _serve_async(self, server: Server, handle_signals: bool) -> None:
        async with self.lifespan_async():
            if handle_signals:
                async with stop_on_signals_async(server, self.websocket_sessions):
                    await server.serve()
            else:
                await server.serve()

    def stop(self, timeout: Optional[float] = None) -> None:
        """Stop serving gracefully: the port closes at once, idle keep-alive connections
        close, WebSocket sessions are closed with 1001 (their ``on_close`` runs), requests in
        flight get ``timeout`` seconds to finish (their responses say ``Connection: close``),
        then what is left is aborted.

        ``timeout`` None keeps ``stop()`` bounded at about 2 s (the server's
        ``shutdown_grace``); pass ``timeout=app.shutdown_timeout`` for what SIGTERM does.
        """
        server = self.server
        if server is not None:
            stop_server(server, self.websocket_sessions, timeout)

    def is_ready(self) -> bool:
        """True once the server accepts connections."""
        return self.server is not None and self.server.is_ready()

    def run_in_thread(self, **options: Any) -> threading.Thread:
        """Start serving in a daemon thread and return once it accepts (handy for tests)."""
        server = self.make_server(**options)
        failed: list[BaseException] = []

        def serve() -> None:
            try:
                with self._released_on_failure(server), self.lifespan():
                    server.serve_forever()
            except BaseException as exc:  # noqa: B036 - handed to the caller below
                failed.append(exc)

        thread = threading.Thread(target=serve, daemon=True, name="naja_atra-server")
        thread.start()
        deadline = time.monotonic() + 10
        while not server.ready.wait(0.02):
            if failed or not thread.is_alive():
                thread.join(1.0)
                if failed:
                    raise failed[0]  # a startup step failed: its error, with the step named
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("server did not become ready within 10 s")
        return thread

    def _announce(self, server: Server) -> None:
        """The startup line (``start()``/``start_async()``; ``run_in_thread()`` stays quiet), and
        a warning when there is nothing to serve."""
        config = server.config
        host = config.host or "0.0.0.0"
        shown = f"[{host}]" if ":" in host else host
        kind = "asyncio" if config.prefer_coroutine else "threading"
        everywhere = " (every interface)" if config.host in ("", "0.0.0.0", "::") else ""
        _log.info("serving on %s://%s:%d%s with the %s server; Ctrl-C to stop",
                  config.scheme, shown, server.port, everywhere, kind)
        if all(route.extras.get("options") for route in self.routes()):  # only the built-in OPTIONS answer
            _log.warning("the application has no routes, WebSocket endpoints or static resources: "
                         "every request will be a 404 (were the controller modules imported?)")

    @contextlib.contextmanager
    def _released_on_failure(self, server: Server) -> Iterator[None]:
        """Release the port of a server whose start failed (a startup step raised)."""
        try:
            yield
        except BaseException:
            server.stop_accepting()
            raise


