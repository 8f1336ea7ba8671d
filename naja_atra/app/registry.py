"""What the decorators of an application or a route group record, and how it becomes routes
(with those of the included groups) at build time."""
from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, Union

from ..http.errors import ConfigurationError
from ..websocket.api import WebsocketHandler
from ..websocket.endpoint import WebsocketSpec
from .routes import WEBSOCKET_METHOD, ControllerClass, FilterSpec, Route

if TYPE_CHECKING:
    from .groups import RouteGroup

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
    """One ``@route``/``@request_map`` call: the route as written (before any class or group
    prefix; ``endpoint`` is the ``name=`` given, or empty), and whether the function is a
    method of a class that is yet to be found."""

    route: Route
    is_method: bool = False


@dataclass(eq=False)
class ClassMapping:
    """``@route`` on a class: the prefix, methods, tags and schema flag its routes inherit."""

    path: str = ""
    methods: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    include_in_schema: bool = True


@dataclass(eq=False)
class Inclusion:
    """One ``include(group, ...)``: the group and what this inclusion adds to its routes.

    ``name`` None means the group's own name. Compared by identity: the same group included
    twice is two inclusions, with routes, filters and error pages of their own.
    """

    group: RouteGroup
    prefix: str = ""
    tags: tuple[str, ...] = ()
    name: Optional[str] = None
    include_in_schema: bool = True


@dataclass(frozen=True)
class Scope:
    """Where a registry's records land when routes are resolved: the prefix, tags, endpoint
    namespace and schema flag of the inclusions above it, and the inclusions themselves."""

    prefix: str = ""
    tags: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    trail: tuple[Inclusion, ...] = ()
    in_schema: bool = True

    def enter(self, inclusion: Inclusion) -> Scope:
        """The scope of the routes of ``inclusion``'s group."""
        group = inclusion.group
        name = group.name if inclusion.name is None else inclusion.name
        prefix = under(under(self.prefix, normalise_prefix(inclusion.prefix)), normalise_prefix(group.prefix))
        return Scope(prefix, merge_tags(self.tags, inclusion.tags, group.tags),
                     self.names + ((name,) if name else ()), self.trail + (inclusion,),
                     self.in_schema and inclusion.include_in_schema and group.include_in_schema)

    def path(self, path: str) -> str:
        """``path`` (normalised; "" for the scope's prefix itself) under this scope's prefix."""
        return under(self.prefix, path) or "/"

    def endpoint(self, name: str) -> str:
        """``name`` in this scope's namespace (``users.show``)."""
        return ".".join(self.names + (name,))


def normalise_prefix(prefix: str) -> str:
    """A group prefix as it is joined: a leading ``/``, no trailing one (``"/"`` is none)."""
    return normalise_path(prefix).rstrip("/")


def under(prefix: str, path: str) -> str:
    """``path`` below ``prefix``: an empty path is the prefix itself, and a path that starts
    with a wildcard (``*.html``) becomes a segment of its own (``/v1/*.html``)."""
    if not prefix or not path:
        return prefix + path
    if path.startswith("*"):
        return prefix + "/" + path
    return prefix + path


def merge_tags(*groups: tuple[str, ...]) -> tuple[str, ...]:
    """The tags of several levels, outermost first, each once."""
    return tuple(dict.fromkeys(tag for tags in groups for tag in tags))


def tags_of(tags: Union[str, Sequence[str]], where: str) -> tuple[str, ...]:
    """``tags=`` as a tuple: a string is one tag; each tag a non-empty string."""
    items = [tags] if isinstance(tags, str) else list(tags)
    for tag in items:
        if not isinstance(tag, str) or not tag.strip():
            raise ConfigurationError(f"{where}: tags must be non-empty strings, not {tag!r}")
    return tuple(dict.fromkeys(tag.strip() for tag in items))


def check_name(name: object, where: str) -> str:
    """A route or group name for ``url_for``: a string without ``.`` (dots join the names of
    nested groups, so a dotted name could be read two ways); "" means the default."""
    if not isinstance(name, str) or "." in name:
        raise ConfigurationError(f"{where}: a name is a string without '.', not {name!r}")
    return name.strip()


def check_prefix(prefix: object, where: str) -> str:
    """A group prefix: a path string (its ``{name}`` segments are those of the routes below)."""
    if not isinstance(prefix, str):
        raise ConfigurationError(f"{where}: prefix must be a string, not {prefix!r}")
    return prefix


@dataclass
class Registry:
    """Everything the decorators of one application or group recorded, in order."""

    mappings: list[Mapping] = field(default_factory=list)
    class_mappings: dict[type, ClassMapping] = field(default_factory=dict)
    controllers: dict[type, ControllerClass] = field(default_factory=dict)
    filters: list[FilterSpec] = field(default_factory=list)
    error_pages: dict[str, Callable[..., Any]] = field(default_factory=dict)
    websockets: dict[tuple[str, str], WebsocketSpec] = field(default_factory=dict)
    includes: list[Inclusion] = field(default_factory=list)

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

    def websocket_routes(self, scope: Scope = Scope()) -> list[Route]:
        """One ``WEBSOCKET`` route per endpoint; its controller is the handshake callable."""
        routes = []
        for spec in self.websockets.values():
            owner = spec.owner
            if owner is not None:
                handler = getattr(owner.cls, "on_handshake", None) or WebsocketHandler.on_handshake
            else:
                handler = spec.functions.get("handshake") or _accept_handshake
            if spec.regexp:
                _check_regexp_scope(scope, f"WebSocket endpoint regexp={spec.regexp!r}")
            routes.append(Route(handler=handler, path="" if spec.regexp else scope.path(spec.endpoint),
                                regexp=spec.regexp, methods=(WEBSOCKET_METHOD,), owner=owner,
                                extras={"websocket": spec}, tags=scope.tags, include_in_schema=scope.in_schema,
                                inclusions=scope.trail))
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
        """Every registered mapping as a resolved ``Route``, with those of the included groups
        (class and group prefixes applied, tags and names composed).

        Raises ``ConfigurationError`` when two different routes were given the same
        ``name=`` (after their groups' names), or a regexp route sits under a group prefix.
        """
        routes: list[Route] = []
        explicit: dict[str, Route] = {}
        self._collect(Scope(), routes, explicit, 0)
        return routes

    def _collect(self, scope: Scope, out: list[Route], explicit: dict[str, Route], depth: int) -> None:
        if depth > MAX_GROUP_DEPTH:  # include() refuses cycles; this bounds the walk regardless
            raise ConfigurationError(f"Groups nested more than {MAX_GROUP_DEPTH} deep")
        for m in self.mappings:
            route = self._resolve(m, scope)
            if m.route.endpoint:
                _claim_name(explicit, route)
            out.append(route)
        out.extend(self.websocket_routes(scope))
        for inclusion in self.includes:
            inclusion.group.registry._collect(scope.enter(inclusion), out, explicit, depth + 1)

    def _resolve(self, m: Mapping, scope: Scope) -> Route:
        """One mapping as a route of ``scope``."""
        written = m.route
        if written.regexp:
            _check_regexp_scope(scope, f"route {written.name} (regexp={written.regexp!r})")
        if not m.is_method:
            return replace(written, path="" if written.regexp else scope.path(normalise_path(written.path)),
                           endpoint=scope.endpoint(written.endpoint or _default_name(written.handler)),
                           tags=merge_tags(scope.tags, written.tags),
                           include_in_schema=scope.in_schema and written.include_in_schema,
                           extras=dict(written.extras), inclusions=scope.trail)
        cls = self.owner_class(written.handler)
        owner = self.controller_for(cls)
        mapping = self.class_mappings.get(cls, ClassMapping())
        path = "" if written.regexp else scope.path(_class_path(owner.prefix, written.path))
        name = written.endpoint or f"{cls.__name__}.{written.handler.__name__}"
        return replace(written, path=path, methods=written.methods or owner.methods, owner=owner,
                       endpoint=scope.endpoint(name), tags=merge_tags(scope.tags, mapping.tags, written.tags),
                       include_in_schema=scope.in_schema and mapping.include_in_schema and written.include_in_schema,
                       extras=dict(written.extras), inclusions=scope.trail)

    def request_filters(self) -> list[FilterSpec]:
        """The filters of this registry, then those of its groups (each group's path below its
        prefix, and scoped to the group's routes), outermost first."""
        filters: list[FilterSpec] = []
        self._collect_filters(Scope(), filters, 0)
        return filters

    def _collect_filters(self, scope: Scope, out: list[FilterSpec], depth: int) -> None:
        if depth > MAX_GROUP_DEPTH:
            raise ConfigurationError(f"Groups nested more than {MAX_GROUP_DEPTH} deep")
        for spec in self.filters:
            if not scope.trail:
                out.append(spec)
                continue
            path = under(scope.prefix, normalise_path(spec.path)) if spec.path else ""
            out.append(FilterSpec(spec.func, path=path, regexp=spec.regexp, inclusions=scope.trail))
        for inclusion in self.includes:
            inclusion.group.registry._collect_filters(scope.enter(inclusion), out, depth + 1)

    def reaches(self, other: Registry, depth: int = 0) -> bool:
        """Whether ``other`` is this registry or one of its groups, at any depth."""
        if other is self:
            return True
        if depth > MAX_GROUP_DEPTH:
            raise ConfigurationError(f"Groups nested more than {MAX_GROUP_DEPTH} deep")
        return any(inc.group.registry.reaches(other, depth + 1) for inc in self.includes)


#: How deep groups may nest; far more than any real tree, and it bounds every walk of one.
MAX_GROUP_DEPTH = 32


def _default_name(handler: Callable[..., Any]) -> str:
    """A function's ``__name__``; for a callable object (no ``__name__``), its class's."""
    name = getattr(handler, "__name__", None)
    return name if isinstance(name, str) else type(handler).__name__


def _class_path(prefix: str, path: str) -> str:
    """A method's path below its class prefix; "" when both are empty (the group's prefix
    itself, or ``/`` outside a group)."""
    if not prefix and not path:
        return ""
    return join_paths(prefix, path)


def _check_regexp_scope(scope: Scope, what: str) -> None:
    """A regular expression is matched against the whole path: a group prefix cannot apply."""
    if scope.prefix:
        raise ConfigurationError(
            f"{what} is in a group under the prefix {scope.prefix!r}, which a regexp cannot take: "
            "write the prefix into the regexp and include its group without one")


def _claim_name(explicit: dict[str, Route], route: Route) -> None:
    """Record a ``name=``; the same name on another handler, or the same handler reached
    through another inclusion, is a mistake url_for could not resolve."""
    seen = explicit.setdefault(route.endpoint, route)
    if seen is not route and (seen.handler is not route.handler or seen.inclusions != route.inclusions):
        hint = " (a group included twice needs include(..., name=...) for one of them)" \
            if seen.handler is route.handler else ""
        raise ConfigurationError(
            f"Two routes are named {route.endpoint!r}: {seen.describe().strip()} and "
            f"{route.describe().strip()}{hint}")


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
                max_body_size: Optional[int] = None, *, name: str = "", tags: tuple[str, ...] = (),
                include_in_schema: bool = True) -> Mapping:
    """The record of one ``@route`` on ``func`` (``name``: its ``url_for`` name, "" for the default)."""
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
        max_body_size=max_body_size, endpoint=name, tags=tags, include_in_schema=include_in_schema)
    return Mapping(route, is_method=_looks_like_method(func))
