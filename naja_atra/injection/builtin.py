"""The built-in argument kinds of naja-atra 1.x and the typed annotations, each compiled once
into a resolver.

Everything about a parameter (where its value comes from, its converter, its fallback,
whether it is required) is decided here at build time; the resolver returned is a small
closure that only reads the request and calls the pre-built converter. A value that is
missing or does not convert raises :class:`~naja_atra.http.errors.InjectionError`
(a 400 naming the parameter, where it was looked for and what was expected).
"""
from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import typing
import uuid
from http.cookies import BaseCookie, Morsel
from typing import TYPE_CHECKING, Any, Callable, Optional

from ..http.errors import ArgumentError, ConfigurationError, HttpError, InjectionError
from ..http.forms import MultipartFile, parse_query
from ..http.json_body import loads_json
from ..http.request import Request
from ..http.request_body import RequestBodyReader
from ..http.response import Response
from ..sessions import Session
from .convert import (
    ConversionError,
    Converter,
    is_body_type,
    is_sequence_type,
    json_converter,
    string_converter,
    strings_converter,
    strip_optional,
    type_label,
)
from .markers import (
    BytesBody,
    Cookie,
    Cookies,
    Environment,
    Header,
    Headers,
    JSONBody,
    Marker,
    ModelDict,
    Parameter,
    Parameters,
    PathValue,
    RegGroup,
    RegGroups,
    Source,
)
from .params import EMPTY, Param, Resolver
from .path_values import RoutePath
from .plan import conversion_error
from .source import ArgumentSource, Location, describe

if TYPE_CHECKING:
    from ..app.context import RequestContext

__all__ = ["builtin_resolver", "constant_resolver", "is_infallible", "Site", "WILDCARD"]

WILDCARD = "*"
_FORM_TYPES = frozenset(("application/x-www-form-urlencoded", "multipart/form-data"))
#: Annotations that take a value as the request gives it (no conversion).
_PLAIN = (Param.EMPTY, Any, str, object)
#: Types of a plain default that type its parameter (``page=1``, ``since=date(2000, 1, 1)``);
#: an ``Enum`` member's class does too.
_DEFAULT_TYPES = frozenset((str, int, float, bool, dict, datetime.date, datetime.datetime, datetime.time,
                            uuid.UUID, decimal.Decimal))
_JSON = "application/json"
_OCTETS = "application/octet-stream"


@dataclasses.dataclass(frozen=True)
class Site:
    """Where the parameters being resolved belong: the path values of their route (None:
    unknown, nothing read by name nor checked) and the ``loads`` of the application's JSON
    codec (None: the standard library's, through ``request.json``)."""

    path: Optional[RoutePath] = None
    loads: Optional[Callable[[Any], Any]] = None


_NO_SITE = Site()


def _mark_infallible(resolver: Resolver) -> Resolver:
    """Tag a resolver that cannot raise ``InjectionError`` (nothing to convert, nothing
    required): the resolvers plugin leaves it out of the argument plan, saving a wrapper
    call per request."""
    setattr(resolver, "infallible", True)
    return resolver


def is_infallible(resolver: Resolver) -> bool:
    """Whether ``resolver`` was built as one that never reports a bad argument."""
    return bool(getattr(resolver, "infallible", False))


def _doc_default(default: Any, required: bool) -> Any:
    """The default a source documents: none for a required value; a marker's own value."""
    if required or isinstance(default, MultipartFile):  # a file has no default to document
        return EMPTY
    if isinstance(default, Cookie):
        return default.value if default.key else EMPTY
    if isinstance(default, Marker):  # the string (or list) the marker holds
        return list(default) if isinstance(default, list) else str(default)
    return default


def _described(resolver: Resolver, location: Location, name: str, annotation: Any, required: bool,
               default: Any = EMPTY, media_type: str = "") -> Resolver:
    """``resolver`` carrying the :class:`ArgumentSource` of what it reads."""
    return describe(resolver, ArgumentSource(location, name, annotation, required, _doc_default(default, required),
                                             media_type))


def _mime(request: Request) -> str:
    return request.content_type.split(";", 1)[0].strip().lower()


def parameter_location(request: Request, name: str) -> str:
    """``"form"`` when a form body carries (or would carry) ``name`` and the query string
    does not, else ``"query"``. Only called on the error path."""
    if request.body and _mime(request) in _FORM_TYPES:
        if not request.query_string or name not in parse_query(request.query_string,
                                                               request.limits.max_form_fields):
            return "form"
    return "query"


def _config_error(param: Param, why: str) -> ConfigurationError:
    return ConfigurationError(f"parameter {param.name!r}: {why}")


def _string_converter(param: Param, annotation: Any) -> Optional[Converter]:
    """The converter of one string value to ``annotation`` (None: keep the string)."""
    if strip_optional(annotation)[0] in _PLAIN:
        return None
    try:
        return string_converter(annotation)
    except TypeError as exc:
        raise _config_error(param, str(exc)) from None


def _default_for(param: Param, annotation: Any, default: Any) -> Any:
    """A marker's string default converted at build time, so that ``page: int =
    Parameter("page", default="1")`` falls back to ``1``; a bad one fails the build."""
    if not isinstance(default, str) or strip_optional(annotation)[0] in _PLAIN:
        return default
    if default == "":  # the original markers' default: "no value"
        return None
    convert = _string_converter(param, annotation)
    if convert is None:
        return default
    try:
        return convert(default)
    except ConversionError as exc:
        raise _config_error(param, f"default {default!r} is not a valid {type_label(annotation)}: "
                                   f"{exc.issues[0].reason}") from None


# -- resolvers for values read from the request ----------------------------------------


def parameter(name: str, convert: Optional[Converter], default: Any, required: bool, expected: str = "str",
              as_marker: bool = False, annotation: Any = str) -> Resolver:
    """A query/form parameter converted by ``convert`` (to ``annotation``); ``default`` when
    absent (a 400 if ``required``). ``as_marker`` gives the string as a ``Parameter``, as the
    original markers do."""
    def resolve(ctx: RequestContext) -> Any:
        request = ctx.request
        value = request.parameter.get(name)
        if value is None:
            if required:
                raise InjectionError.missing(name, parameter_location(request, name), expected)
            return default
        if convert is not None:
            try:
                return convert(value)
            except ConversionError as exc:
                raise conversion_error(exc, name, parameter_location(request, name)) from None
        return Parameter(name, value) if as_marker else value
    _described(resolve, "query", name, annotation, required, default)
    return _mark_infallible(resolve) if convert is None and not required else resolve


def parameter_list(name: str, convert: Optional[Converter], default: Any, required: bool,
                   expected: str = "list[str]", as_markers: bool = False, annotation: Any = list[str]) -> Resolver:
    """Every value of a parameter, converted together by ``convert`` (a strings converter)."""
    def resolve(ctx: RequestContext) -> Any:
        request = ctx.request
        values = request.parameters.get(name)
        if values is None:
            if required:
                raise InjectionError.missing(name, parameter_location(request, name), expected)
            return default
        if convert is not None:
            try:
                return convert(values)
            except ConversionError as exc:
                raise conversion_error(exc, name, parameter_location(request, name)) from None
        if as_markers:
            return [Parameter(name, v) for v in values]
        return list(values)
    _described(resolve, "query", name, annotation, required, default)
    return _mark_infallible(resolve) if convert is None and not required else resolve


def header(name: str, default: Any, required: bool, convert: Optional[Converter] = None,
           expected: str = "str", as_marker: bool = True, annotation: Any = str) -> Resolver:
    """One request header: a ``Header`` string (``as_marker``), the plain string, or
    converted by ``convert``. A name with ``_`` also finds the header spelled with ``-``
    (``x_token`` -> ``X-Token``)."""
    alt = name.replace("_", "-") if "_" in name else None

    def resolve(ctx: RequestContext) -> Any:
        headers = ctx.request.headers
        value = headers.get(name)
        if value is None and alt is not None:
            value = headers.get(alt)
        if value is None:
            if required:
                raise InjectionError.missing(name, "header", expected)
            return default
        if convert is not None:
            try:
                return convert(value)
            except ConversionError as exc:
                raise conversion_error(exc, name, "header") from None
        return Header(name, value) if as_marker else value
    # Documented as clients should spell it: a proxy may drop a header with "_" in its name.
    _described(resolve, "header", alt or name, annotation, required, default)
    return _mark_infallible(resolve) if convert is None and not required else resolve


def cookie(name: str, default: Any, required: bool, convert: Optional[Converter] = None,
           expected: str = "str", as_morsel: bool = True, annotation: Any = str) -> Resolver:
    """One request cookie: a ``Cookie`` morsel, or its value (converted by ``convert``)."""
    def resolve(ctx: RequestContext) -> Any:
        morsel = ctx.request.cookies.get(name)
        if morsel is None:
            if required:
                raise InjectionError.missing(name, "cookie", expected)
            return default
        if as_morsel:
            found = Cookie(name)
            found.set(morsel.key, morsel.value, morsel.coded_value)
            return found
        if convert is not None:
            try:
                return convert(morsel.value)
            except ConversionError as exc:
                raise conversion_error(exc, name, "cookie") from None
        return morsel.value
    _described(resolve, "cookie", name, annotation, required, default)
    return _mark_infallible(resolve) if (as_morsel or convert is None) and not required else resolve


def path_value(name: str, convert: Optional[Converter] = None, as_marker: bool = True,
               annotation: Any = str) -> Resolver:
    """A ``{name}`` path segment (or the wildcard's capture): a ``PathValue`` string
    (``as_marker``), the plain string, or converted by ``convert`` (to ``annotation``). A
    route without that segment fails the build (:class:`RoutePath`); a router of a plugin
    that does not give the value is answered 500."""
    def resolve(ctx: RequestContext) -> Any:
        values = ctx.request.path_values
        value = values.get(name)
        if value is None:
            value = values.get(WILDCARD)
        if value is None:
            raise HttpError(500, "Internal Server Error", f"The route has no path value {name!r}.")
        if convert is not None:
            try:
                return convert(value)
            except ConversionError as exc:
                raise conversion_error(exc, name, "path") from None
        return PathValue(name, value) if as_marker else value
    _described(resolve, "path", name, annotation, True)
    # Without a converter it cannot report a bad argument (only the 500 of a misconfigured route).
    return _mark_infallible(resolve) if convert is None else resolve


def reg_group(index: int, convert: Optional[Converter] = None) -> Resolver:
    """Group ``index`` of the route's regexp match."""
    def resolve(ctx: RequestContext) -> Any:
        groups = ctx.request.reg_groups
        if index >= len(groups):
            raise HttpError(400, "Bad Request", f"RegGroup {index} requested, the match has {len(groups)}.")
        if convert is not None:
            try:
                return convert(groups[index])
            except ConversionError as exc:
                raise conversion_error(exc, f"[{index}]", "path") from None
        return RegGroup(index, groups[index])
    return _mark_infallible(resolve) if convert is None else resolve


def multipart_file(name: str, default: Any, required: bool) -> Resolver:
    """An uploaded file of a multipart form."""
    def resolve(ctx: RequestContext) -> Any:
        request = ctx.request
        files = request.files.get(name)
        if not files:
            if name in request.parameters:
                raise InjectionError([ArgumentError(name, "form", "file", request.parameter.get(name),
                                                    "not a file")])
            if required:
                raise InjectionError.missing(name, "form", "file")
            return default
        return files[0]
    return _described(resolve, "body", name, MultipartFile, required, default, "multipart/form-data")


def _read_json(ctx: RequestContext, name: str, loads: Optional[Callable[[Any], Any]] = None) -> Any:
    """The decoded JSON body (by the codec's ``loads`` when it is not the standard one), or
    an ``InjectionError`` about the body as a whole."""
    request = ctx.request
    mime = _mime(request)
    if mime != _JSON and not mime.endswith("+json"):
        raise InjectionError([ArgumentError(name, "body", _JSON, mime or None,
                                            'the content type of this request must be "application/json"')])
    if loads is None:
        try:
            return request.json
        except HttpError as exc:
            raise InjectionError([ArgumentError(name, "body", "JSON", None,
                                                exc.explain or "not valid JSON")]) from None
    try:
        data = loads_json(request.body, request.limits.max_json_depth, loads)
    except ValueError as exc:  # the depth check's, or the codec's own (UnicodeDecodeError is one)
        raise InjectionError([ArgumentError(name, "body", "JSON", None,
                                            f"not valid JSON: {exc}"[:200])]) from None
    request.json = data  # what other readers of this request's JSON see too
    return data


def json_body(name: str, loads: Optional[Callable[[Any], Any]] = None) -> Resolver:
    """The JSON body as a ``JSONBody`` dict (or the decoded value when it is not an object)."""
    def resolve(ctx: RequestContext) -> Any:
        data = _read_json(ctx, name, loads)
        return JSONBody(data) if isinstance(data, dict) else data
    return _described(resolve, "body", "", Any, True, media_type=_JSON)


def typed_body(name: str, convert: Converter, default: Any, required: bool, expected: str,
               loads: Optional[Callable[[Any], Any]] = None, annotation: Any = Any) -> Resolver:
    """The JSON body converted by ``convert`` to ``annotation`` (every bad field reported,
    by its path).

    Without a body (or without a JSON content type and an empty body), ``default`` when
    the parameter has one, else a 400."""
    def resolve(ctx: RequestContext) -> Any:
        request = ctx.request
        if not request.body:
            if required:
                raise InjectionError.missing(name, "body", expected)
            return default
        data = _read_json(ctx, name, loads)
        try:
            return convert(data)
        except ConversionError as exc:
            raise conversion_error(exc, name, "body") from None
    return _described(resolve, "body", "", annotation, required, default, _JSON)


def model_dict(ctx: RequestContext) -> ModelDict:
    """Every parameter: one value as itself, several as a list."""
    return ModelDict({k: v[0] if len(v) == 1 else list(v) for k, v in ctx.request.parameters.items()})


def session(ctx: RequestContext) -> Any:
    """The request's session, created when it has none."""
    return ctx.request.get_session(True)


def body_reader(ctx: RequestContext) -> RequestBodyReader:
    """The request body as a stream; a route that takes it does not read its body first."""
    return ctx.request.reader


body_reader.streams_body = True  # type: ignore[attr-defined]

_BY_TYPE: dict[Any, Resolver] = {
    Request: lambda ctx: ctx.request,
    RequestBodyReader: body_reader,
    Response: lambda ctx: ctx.response,
    Headers: lambda ctx: Headers(dict(ctx.request.headers)),
    Cookies: lambda ctx: ctx.request.cookies,
    BaseCookie: lambda ctx: ctx.request.cookies,
    RegGroups: lambda ctx: RegGroups(ctx.request.reg_groups),
    Environment: lambda ctx: Environment(ctx.request.environment),
    BytesBody: lambda ctx: BytesBody(ctx.request.body),
    ModelDict: model_dict,
}
for _resolver in _BY_TYPE.values():
    _mark_infallible(_resolver)
_mark_infallible(session)
# The two that read the request's body (shared by every route: one description fits all).
_described(_BY_TYPE[BytesBody], "body", "", bytes, False, media_type=_OCTETS)
_described(body_reader, "body", "", bytes, False, media_type=_OCTETS)


def constant_resolver(value: Any) -> Resolver:
    """A resolver that always gives ``value`` (a default no kind claims)."""
    return _mark_infallible(lambda ctx: value)


# -- choosing ------------------------------------------------------------------------------


def _is_class(tp: Any, base: typing.Union[type, tuple[type, ...]]) -> bool:
    return isinstance(tp, type) and issubclass(tp, base)


def _body(param: Param, annotation: Any, default: Any, required: bool, name: str, site: Site) -> Resolver:
    try:
        convert = json_converter(annotation)
    except TypeError as exc:
        raise _config_error(param, str(exc)) from None
    return typed_body(name, convert, default, required, type_label(annotation), site.loads, annotation)


def _query(param: Param, name: str, annotation: Any, default: Any, required: bool,
           as_marker: bool = False) -> Resolver:
    """A parameter read as ``annotation``: every value for a list type, else the first."""
    if is_sequence_type(annotation):
        inner = strip_optional(annotation)[0]
        try:
            convert = strings_converter(inner)
        except TypeError as exc:
            raise _config_error(param, str(exc)) from None
        item_args = typing.get_args(inner)
        as_markers = bool(item_args) and item_args[0] is Parameter
        documented = list[str] if inner in (list, typing.List) or as_markers else annotation
        return parameter_list(name, None if as_markers else convert, default, required,
                              type_label(inner), as_markers, documented)
    plain = annotation is Param.EMPTY or _is_class(strip_optional(annotation)[0], Parameter)
    return parameter(name, _string_converter(param, annotation), default, required,
                     "str" if annotation is Param.EMPTY else type_label(annotation), as_marker,
                     str if plain else annotation)


def _path(param: Param, name: str, site: Site, convert: Optional[Converter] = None, as_marker: bool = True,
          annotation: Any = str) -> Resolver:
    """A path value the route must have (checked against ``site.path`` when it is known)."""
    if site.path is not None:
        site.path.check(param.name, name)
    return path_value(name, convert, as_marker, annotation)


def _from_source(param: Param, source: Source, site: Site) -> Resolver:
    """An ``Annotated`` alias of ``naja_atra.injection.aliases``: required unless the
    parameter has a default; the value converted to the annotation."""
    name = source.name or param.name
    annotation = param.annotation if param.annotation is not Param.EMPTY else str
    required = not param.has_default
    default = param.default if param.has_default else None
    kind = source.kind
    if kind == "query":
        return _query(param, name, annotation, default, required)
    if kind == "body":
        return _body(param, annotation, default, required, name, site)
    expected = type_label(annotation)
    if is_sequence_type(annotation):
        raise _config_error(param, f"a {kind} holds one value, not a {expected}")
    convert = _string_converter(param, annotation)
    if kind == "header":
        return header(name, default, required, convert, expected, as_marker=False, annotation=annotation)
    if kind == "cookie":
        return cookie(name, default, required, convert, expected, as_morsel=False, annotation=annotation)
    return _path(param, name, site, convert, False, annotation)


def _marker_fallback(param: Param, marker: Marker, annotation: Any, in_metadata: bool) -> tuple[Any, bool]:
    """The value used when the request lacks the marker's value, and whether it is required."""
    if in_metadata:
        if param.has_default:
            return param.default, marker.required
        own = getattr(marker, "default", "")
        if isinstance(marker, (Parameter, Header)) and own != "":
            # ``Annotated[int, Parameter("p", default=5)]``: the marker's own default.
            return _default_for(param, annotation, own), marker.required
        return None, True
    if isinstance(marker, (Parameter, Header)):
        default = marker.default
        if default is None:
            return None, marker.required
        if strip_optional(annotation)[0] in _PLAIN or _is_class(annotation, type(marker)):
            # As in naja-atra 1.x: the marker is the fallback, a string holding its default. A default
            # that is not a string (typed by the overloads as its own type) is kept as is.
            return (marker if isinstance(default, str) else default), marker.required
        return _default_for(param, annotation, default), marker.required
    if isinstance(marker, Cookie) and not _cookie_as_morsel(annotation):
        return _default_for(param, annotation, marker.value if marker.key else ""), marker.required
    return marker, marker.required


def _cookie_as_morsel(annotation: Any) -> bool:
    tp = strip_optional(annotation)[0]
    return tp in (Param.EMPTY, Any, object) or _is_class(tp, Morsel)


def _from_marker(param: Param, marker: Marker, site: Site, in_metadata: bool = False) -> Optional[Resolver]:
    name = marker.name or param.name
    annotation = param.annotation
    tp = strip_optional(annotation)[0]
    fallback, required = _marker_fallback(param, marker, annotation, in_metadata)
    if isinstance(marker, Parameter):
        plain = tp in _PLAIN or _is_class(tp, Parameter)
        if plain:
            return parameter(name, None, fallback, required, "str", as_marker=not in_metadata or tp is Parameter)
        return _query(param, name, annotation, fallback, required)
    if isinstance(marker, Header):
        if tp in _PLAIN or _is_class(tp, Header):
            return header(name, fallback, required)
        return header(name, fallback, required, _string_converter(param, annotation), type_label(annotation),
                      annotation=annotation)
    if isinstance(marker, PathValue):
        if tp in _PLAIN or _is_class(tp, PathValue):
            return _path(param, name, site)
        return _path(param, name, site, _string_converter(param, annotation), annotation=annotation)
    if isinstance(marker, RegGroup):
        if tp in _PLAIN or _is_class(tp, RegGroup):
            return reg_group(marker.group)
        return reg_group(marker.group, _string_converter(param, annotation))
    if isinstance(marker, Parameters):
        list_type = annotation if is_sequence_type(annotation) else list
        return _query(param, name, list_type, fallback, required)
    if isinstance(marker, Cookie):
        if _cookie_as_morsel(annotation):
            return cookie(name, fallback, required)
        return cookie(name, fallback, required, _string_converter(param, annotation), type_label(annotation),
                      as_morsel=False, annotation=annotation)
    if isinstance(marker, Source):
        return _from_source(param, marker, site)
    return None


def _from_value_default(param: Param, site: Site) -> Optional[Resolver]:
    """Defaults that are markers or framework objects (no annotation needed)."""
    default = param.default
    if isinstance(default, Marker):
        return _from_marker(param, default, site)
    if isinstance(default, MultipartFile):
        return multipart_file(default.name or param.name, default, default.required)
    if isinstance(default, Session):
        return session
    if type(default) is JSONBody:
        return json_body(param.name, site.loads)
    for tp, resolver in _BY_TYPE.items():
        if type(default) is tp:
            return resolver
    return None


def _from_annotation(param: Param, tp: Any, site: Site) -> Optional[Resolver]:
    """A plain annotation (``Optional`` removed as ``tp``)."""
    required = not param.has_default
    default = None if required else param.default
    annotation = param.annotation
    if isinstance(tp, type):
        resolver = _BY_TYPE.get(tp)
        if resolver is not None:
            return resolver
        if tp is JSONBody:
            return json_body(param.name, site.loads)
        if issubclass(tp, Session):
            return session
        if issubclass(tp, Request):
            return _BY_TYPE[Request]
        if issubclass(tp, Response):
            return _BY_TYPE[Response]
        if issubclass(tp, Header):
            return header(param.name, default, required)
        if issubclass(tp, Cookie) or tp is Morsel:
            return cookie(param.name, default, required)
        if issubclass(tp, PathValue):
            return _path(param, param.name, site)
        if issubclass(tp, RegGroup):
            return reg_group(0)
        if issubclass(tp, Parameters):
            return parameter_list(param.name, None, default, required)
        if issubclass(tp, MultipartFile):
            return multipart_file(param.name, default, required)
        if tp is Parameter:
            return parameter(param.name, None, default, required, "str", as_marker=True)
        if dataclasses.is_dataclass(tp):
            return _body(param, annotation, default, required, param.name, site)
    if isinstance(tp, str):  # a forward reference that did not resolve
        return None
    if is_body_type(tp):
        return _body(param, annotation, default, required, param.name, site)
    try:
        string_converter(annotation) if not is_sequence_type(annotation) else strings_converter(tp)
    except TypeError:
        return None  # not a type read from a parameter: another plugin, or the build, decides
    return _query(param, param.name, annotation, default, required)


def _default_type(default: Any) -> Optional[type]:
    """The type a plain default gives its parameter (``page=1``: ``int``), or None."""
    tp = type(default)
    return tp if tp in _DEFAULT_TYPES or isinstance(default, enum.Enum) else None


def _by_path_name(param: Param, tp: Any) -> Optional[Resolver]:
    """A parameter named like a ``{value}`` of its route's path, with no marker: that value,
    converted by the annotation (or the type of the default). None when the annotation
    stands for something else (the request, a session, a JSON body, a model binding's
    type...): it keeps that meaning."""
    annotation = param.annotation
    if tp is Param.EMPTY or tp is Any:
        inferred = _default_type(param.default) if param.has_default else None
        annotation = inferred if inferred not in (None, str, dict) else str
        tp = annotation
    if is_sequence_type(annotation):
        raise _config_error(param, f"named like the path value {{{param.name}}}, which holds one value, "
                                   f"not a {type_label(annotation)}; rename it or give it a marker (Query[...])")
    if (isinstance(tp, str) or is_body_type(tp) or _is_class(tp, (Marker, dict, Session, Request, Response, Morsel))
            or (typing.get_origin(tp) or tp) in (dict, typing.Dict)):
        return None
    try:
        convert = None if tp in _PLAIN else string_converter(annotation)
    except TypeError:
        return None
    return path_value(param.name, convert, as_marker=False, annotation=str if tp in _PLAIN else annotation)


def builtin_resolver(param: Param, fallback: bool = True, site: Optional[Site] = None) -> Optional[Resolver]:
    """The resolver for an argument kind of naja-atra 1.x or a typed parameter, or None when
    ``param`` is none of them.

    Order: a marker (or alias ``Source``) in ``Annotated`` metadata, a marker or framework
    object as default, the value of the route's path named like the parameter (``site``),
    the annotation, then the type of a plain default; a bare name is a required ``str``
    parameter. With ``fallback`` (the default), a parameter nothing claims but that has a
    default gets that default as a constant; without it, None is returned so that a
    ``default_model_binding`` can take it.

    Raises ``ConfigurationError`` for a supported kind used wrongly (a default that does
    not convert to the annotation, a dataclass whose fields do not convert, a path value
    the route does not have).
    """
    site = site or _NO_SITE
    tp, optional = strip_optional(param.annotation)
    explicit_default = param.has_default
    if optional and not explicit_default:  # ``x: Optional[int]``: None when absent
        param = dataclasses.replace(param, default=None)
    for meta in param.metadata:
        if isinstance(meta, Marker):
            return _from_marker(param, meta, site, in_metadata=True)
    resolver = _from_value_default(param, site)
    if resolver is not None:
        return resolver
    if site.path is not None and param.name in site.path.names:
        resolver = _by_path_name(param, tp)
        if resolver is not None:
            return resolver
    if tp is not Param.EMPTY and tp is not Any:
        resolver = _from_annotation(param, tp, site)
        if resolver is not None or not explicit_default or isinstance(tp, str):
            return resolver
    elif not param.has_default:
        return parameter(param.name, None, None, True)
    else:
        default_type = _default_type(param.default)
        if default_type is not None:
            return _query(param, param.name, default_type, param.default, False)
        if type(param.default) is list:
            return parameter_list(param.name, None, param.default, False)
    return constant_resolver(param.default) if fallback else None
