"""What a registration records: routes, filters, error pages, and the router contract."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Protocol, Sequence

if TYPE_CHECKING:
    from .registry import Inclusion

Handler = Callable[..., Any]

#: The pseudo-method of WebSocket routes; an upgrade request is matched with it.
WEBSOCKET_METHOD = "WEBSOCKET"


@dataclass(eq=False)
class ControllerClass:
    """A class whose methods are routes: how its instances are made.

    With ``singleton`` one object (built lazily with ``args``/``kwargs``) serves every request;
    otherwise a new object is made for each request.
    """

    cls: type
    singleton: bool = False
    args: Sequence[Any] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    prefix: str = ""
    methods: tuple[str, ...] = ()
    _instance: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def instance(self) -> Any:
        """The object a method route runs on: the class's singleton, or a new object."""
        if not self.singleton:
            return self.cls(*self.args, **self.kwargs)
        if self._instance is None:
            with self._lock:
                if self._instance is None:
                    self._instance = self.cls(*self.args, **self.kwargs)
        return self._instance


@dataclass(eq=False)
class Route:
    """One registered HTTP route.

    ``path`` is normalised to start with ``/`` unless it starts with a wildcard; it may hold
    ``{name}`` segments and ``*``/``**`` wildcards. A route has either ``path`` or ``regexp``.
    ``methods`` is upper-case; empty means every method. ``params``/``headers`` are the
    narrowing expressions of the original API (``a=b``, ``a!=b``, ``a^=b``, ``!a``, ``a``).
    ``owner`` is the function's class when the handler is a method (resolved at build).
    ``extras`` is free for plugins to annotate (``naja_atra_route_added``).
    ``max_body_size`` is the route's request body limit in bytes (None: the application's).
    ``endpoint`` names the route for ``url_for`` (empty: the handler's ``__name__``); the
    registry sets it on the routes it makes (``name=``, or the function's ``__name__``, or
    ``Class.method``, after the names of the groups the route is in: ``users.show``).
    ``tags`` group it in the OpenAPI document; ``include_in_schema=False`` leaves it out.
    ``inclusions`` is the chain of group inclusions the route came through, outermost first
    (empty for the application's own routes): a group's filters and error pages apply to
    the routes whose chain starts with the group's.
    """

    handler: Handler
    path: str = ""
    regexp: str = ""
    methods: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    match_all_params: bool = True
    match_all_headers: bool = True
    owner: Optional[ControllerClass] = None
    extras: dict[str, Any] = field(default_factory=dict)
    max_body_size: Optional[int] = None
    endpoint: str = ""
    tags: tuple[str, ...] = ()
    include_in_schema: bool = True
    inclusions: tuple[Inclusion, ...] = ()

    @property
    def name(self) -> str:
        """The handler's qualified name, for messages and the route table."""
        module = getattr(self.handler, "__module__", "?")
        return f"{module}.{getattr(self.handler, '__qualname__', self.handler)}"

    def describe(self) -> str:
        """One line for ``--routes`` and error messages."""
        methods = ",".join(self.methods) or "*"
        where = self.path or f"regexp:{self.regexp}"
        return f"{methods:<12} {where:<40} {self.name}"


@dataclass(eq=False)
class FilterSpec:
    """A request filter: a wildcard ``path`` or a ``regexp`` over the request path, and the function.

    With neither, it applies to every request its ``inclusions`` allow: the chain of group
    inclusions the filter was registered in (see ``Route.inclusions``). A filter applies only
    to routes whose chain starts with its own; empty (an application's filter) means every route.
    """

    func: Callable[..., Any]
    path: str = ""
    regexp: str = ""
    inclusions: tuple[Inclusion, ...] = ()

    def applies_to(self, route: Optional[Route]) -> bool:
        """Whether this filter may run for ``route`` (its path is tested separately)."""
        if not self.inclusions:
            return True
        return route is not None and route.inclusions[:len(self.inclusions)] == self.inclusions


class RoutingInput(Protocol):
    """What a router may look at besides method and path: the narrowing inputs."""

    @property
    def parameters(self) -> Mapping[str, Sequence[str]]: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


@dataclass
class RouteMatch:
    """A router's answer: the route plus the values it captured from the path."""

    route: Route
    path_values: dict[str, str]
    reg_groups: tuple[str, ...] = ()


class Router(Protocol):
    """Matches a request to a route; made once per build by ``naja_atra_make_router``."""

    def match(self, method: str, path: str, request: RoutingInput) -> RouteMatch:
        """The route for this request.

        Raises ``HttpError(404)`` when no route has the path and ``MethodNotAllowed`` (405,
        with the allowed methods) when routes have the path but not the method.
        """
        ...

    def table(self) -> list[Route]:
        """Every route, in the order the router tries them (for ``--routes``)."""
        ...
