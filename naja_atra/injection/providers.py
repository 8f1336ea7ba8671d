"""User-defined providers: ``Depends(provider, scope=...)`` and the compilation of
provider graphs into resolvers.

A controller (or a WebSocket handshake callable, or another provider) asks for a value
made by a function of yours::

    def get_db(dsn: FromHeader[str] = "sqlite://") -> Iterator[Database]:
        db = Database(dsn)
        try:
            yield db            # the value injected
        finally:
            db.close()          # runs after the controller returned or raised

    @app.route("/users")
    def users(db: Database = Depends(get_db)) -> list[str]:
        return db.names()

A **provider** is a function, an ``async`` function, a generator or an async generator
(anything after ``yield`` is its cleanup), or a class (its ``__init__`` parameters are
resolved). Its own parameters are resolved like a controller's, by the application's
``naja_atra_make_resolver`` plugins: other ``Depends``, markers, aliases, typed names,
``Request``... so a plugin's argument kinds work inside providers too.

**Scopes** (the ``scope`` of the ``Depends``, not of the provider: ``Depends(f)`` and
``Depends(f, scope="app")`` are two different values):

- ``"request"`` (default): made once per request, shared by every consumer in that request
  (the controller and other providers), kept in ``ctx.state``;
- ``"app"``: made once, lazily, on first use (one creation even under concurrent first
  requests, on threads or event loops), torn down when the application stops (the built-in
  ``naja_atra.providers`` plugin's ``naja_atra_lifespan``), last made first. Its parameters
  can only be other ``Depends`` on app-scoped or transient providers, or have defaults
  (which are then used as they are): nothing of a request;
- ``"transient"``: made again for every consumer.

Everything is decided when the application is built: which provider (an entry of
``app.dependency_overrides`` replaces it, see ``Application.override``), its kind, its
parameters' resolvers, cycles (a ``ConfigurationError`` naming the chain ``a -> b -> a``)
and whether the resolver is synchronous. A graph of plain functions and generators keeps
a synchronous route synchronous; one ``async`` provider makes the resolver (hence the
route) asynchronous.

Generator cleanups run after the controller, last created first, through one
``ctx.add_cleanup`` per request. The controller's exception is thrown into the generator
at its ``yield`` (so ``try/except/finally`` works as in a context manager); a cleanup that
raises a new exception (``except IntegrityError: raise HttpError(409)``) replaces the
request's outcome. A generator cannot suppress the controller's exception.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import functools
import inspect
import sys
import threading
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterator,
    Optional,
    TypeVar,
    overload,
)

from typing_extensions import Literal

from ..http.errors import ConfigurationError, InjectionError
from ..utils.logger import get_logger
from .params import Param, Resolver, controller_params, is_async_resolver

if TYPE_CHECKING:
    from ..app.application import Application
    from ..app.context import RequestContext
    from ..app.routes import Route

__all__ = [
    "Depends",
    "Dependency",
    "Scope",
    "SCOPES",
    "AppScope",
    "dependency_of",
    "compile_dependency",
    "app_scope_of",
    "provider_kind",
]

T = TypeVar("T")

#: Where a provider's value lives: one per request, one per application, one per consumer.
Scope = Literal["request", "app", "transient"]
SCOPES: frozenset[str] = frozenset(("request", "app", "transient"))

#: ``route.extras`` key of the provider graph being compiled for a route.
GRAPH_KEY = "naja_atra.providers.graph"
#: ``ctx.state`` key of a request's generator cleanups.
EXITS_KEY = "naja_atra.providers.exits"
#: The attribute of an application holding its app-scoped values.
APP_SCOPE_ATTR = "_naja_atra_app_scope"

FUNCTION = "function"
COROUTINE = "async function"
GENERATOR = "generator"
ASYNC_GENERATOR = "async generator"

_MISSING: Any = object()
_log = get_logger("naja_atra.providers")


class Dependency:
    """The marker ``Depends(...)`` builds: ``provider`` and its ``scope``.

    Hashable, so it can sit in ``Annotated`` metadata.
    """

    __slots__ = ("provider", "scope")

    def __init__(self, provider: Callable[..., Any], scope: str = "request") -> None:
        if not callable(provider):
            raise ConfigurationError(f"Depends() takes a callable provider, not {provider!r}")
        if scope not in SCOPES:
            raise ConfigurationError(f"Depends({_name(provider)}): unknown scope {scope!r}; "
                                     f"one of {', '.join(sorted(SCOPES))}")
        self.provider = provider
        self.scope = scope

    # By the provider's identity (what the graph is keyed on), which also keeps a provider
    # that is not hashable usable inside ``Annotated``. Not by ``str``-like equality as the
    # SPEC markers: typing caches ``Annotated[...]`` by its metadata's equality.
    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dependency) and other.provider is self.provider and other.scope == self.scope

    def __hash__(self) -> int:
        return hash((Dependency, id(self.provider), self.scope))

    def __repr__(self) -> str:
        scope = "" if self.scope == "request" else f", scope={self.scope!r}"
        return f"Depends({_name(self.provider)}{scope})"


# The overloads type ``Depends(p)`` as the value ``p`` provides, so that ``db: Database =
# Depends(get_db)`` checks and ``db: int = Depends(get_db)`` is flagged. Order matters: an
# async generator function returns an ``AsyncIterator``, a generator an ``Iterator``, an
# async function an ``Awaitable``; the last overload is every other callable (a class too).
# A plain function *annotated* to return an iterator is typed as a generator provider.
# Being a function (not a class whose ``__new__`` lies about its type) keeps this readable
# by every type checker.
@overload
def Depends(provider: Callable[..., AsyncIterator[T]], scope: Scope = ...) -> T: ...


@overload
def Depends(provider: Callable[..., Iterator[T]], scope: Scope = ...) -> T: ...


@overload
def Depends(provider: Callable[..., Awaitable[T]], scope: Scope = ...) -> T: ...


@overload
def Depends(provider: Callable[..., T], scope: Scope = ...) -> T: ...


def Depends(provider: Callable[..., Any], scope: str = "request") -> Any:
    """Inject what ``provider`` makes: ``db: Database = Depends(get_db)`` or
    ``db: Annotated[Database, Depends(get_db)]``; ``scope`` is ``"request"`` (default),
    ``"app"`` or ``"transient"``. Typed as the provider's value; at run time a
    :class:`Dependency`. The name is the one FastAPI users know."""
    return Dependency(provider, scope)


def dependency_of(param: Param) -> Optional[Dependency]:
    """The ``Depends`` of ``param``: in its ``Annotated`` metadata, else its default."""
    for meta in param.metadata:
        if isinstance(meta, Dependency):
            return meta
    default = param.default
    return default if isinstance(default, Dependency) else None


def _name(func: Any) -> str:
    name = getattr(func, "__name__", None)
    if name is None and isinstance(func, functools.partial):
        return f"partial({_name(func.func)})"
    return str(name) if name is not None else repr(func)


def _call_target(provider: Callable[..., Any]) -> Callable[..., Any]:
    """What to inspect: a callable object's ``__call__`` (a function, class or partial as is)."""
    if inspect.isroutine(provider) or inspect.isclass(provider) or isinstance(provider, functools.partial):
        return provider
    return getattr(provider, "__call__", provider)  # noqa: B004 - the bound method, not a callable() test


def provider_kind(provider: Callable[..., Any]) -> str:
    """``"function"``, ``"async function"``, ``"generator"`` or ``"async generator"``."""
    target = _call_target(provider)
    if inspect.isasyncgenfunction(target):
        return ASYNC_GENERATOR
    if inspect.isgeneratorfunction(target):
        return GENERATOR
    if inspect.iscoroutinefunction(target):
        return COROUTINE
    return FUNCTION


def _provider_params(provider: Callable[..., Any], where: str) -> list[Param]:
    target = _call_target(provider)
    try:
        if inspect.isclass(target):
            init = getattr(target, "__init__", object.__init__)
            return [] if init is object.__init__ else controller_params(init, skip_first=True)
        return controller_params(target)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{where}: cannot inspect provider {_name(provider)}: {exc}") from exc


# -- cleanups --------------------------------------------------------------------------------


class _Exit:
    """The part after ``yield`` of one generator provider."""

    __slots__ = ("gen", "name", "is_async")

    def __init__(self, gen: Any, name: str, is_async: bool) -> None:
        self.gen = gen
        self.name = name
        self.is_async = is_async

    def finish(self, error: Optional[BaseException]) -> None:
        """Resume a generator: to its end, or with ``error`` thrown in at the ``yield``."""
        gen = self.gen
        try:
            if error is None:
                next(gen)
            else:
                gen.throw(error)
        except StopIteration:
            return
        except BaseException as exc:
            if exc is error:  # re-raised (or not caught): the request already fails with it
                return
            raise
        gen.close()
        raise RuntimeError(f"provider {self.name} yielded more than once")

    async def finish_async(self, error: Optional[BaseException]) -> None:
        """:meth:`finish` for an async generator (a plain one is finished synchronously)."""
        if not self.is_async:
            self.finish(error)
            return
        agen = self.gen
        try:
            if error is None:
                await agen.__anext__()
            else:
                await agen.athrow(error)
        except StopAsyncIteration:
            return
        except BaseException as exc:
            if exc is error:
                return
            raise
        await agen.aclose()
        raise RuntimeError(f"provider {self.name} yielded more than once")


class _RequestExits:
    """The generator cleanups of one request, registered as a single ``ctx`` cleanup.

    One cleanup for all (rather than one each) so that they behave like an ``ExitStack``:
    all run, last created first, each seeing the exception the previous ones left (a
    cleanup that raises replaces the request's outcome), and the last such exception is
    raised once they all ran.
    """

    __slots__ = ("exits", "has_async")

    def __init__(self) -> None:
        self.exits: list[_Exit] = []
        self.has_async = False

    def add(self, exit_: _Exit) -> None:
        self.exits.append(exit_)
        self.has_async = self.has_async or exit_.is_async

    def __call__(self, error: Optional[BaseException]) -> Optional[Awaitable[None]]:
        # Only a route with an async generator provider is asynchronous here, and only such
        # a route may get an awaitable back from a cleanup.
        if self.has_async:
            return self._run_async(error)
        current = error
        for exit_ in reversed(self.exits):
            try:
                exit_.finish(current)
            except BaseException as exc:  # passed on to the next cleanups, then raised
                current = exc
        if current is not error and current is not None:
            raise current
        return None

    async def _run_async(self, error: Optional[BaseException]) -> None:
        current = error
        for exit_ in reversed(self.exits):
            try:
                await exit_.finish_async(current)
            except BaseException as exc:  # passed on to the next cleanups, then raised
                current = exc
        if current is not error and current is not None:
            raise current


def _keep_for_request(ctx: RequestContext, exit_: _Exit) -> None:
    state = ctx.state
    if state is None:
        state = ctx.state = {}
    exits = state.get(EXITS_KEY)
    if exits is None:
        exits = state[EXITS_KEY] = _RequestExits()
        ctx.add_cleanup(exits)
    exits.add(exit_)


# -- app-scoped values -----------------------------------------------------------------------


class AppScope:
    """The app-scoped values of one application and their cleanups.

    A value is made at most once: the first caller makes it while the others (other
    threads, other tasks, other event loops) wait for the same ``concurrent.futures.Future``
    — a thread-safe primitive that ``asyncio.wrap_future`` can await from any loop, which an
    ``asyncio.Lock`` (bound to one loop) or a ``threading.Lock`` held across an ``await``
    (it would block the loop) could not offer. ``lock`` only guards the dictionaries, never
    a creation. A creation that fails is not kept: the next request tries again.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: dict[Any, Any] = {}
        self.pending: dict[Any, concurrent.futures.Future[Any]] = {}
        self.exits: list[_Exit] = []

    def keep(self, exit_: _Exit) -> None:
        """Remember a generator to finish at :meth:`close`."""
        with self.lock:
            self.exits.append(exit_)

    def _claim(self, key: Any) -> tuple[Any, Optional[concurrent.futures.Future[Any]], bool]:
        """(value, future, mine): the value if made, else the creation to wait for or to do."""
        with self.lock:
            value = self.values.get(key, _MISSING)
            if value is not _MISSING:
                return value, None, False
            future = self.pending.get(key)
            if future is not None:
                return _MISSING, future, False
            future = self.pending[key] = concurrent.futures.Future()
            future.set_running_or_notify_cancel()  # a waiter's cancellation cannot cancel it
            return _MISSING, future, True

    def _settle(self, key: Any, future: concurrent.futures.Future[Any], value: Any,
                error: Optional[BaseException]) -> None:
        with self.lock:
            del self.pending[key]
            if error is None:
                self.values[key] = value
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)

    def get(self, key: Any, create: Callable[[RequestContext], Any], ctx: RequestContext) -> Any:
        """The value of ``key``, made by ``create(ctx)`` if it is the first use."""
        value, future, mine = self._claim(key)
        if future is None:
            return value
        if not mine:
            return future.result()
        try:
            value = create(ctx)
        except BaseException as exc:
            self._settle(key, future, None, exc)
            raise
        self._settle(key, future, value, None)
        return value

    async def get_async(self, key: Any, create: Callable[[RequestContext], Awaitable[Any]],
                        ctx: RequestContext) -> Any:
        """:meth:`get` for an asynchronous ``create``."""
        value, future, mine = self._claim(key)
        if future is None:
            return value
        if not mine:
            # shield: this task being cancelled must not cancel the creation others wait for.
            return await asyncio.shield(asyncio.wrap_future(future))
        try:
            value = await create(ctx)
        except BaseException as exc:
            self._settle(key, future, None, exc)
            raise
        self._settle(key, future, value, None)
        return value

    def close(self) -> None:
        """Finish every app-scoped generator, last made first, and forget every value (a
        later use makes a new one). A failing cleanup is logged; the others still run."""
        with self.lock:
            exits, self.exits = self.exits, []
            self.values.clear()
        for exit_ in reversed(exits):
            try:
                if exit_.is_async:
                    _run_coroutine(functools.partial(exit_.finish_async, None))
                else:
                    exit_.finish(None)
            except Exception as exc:
                _log.error("Cleanup of app-scoped provider %s failed", exit_.name, exc_info=exc)


def _run_coroutine(make: Callable[[], Awaitable[None]]) -> None:
    """Run a coroutine to its end from synchronous code, on a private event loop.

    The application's lifespan is left synchronously, possibly on a thread whose loop is
    running (the asyncio server): that loop cannot run anything until we return, so the
    coroutine then runs on a helper thread's loop.
    """
    def run() -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(make())
        finally:
            loop.close()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        run()
        return
    failure: list[BaseException] = []

    def run_catching() -> None:
        try:
            run()
        except BaseException as exc:  # re-raised on the calling thread
            failure.append(exc)

    helper = threading.Thread(target=run_catching, name="naja_atra-providers-close", daemon=True)
    helper.start()
    helper.join()
    if failure:
        raise failure[0]


def app_scope_of(app: Application, create: bool = True) -> Optional[AppScope]:
    """The app-scoped values of ``app`` (attached on first use when ``create``: at build,
    under the application's build lock)."""
    scope = getattr(app, APP_SCOPE_ATTR, None)
    if scope is None and create:
        scope = AppScope()
        setattr(app, APP_SCOPE_ATTR, scope)
    return scope if isinstance(scope, AppScope) else None


# -- compiling a provider graph --------------------------------------------------------------


class _Failed:
    """A request-scoped provider that raised ``InjectionError`` in this request: its errors
    are already on their way to the 400; a second consumer must not list them again."""


_FAILED = _Failed()


def _mark(resolver: Resolver, is_async: bool, infallible: bool) -> Resolver:
    if is_async:
        setattr(resolver, "is_async", True)
    if infallible:
        setattr(resolver, "infallible", True)
    return resolver


@dataclasses.dataclass
class _Node:
    """One provider of a route's graph, compiled: ``resolve(ctx)`` gives its value."""

    provider: Callable[..., Any]
    scope: str
    resolve: Resolver
    is_async: bool
    #: Whether a resolver of its graph may report a bad argument (``InjectionError``).
    may_report: bool


@dataclasses.dataclass
class _Graph:
    """The providers compiled for one route (shared by the copies of the route that
    providers' parameters are resolved with): nodes by (provider, scope, app owner), and
    the chain being compiled, for cycles."""

    app: Application
    nodes: dict[tuple[Any, str, str], _Node] = dataclasses.field(default_factory=dict)
    chain: list[Callable[..., Any]] = dataclasses.field(default_factory=list)


def _first_untracked(agen: Any) -> Awaitable[Any]:
    """``agen.__anext__()`` hidden from the running event loop's ``firstiter`` hook.

    An event loop remembers every async generator first iterated in it and closes those
    left open when it shuts down (``loop.shutdown_asyncgens``): the asyncio server's loop
    does so *before* the application's lifespan is left, which would close an app-scoped
    generator with ``GeneratorExit`` instead of resuming it after its ``yield``. The hook
    runs when ``__anext__`` is called (not when awaited), so it is off for that call only.
    """
    hooks = sys.get_asyncgen_hooks()
    sys.set_asyncgen_hooks(firstiter=None, finalizer=hooks.finalizer)
    try:
        first: Awaitable[Any] = agen.__anext__()
    finally:
        sys.set_asyncgen_hooks(firstiter=hooks.firstiter, finalizer=hooks.finalizer)
    return first


def _make_create(func: Callable[..., Any], name: str, kind: str,
                 args: list[tuple[str, Resolver]], is_async: bool,
                 keep: Callable[[RequestContext, _Exit], None], app_owned: bool = False,
                 ) -> Callable[[RequestContext], Any]:
    """The function that calls the provider once with its resolved arguments (and keeps a
    generator's cleanup with ``keep``; ``app_owned``: until the application stops)."""
    pairs = tuple(args)
    generator = kind in (GENERATOR, ASYNC_GENERATOR)

    def no_value() -> RuntimeError:
        return RuntimeError(f"provider {name} did not yield a value")

    if not is_async:
        if not generator:
            if not pairs:
                return lambda ctx: func()

            def call(ctx: RequestContext) -> Any:
                return func(**{arg: resolve(ctx) for arg, resolve in pairs})
            return call

        def call_generator(ctx: RequestContext) -> Any:
            gen = func(**{arg: resolve(ctx) for arg, resolve in pairs})
            try:
                value = next(gen)
            except StopIteration:
                raise no_value() from None
            keep(ctx, _Exit(gen, name, False))
            return value
        return call_generator

    flags = tuple(is_async_resolver(resolve) for _, resolve in pairs)

    async def call_async(ctx: RequestContext) -> Any:
        kwargs = {}
        for (arg, resolve), awaited in zip(pairs, flags):
            value = resolve(ctx)
            kwargs[arg] = (await value) if awaited else value
        if kind == FUNCTION:
            return func(**kwargs)
        if kind == COROUTINE:
            return await func(**kwargs)
        if kind == GENERATOR:
            gen = func(**kwargs)
            try:
                value = next(gen)
            except StopIteration:
                raise no_value() from None
            keep(ctx, _Exit(gen, name, False))
            return value
        agen = func(**kwargs)
        try:
            value = await (_first_untracked(agen) if app_owned else agen.__anext__())
        except StopAsyncIteration:
            raise no_value() from None
        keep(ctx, _Exit(agen, name, True))
        return value
    return call_async


def _cached(ctx: RequestContext, key: str) -> tuple[dict[str, Any], Any]:
    """The request's state dict and the value kept under ``key`` (``_MISSING`` if none yet);
    a creation that already failed in this request fails again (its errors are reported once)."""
    state = ctx.state
    if state is None:
        state = ctx.state = {}
        return state, _MISSING
    value = state.get(key, _MISSING)
    if value is _FAILED:
        raise InjectionError([])
    return state, value


def _request_cached(create: Callable[[RequestContext], Any], key: str, is_async: bool) -> Resolver:
    """``create`` at most once per request: the value kept in ``ctx.state[key]``."""
    if not is_async:
        def resolve(ctx: RequestContext) -> Any:
            state, value = _cached(ctx, key)
            if value is not _MISSING:
                return value
            try:
                value = create(ctx)
            except InjectionError:
                state[key] = _FAILED
                raise
            state[key] = value
            return value
        return resolve

    async def resolve_async(ctx: RequestContext) -> Any:
        state, value = _cached(ctx, key)
        if value is not _MISSING:
            return value
        try:
            value = await create(ctx)
        except InjectionError:
            state[key] = _FAILED
            raise
        state[key] = value
        return value
    return resolve_async


def _app_cached(store: AppScope, create: Callable[[RequestContext], Any], key: Any, is_async: bool) -> Resolver:
    """``create`` once for the application; the fast path is one dictionary lookup."""
    values = store.values
    if not is_async:
        def resolve(ctx: RequestContext) -> Any:
            value = values.get(key, _MISSING)
            if value is _MISSING:
                value = store.get(key, create, ctx)
            return value
        return resolve

    async def resolve_async(ctx: RequestContext) -> Any:
        value = values.get(key, _MISSING)
        if value is _MISSING:
            value = await store.get_async(key, create, ctx)
        return value
    return resolve_async


def _provider_route(route: Route, own_keys: Collection[str]) -> Route:
    """A copy of ``route`` to resolve one provider's parameters with: the same path, handler
    and ``extras``, except the per-parameter-list entries (``own_keys``: the argument plan
    that lists every bad argument in one 400), so that a provider's bad arguments are
    reported *before* the provider is called, never passed to it as None."""
    extras = {k: v for k, v in route.extras.items() if k not in own_keys}
    return dataclasses.replace(route, extras=extras)


class _Compiler:
    """Compiles the providers reachable from one ``Depends`` of a route."""

    def __init__(self, graph: _Graph, route: Route, own_keys: Collection[str]) -> None:
        self.graph = graph
        self.app = graph.app
        self.route = route
        self.own_keys = own_keys

    def where(self) -> str:
        return f"Controller {self.route.name}"

    def node(self, dep: Dependency, app_owner: str = "") -> _Node:
        """The compiled node of ``dep`` (``app_owner``: the app-scoped provider whose value
        this one helps make, if any)."""
        overrides = self.app.dependency_overrides
        func = overrides.get(dep.provider, dep.provider) if overrides else dep.provider
        scope = dep.scope
        graph = self.graph
        if func in graph.chain:
            cycle = graph.chain[graph.chain.index(func):] + [func]
            raise ConfigurationError(f"{self.where()}: dependency cycle "
                                     f"{' -> '.join(_name(f) for f in cycle)}")
        if app_owner and scope == "request":
            raise ConfigurationError(
                f"{self.where()}: app-scoped provider {app_owner} cannot depend on request-scoped "
                f"provider {_name(func)} (one value for the whole application cannot be made from one "
                f"request's); give it scope=\"app\" or \"transient\"")
        owner = _name(func) if scope == "app" else app_owner
        key = (func, scope, owner and "app")
        node = graph.nodes.get(key)
        if node is not None:
            return node
        graph.chain.append(func)
        try:
            node = self._compile(func, scope, owner)
        finally:
            graph.chain.pop()
        graph.nodes[key] = node
        return node

    def _compile(self, func: Callable[..., Any], scope: str, app_owner: str) -> _Node:
        name = _name(func)
        kind = provider_kind(func)
        params = _provider_params(func, self.where())
        args = self._app_args(func, params, app_owner) if app_owner else self._request_args(func, params)
        # Not ``is_infallible`` of the builtin module (a circular import): the same attribute.
        may_report = any(not getattr(r, "infallible", False) for _, r in args)
        is_async = kind in (COROUTINE, ASYNC_GENERATOR) or any(is_async_resolver(r) for _, r in args)
        if app_owner:
            store = app_scope_of(self.app)
            assert store is not None
            create = _make_create(func, name, kind, args, is_async, lambda ctx, e: store.keep(e), app_owned=True)
            if scope == "app":
                resolve = _app_cached(store, create, func, is_async)
            else:
                resolve = create
        else:
            create = _make_create(func, name, kind, args, is_async, _keep_for_request)
            if scope == "request":
                resolve = _request_cached(create, f"naja_atra.providers.{id(func):x}", is_async)
            else:
                resolve = create
        # Every closure above is made for this node alone, so the marks belong to it only.
        return _Node(func, scope, _mark(resolve, is_async, not may_report), is_async, may_report)

    def _request_args(self, func: Callable[..., Any], params: list[Param]) -> list[tuple[str, Resolver]]:
        """Each parameter resolved by the application's ``naja_atra_make_resolver`` hooks
        (this plugin for a ``Depends``), against a copy of the route of its own."""
        route = _provider_route(self.route, self.own_keys)
        app = self.app
        args = []
        for param in params:
            resolver = app._hooks.make_resolver(app, route, param)
            if resolver is None:
                raise ConfigurationError(
                    f"{self.where()}: no way to resolve parameter {param.name!r} of provider {_name(func)} "
                    f"(annotation {param.annotation!r}); give it a default or a supported type")
            args.append((param.name, resolver))
        return args

    def _app_args(self, func: Callable[..., Any], params: list[Param], owner: str) -> list[tuple[str, Resolver]]:
        """An app-scoped value's parameters: other ``Depends`` (compiled here, not through
        the hooks: nothing may come from a request) or their defaults, as they are."""
        args = []
        for param in params:
            dep = dependency_of(param)
            if dep is not None:
                args.append((param.name, self.node(dep, owner).resolve))
            elif param.has_default:
                args.append((param.name, _mark(functools.partial(_constant, param.default), False, True)))
            else:
                raise ConfigurationError(
                    f"{self.where()}: parameter {param.name!r} of provider {_name(func)} cannot be resolved "
                    f"for app-scoped provider {owner}: an app-scoped value cannot come from a request; give "
                    f"it a default or make it a Depends on an app-scoped provider")
        return args


def _constant(value: Any, ctx: RequestContext) -> Any:
    return value


def compile_dependency(app: Application, route: Route, param: Param, dep: Dependency,
                       own_keys: Collection[str] = ()) -> Resolver:
    """The resolver of ``param`` (whose marker is ``dep``) of ``route``'s controller, or of
    a provider's parameter when ``route`` is the copy that provider's parameters get.

    ``own_keys`` are the ``route.extras`` entries that belong to one parameter list and must
    not be shared with a provider's parameters (the resolvers plugin's argument plan).
    Raises ``ConfigurationError`` for cycles, app-scoped providers that would need a
    request, and parameters nothing resolves.

    The resolver is a coroutine function when the graph holds an async provider; it has
    ``infallible = True`` when nothing in its graph can report a bad argument.
    """
    graph = route.extras.get(GRAPH_KEY)
    if not isinstance(graph, _Graph) or graph.app is not app:
        graph = route.extras[GRAPH_KEY] = _Graph(app)
    try:
        return _Compiler(graph, route, own_keys).node(dep).resolve
    except ConfigurationError:
        raise
    except Exception as exc:  # a hook or a provider's annotations failing: name where
        raise ConfigurationError(f"Controller {route.name}: parameter {param.name!r}: {exc}") from exc
