"""Compiling the providers a route depends on into resolvers: :func:`compile_dependency`.

A provider's own parameters are resolved like a controller's, by the application's
``naja_atra_make_resolver`` plugins: other ``Depends``, markers, aliases, typed names,
``Request``... so a plugin's argument kinds work inside providers too.

Everything is decided when the application is built: which provider (an entry of
``app.dependency_overrides`` replaces it, see ``Application.override``), its kind, its
parameters' resolvers, cycles (a ``ConfigurationError`` naming the chain ``a -> b -> a``)
and whether the resolver is synchronous. A graph of plain functions and generators keeps
a synchronous route synchronous; one ``async`` provider makes the resolver (hence the
route) asynchronous.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING, Any, Callable, Collection

from ...http.errors import ConfigurationError
from ..params import Param, Resolver, is_async_resolver
from ..source import ArgumentSource, sources_of
from .depends import Dependency, dependency_of
from .kinds import ASYNC_GENERATOR, COROUTINE, provider_kind, provider_name, provider_params
from .scopes import scoped_resolver

if TYPE_CHECKING:
    from ...app.application import Application
    from ...app.context import RequestContext
    from ...app.routes import Route

#: ``route.extras`` key of the provider graph being compiled for a route.
GRAPH_KEY = "naja_atra.providers.graph"


def _mark(resolver: Resolver, is_async: bool, infallible: bool) -> Resolver:
    """Tag ``resolver`` as asynchronous and/or as never reporting a bad argument."""
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
                                     f"{' -> '.join(provider_name(f) for f in cycle)}")
        if app_owner and scope == "request":
            raise ConfigurationError(
                f"{self.where()}: app-scoped provider {app_owner} cannot depend on request-scoped "
                f"provider {provider_name(func)} (one value for the whole application cannot be made from one "
                f"request's); give it scope=\"app\" or \"transient\"")
        owner = provider_name(func) if scope == "app" else app_owner
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
        name = provider_name(func)
        kind = provider_kind(func)
        params = provider_params(func, self.where())
        args = self._app_args(func, params, app_owner) if app_owner else self._request_args(func, params)
        # Not ``is_infallible`` of the builtin module (a circular import): the same attribute.
        may_report = any(not getattr(r, "infallible", False) for _, r in args)
        is_async = kind in (COROUTINE, ASYNC_GENERATOR) or any(is_async_resolver(r) for _, r in args)
        resolve = scoped_resolver(self.app, func, name, kind, args, is_async, scope, bool(app_owner))
        # Every closure behind ``resolve`` is made for this node alone, so the marks belong
        # to it only. What the provider's parameters read is told to whoever documents the route.
        sources: list[ArgumentSource] = []
        for _, resolver in args:
            sources += [s for s in sources_of(resolver) if s not in sources]  # a default may be unhashable
        setattr(resolve, "sources", tuple(sources))
        return _Node(func, scope, _mark(resolve, is_async, not may_report), is_async, may_report)

    def _request_args(self, func: Callable[..., Any], params: list[Param]) -> list[tuple[str, Resolver]]:
        """Each parameter resolved by the application's ``naja_atra_make_resolver`` hooks
        (this plugin for a ``Depends``), against a copy of the route of its own."""
        route = _provider_route(self.route, self.own_keys)
        app = self.app
        args = []
        for param in params:
            resolver = app.hooks.make_resolver(app, route, param)
            if resolver is None:
                raise ConfigurationError(
                    f"{self.where()}: no way to resolve parameter {param.name!r} of provider {provider_name(func)} "
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
                    f"{self.where()}: parameter {param.name!r} of provider {provider_name(func)} cannot be resolved "
                    f"for app-scoped provider {owner}: an app-scoped value cannot come from a request; give "
                    f"it a default or make it a Depends on an app-scoped provider")
        return args


def _constant(value: Any, ctx: RequestContext) -> Any:
    """The resolver of an app-scoped provider's parameter that keeps its default."""
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
