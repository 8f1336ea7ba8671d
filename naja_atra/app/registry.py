"""What an application's decorators record, and how it becomes routes at build time."""
from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional, Sequence, Union

from ..http.errors import ConfigurationError
from ..websocket.api import WebsocketHandler
from ..websocket.endpoint import WebsocketSpec
from .routes import WEBSOCKET_METHOD, ControllerClass, FilterSpec, Route

MethodSpec = Union[str, Sequence[str]]
ExpressionSpec = Union[str, Sequence[str]]


def methods_of(method: MethodSpec) -> tuple[str, ...]:
    """``"GET"``, ``"GET, POST"``, ``["GET", "POST"]`` -> upper-case tuple; "" means any."""
    items = method.split(",") if isinstance(method, str) else list(method)
    return tuple(dict.fromkeys(m.strip().upper() for m in items if m and m.strip()))


def expressions_of(spec: ExpressionSpec) -> tuple[str, ...]:
    """A narrowing expression or a list of them, as a tuple without blanks."""
    items = [spec] if isinstance(spec, str) else list(spec)
    return tuple(e.strip() for e in items if e and e.strip())


def normalise_path(path: str) -> str:
    """Routes start with ``/`` unless they start with a wildcard."""
    if not path or path.startswith("/") or path.startswith("*"):
        return path
    return "/" + path


def join_paths(prefix: str, path: str) -> str:
    """The class prefix joined with a method's path (either may be empty)."""
    prefix = normalise_path(prefix).rstrip("/")
    if not path:
        return prefix or "/"
    return prefix + normalise_path(path)


def _looks_like_method(func: Callable[..., Any]) -> bool:
    """True when ``func`` was defined in a class body (its qualname names a class)."""
    if inspect.ismethod(func):  # already bound: called as it is
        return False
    parts = getattr(func, "__qualname__", "").split(".")
    return len(parts) >= 2 and parts[-2] != "<locals>"


@dataclass(eq=False)
class Mapping:
    """One ``@route``/``@request_map`` call: the route as written (before any class prefix),
    and whether the function is a method of a class that is yet to be found."""

    route: Route
    is_method: bool = False


@dataclass(eq=False)
class ClassMapping:
    """``@route`` on a class: the prefix and methods its routes inherit."""

    path: str = ""
    methods: tuple[str, ...] = ()


@dataclass
class Registry:
    """Everything the decorators of one application recorded, in order."""

    mappings: list[Mapping] = field(default_factory=list)
    class_mappings: dict[type, ClassMapping] = field(default_factory=dict)
    controllers: dict[type, ControllerClass] = field(default_factory=dict)
    filters: list[FilterSpec] = field(default_factory=list)
    error_pages: dict[str, Callable[..., Any]] = field(default_factory=dict)
    websockets: dict[tuple[str, str], WebsocketSpec] = field(default_factory=dict)

    def websocket(self, endpoint: str, regexp: str) -> WebsocketSpec:
        """The record of the WebSocket endpoint at ``endpoint``/``regexp`` (made on first use)."""
        check_mapping_args(endpoint, regexp, f"WebSocket endpoint {endpoint!r}, regexp={regexp!r}")
        if not endpoint and not regexp:
            raise ConfigurationError("A WebSocket handler needs endpoint= or regexp=")
        key = (normalise_path(endpoint), regexp)
        spec = self.websockets.get(key)
        if spec is None:
            spec = self.websockets[key] = WebsocketSpec(key[0], regexp)
        return spec

    def websocket_routes(self) -> list[Route]:
        """One ``WEBSOCKET`` route per endpoint; its controller is the handshake callable."""
        routes = []
        for spec in self.websockets.values():
            owner = spec.owner
            if owner is not None:
                handler = getattr(owner.cls, "on_handshake", None) or WebsocketHandler.on_handshake
            else:
                handler = spec.functions.get("handshake") or _accept_handshake
            routes.append(Route(handler=handler, path="" if spec.regexp else spec.endpoint, regexp=spec.regexp,
                                methods=(WEBSOCKET_METHOD,), owner=owner, extras={"websocket": spec}))
        return routes

    def owner_class(self, func: Callable[..., Any]) -> type:
        """The class a method route belongs to: a registered class, else found by qualname."""
        for cls in list(self.controllers) + list(self.class_mappings):
            if cls.__dict__.get(func.__name__) is func:
                return cls
        module = sys.modules.get(func.__module__)
        target: Any = module
        for part in func.__qualname__.split(".")[:-1]:
            target = getattr(target, part, None)
        if not inspect.isclass(target):
            raise ConfigurationError(
                f"Cannot find the class of method {func.__qualname__} (module {func.__module__}); "
                "decorate the class with @controller or @route so it can be found.")
        return target

    def controller_for(self, cls: type) -> ControllerClass:
        """How instances of ``cls`` are made (a new one per request unless ``@controller``)."""
        spec = self.controllers.get(cls)
        if spec is None:
            spec = ControllerClass(cls, singleton=False)
        mapping = self.class_mappings.get(cls)
        if mapping is not None:
            spec.prefix, spec.methods = mapping.path, mapping.methods
        return spec

    def routes(self) -> list[Route]:
        """Every registered mapping as a resolved ``Route`` (class prefixes applied)."""
        routes: list[Route] = []
        for m in self.mappings:
            written = m.route
            if not m.is_method:
                routes.append(replace(written, path="" if written.regexp else normalise_path(written.path) or "/",
                                      extras=dict(written.extras)))
                continue
            owner = self.controller_for(self.owner_class(written.handler))
            path = written.path if written.regexp else join_paths(owner.prefix, written.path)
            routes.append(replace(written, path="" if written.regexp else path,
                                  methods=written.methods or owner.methods, owner=owner, extras=dict(written.extras)))
        return routes + self.websocket_routes()


def _accept_handshake() -> None:
    """The handshake of function-style endpoints without ``@websocket_handshake``: accept."""
    return None


def check_mapping_args(path: str, regexp: str, where: str) -> None:
    """``@route`` takes a path or a regexp, not both."""
    if path and regexp:
        raise ConfigurationError(f"{where}: give either a path or regexp=, not both")


def mapping_for(func: Callable[..., Any], path: str, regexp: str, method: MethodSpec,
                params: ExpressionSpec, headers: ExpressionSpec,
                match_all_params: Optional[bool], match_all_headers: Optional[bool],
                max_body_size: Optional[int] = None) -> Mapping:
    """The record of one ``@route`` on ``func``."""
    if not callable(func):
        raise ConfigurationError(f"@route needs a function or class, got {func!r}")
    if max_body_size is not None and (isinstance(max_body_size, bool) or not isinstance(max_body_size, int)
                                      or max_body_size < 0):
        raise ConfigurationError(f"@route max_body_size must be a whole number of bytes >= 0, not {max_body_size!r}")
    route = Route(
        handler=func, path=path, regexp=regexp, methods=methods_of(method),
        params=expressions_of(params), headers=expressions_of(headers),
        match_all_params=True if match_all_params is None else match_all_params,
        match_all_headers=True if match_all_headers is None else match_all_headers,
        max_body_size=max_body_size)
    return Mapping(route, is_method=_looks_like_method(func))
