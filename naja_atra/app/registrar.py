"""The decorator surface an ``Application`` and a ``RouteGroup`` share.

``route`` and its method shortcuts (``get``, ``post``, ...), ``controller``,
``request_filter``, ``error_message``, the WebSocket decorators and ``include``. Each records
into the owner's ``Registry`` and calls ``_changed()``: an application then rebuilds before
its next request, and a group passes the news on to whatever includes it.
"""
from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, TypeVar, Union, overload

from typing_extensions import TypedDict, Unpack

from ..http.errors import ConfigurationError
from ..websocket.api import WEBSOCKET_MESSAGE_TEXT
from ..websocket.endpoint import EVENTS
from .registry import (
    ClassMapping,
    ExpressionSpec,
    Inclusion,
    MethodSpec,
    Registry,
    check_mapping_args,
    check_name,
    check_prefix,
    mapping_for,
    methods_of,
    tags_of,
)
from .routes import ControllerClass, FilterSpec

if TYPE_CHECKING:
    from .groups import RouteGroup

F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C", bound=type)
Tags = Union[str, Sequence[str]]


class RouteOptions(TypedDict, total=False):
    """The keywords of ``route`` that the method shortcuts (``get``, ``post``, ...) take too."""

    regexp: str
    headers: ExpressionSpec
    match_all_headers_expressions: Optional[bool]
    params: ExpressionSpec
    match_all_params_expressions: Optional[bool]
    max_body_size: Optional[int]
    name: str
    tags: Tags
    include_in_schema: bool


class Registrar:
    """Registration decorators over one ``Registry`` (see ``Application`` and ``RouteGroup``)."""

    #: An application's filter needs a path or a regexp; a group's may have neither (all its routes).
    _filters_need_pattern = True

    def __init__(self) -> None:
        self._registry = Registry()

    def _changed(self) -> None:
        """A registration: the owner decides what that means (rebuild, pass it on)."""
        raise NotImplementedError

    @property
    def registry(self) -> Registry:
        """What the decorators recorded (read by the built-in plugins at build)."""
        return self._registry

    # -- routes ------------------------------------------------------------------------
    @overload
    def route(self, __target: F) -> F: ...

    @overload
    def route(self, url: str = "", *, regexp: str = "", method: MethodSpec = "",
              headers: ExpressionSpec = "", match_all_headers_expressions: Optional[bool] = None,
              params: ExpressionSpec = "", match_all_params_expressions: Optional[bool] = None,
              max_body_size: Optional[int] = None, name: str = "", tags: Tags = (),
              include_in_schema: bool = True) -> Callable[[F], F]: ...

    def route(self, url: Any = "", *, regexp: str = "", method: MethodSpec = "",
              headers: ExpressionSpec = "", match_all_headers_expressions: Optional[bool] = None,
              params: ExpressionSpec = "", match_all_params_expressions: Optional[bool] = None,
              max_body_size: Optional[int] = None, name: str = "", tags: Tags = (),
              include_in_schema: bool = True) -> Any:
        """Map a URL (or ``regexp=``) and method(s) to a controller function, method or class.

        Works bare (``@route``) and called (``@route("/path", method="POST")``). On a class
        it sets the path prefix, default methods, tags and ``include_in_schema`` of the
        class's routes. ``max_body_size``: this route's request body limit in bytes, instead
        of the application's ``max_body_size`` (an upload route that needs more, say).
        ``name``: the route's name for ``url_for`` (default: the function's ``__name__``, or
        ``Class.method`` for a method). ``tags``: the OpenAPI tags (a string is one tag).
        ``include_in_schema=False`` leaves the route out of the OpenAPI document.
        """
        if callable(url):
            return self.route()(url)
        path = str(url or "")
        where = f"@route({path!r}, regexp={regexp!r})"
        check_mapping_args(path, regexp, where)
        route_name = check_name(name, where)
        route_tags = tags_of(tags, where)

        def decorate(target: F) -> F:
            if inspect.isclass(target):
                if route_name:
                    raise ConfigurationError(f"{where}: name= names one route, not the class {target.__name__}")
                self._registry.class_mappings[target] = ClassMapping(path, methods_of(method), route_tags,
                                                                     include_in_schema)
            else:
                self._registry.mappings.append(mapping_for(
                    target, path, regexp, method, params, headers,
                    match_all_params_expressions, match_all_headers_expressions, max_body_size,
                    name=route_name, tags=route_tags, include_in_schema=include_in_schema))
            self._changed()
            return target
        return decorate

    request_map = route

    def _shortcut(self, method: str, url: object, options: RouteOptions) -> Callable[[F], F]:
        if not isinstance(url, str):  # bare @app.get: there is no path to map
            raise ConfigurationError(f"@{method.lower()} needs a path, as in @{method.lower()}(\"/items\"), "
                                     f"not {url!r}")
        return self.route(url, method=method, **options)

    def get(self, url: str = "", **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """``route(url, method="GET", ...)``: a GET route (HEAD is answered too)."""
        return self._shortcut("GET", url, options)

    def post(self, url: str = "", **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """``route(url, method="POST", ...)``."""
        return self._shortcut("POST", url, options)

    def put(self, url: str = "", **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """``route(url, method="PUT", ...)``."""
        return self._shortcut("PUT", url, options)

    def patch(self, url: str = "", **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """``route(url, method="PATCH", ...)``."""
        return self._shortcut("PATCH", url, options)

    def delete(self, url: str = "", **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """``route(url, method="DELETE", ...)``."""
        return self._shortcut("DELETE", url, options)

    def head(self, url: str = "", **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """``route(url, method="HEAD", ...)``."""
        return self._shortcut("HEAD", url, options)

    def options(self, url: str = "", **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """``route(url, method="OPTIONS", ...)``."""
        return self._shortcut("OPTIONS", url, options)

    # -- controllers, filters, error pages ---------------------------------------------
    @overload
    def controller(self, __cls: C) -> C: ...

    @overload
    def controller(self, *, singleton: bool = True, args: Optional[list[Any]] = None,
                   kwargs: Optional[dict[str, Any]] = None) -> Callable[[C], C]: ...

    def controller(self, __cls: Any = None, *, singleton: bool = True, args: Optional[list[Any]] = None,
                   kwargs: Optional[dict[str, Any]] = None) -> Any:
        """Make a controller class a singleton built with ``args``/``kwargs`` (bare or called)."""
        def decorate(cls: C) -> C:
            if not inspect.isclass(cls):
                raise ConfigurationError(f"@controller goes on a class, not {cls!r}")
            self._registry.controllers[cls] = ControllerClass(cls, singleton, tuple(args or ()), dict(kwargs or {}))
            self._changed()
            return cls
        if __cls is not None:
            return decorate(__cls)
        return decorate

    def request_filter(self, path: str = "", regexp: str = "") -> Callable[[F], F]:
        """Register a filter for request paths matching the wildcard ``path`` or ``regexp``.

        On a route group the filter runs only for the group's routes, ``path`` is below the
        group's prefix, and with neither ``path`` nor ``regexp`` it runs for all of them.
        """
        if path and regexp:
            raise ConfigurationError("@request_filter takes a path or a regexp, not both")
        if self._filters_need_pattern and not path and not regexp:
            raise ConfigurationError("@request_filter needs exactly one of path or regexp")

        def decorate(func: F) -> F:
            self._registry.filters.append(FilterSpec(func, path=path, regexp=regexp))
            self._changed()
            return func
        return decorate

    def filter_map(self, regexp: str = "", filter_function: Optional[Callable[..., Any]] = None) -> Callable[[F], F]:
        """The original framework's older filter API: a regexp filter."""
        decorate = self.request_filter(regexp=regexp)
        if filter_function is not None:
            decorate(filter_function)
        return decorate

    @overload
    def error_message(self, __func: F) -> F: ...

    @overload
    def error_message(self, *codes: str) -> Callable[[F], F]: ...

    def error_message(self, *codes: Any) -> Any:
        """Register an error page for status codes (``"404"``), ranges (``"40x"``) or, with
        no code, every error. Its parameters ``code``, ``message`` and ``explain`` are filled
        by name; what it returns is rendered like a controller's result. A group's pages
        answer the errors of its routes (see ``naja_atra.plugins.errors``)."""
        if len(codes) == 1 and callable(codes[0]):
            return self.error_message()(codes[0])
        keys = [str(c).strip().lower() for c in codes] or [""]

        def decorate(func: F) -> F:
            for key in keys:
                self._registry.error_pages[key] = func
            self._changed()
            return func
        return decorate

    # -- WebSocket ---------------------------------------------------------------------
    def websocket_handler(self, endpoint: str = "", regexp: str = "", singleton: bool = True) -> Callable[[C], C]:
        """Handle the WebSocket endpoint at ``endpoint`` (or ``regexp``) with a class whose
        ``on_*`` methods receive the events; one object for all connections unless
        ``singleton=False``."""
        def decorate(cls: C) -> C:
            if not inspect.isclass(cls):
                raise ConfigurationError(f"@websocket_handler goes on a class, not {cls!r}")
            spec = self._registry.websocket(endpoint, regexp)
            if spec.functions:
                raise ConfigurationError(f"WebSocket endpoint {endpoint or regexp!r} already has function handlers")
            spec.owner = ControllerClass(cls, singleton)
            self._changed()
            return cls
        return decorate

    def _websocket_function(self, event: str, endpoint: str, regexp: str) -> Callable[[F], F]:
        def decorate(func: F) -> F:
            spec = self._registry.websocket(endpoint, regexp)
            if spec.owner is not None:
                raise ConfigurationError(f"WebSocket endpoint {endpoint or regexp!r} already has a handler class")
            spec.functions[event] = func
            self._changed()
            return func
        return decorate

    def websocket_handshake(self, endpoint: str = "", regexp: str = "") -> Callable[[F], F]:
        """The function deciding a WebSocket handshake: return ``0``/``None`` to accept or
        ``(status, headers)`` to refuse; its arguments are resolved like a controller's."""
        return self._websocket_function("handshake", endpoint, regexp)

    def websocket_open(self, endpoint: str = "", regexp: str = "") -> Callable[[F], F]:
        """Called with the session when a connection opens."""
        return self._websocket_function("open", endpoint, regexp)

    def websocket_close(self, endpoint: str = "", regexp: str = "") -> Callable[[F], F]:
        """Called with the session and a ``WebsocketCloseReason`` when a connection closes."""
        return self._websocket_function("close", endpoint, regexp)

    def websocket_message(self, endpoint: str = "", regexp: str = "",
                          message_type: str = WEBSOCKET_MESSAGE_TEXT) -> Callable[[F], F]:
        """Called for each message of ``message_type`` (text by default; binary, binary
        frame, ping and pong too)."""
        if message_type not in EVENTS or message_type in ("handshake", "open", "close"):
            raise ConfigurationError(f"Unknown WebSocket message type {message_type!r}")
        return self._websocket_function(message_type, endpoint, regexp)

    # -- groups ------------------------------------------------------------------------
    def include(self, group: RouteGroup, *, prefix: str = "", tags: Tags = (), name: Optional[str] = None,
                include_in_schema: bool = True) -> None:
        """Serve ``group``'s routes, filters, error pages and WebSocket endpoints here, below
        ``prefix`` (then the group's own prefix), with ``tags`` before the group's. ``name``
        replaces the group's name in ``url_for`` names for this inclusion (including one
        group twice needs it). The group is read at each build: what is added to it later is
        served too."""
        from .groups import RouteGroup  # a group is a Registrar: imported when first needed

        if not isinstance(group, RouteGroup):
            raise ConfigurationError(f"include() takes a RouteGroup, not {group!r}")
        where = f"include({group!r})"
        inclusion = Inclusion(group, check_prefix(prefix, where), tags_of(tags, where),
                              None if name is None else check_name(name, where), include_in_schema)
        if group.registry.reaches(self._registry):
            raise ConfigurationError(f"{where}: the group contains this one, so including it would make a cycle")
        self._registry.includes.append(inclusion)
        group._listen(self._changed)
        self._changed()
