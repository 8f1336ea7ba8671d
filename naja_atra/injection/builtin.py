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
import typing
from http.cookies import BaseCookie, Morsel
from typing import TYPE_CHECKING, Any, Optional

from ..http.errors import ArgumentError, ConfigurationError, HttpError, InjectionError
from ..http.forms import MultipartFile, parse_query
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
from .params import Param, Resolver
from .plan import conversion_error

if TYPE_CHECKING:
    from ..app.context import RequestContext

__all__ = ["builtin_resolver", "constant_resolver", "is_infallible", "WILDCARD"]

WILDCARD = "*"
_FORM_TYPES = frozenset(("application/x-www-form-urlencoded", "multipart/form-data"))
#: Annotations that take a value as the request gives it (no conversion).
_PLAIN = (Param.EMPTY, Any, str, object)


def _mark_infallible(resolver: Resolver) -> Resolver:
    """Tag a resolver that cannot raise ``InjectionError`` (nothing to convert, nothing
    required): the resolvers plugin leaves it out of the argument plan, saving a wrapper
    call per request."""
    setattr(resolver, "infallible", True)
    return resolver


def is_infallible(resolver: Resolver) -> bool:
    """Whether ``resolver`` was built as one that never reports a bad argument."""
    return bool(getattr(resolver, "infallible", False))


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
              as_marker: bool = False) -> Resolver:
    """A query/form parameter converted by ``convert``; ``default`` when absent (a 400 if
    ``required``). ``as_marker`` gives the string as a ``Parameter``, as the original markers do."""
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
    return _mark_infallible(resolve) if convert is None and not required else resolve


def parameter_list(name: str, convert: Optional[Converter], default: Any, required: bool,
                   expected: str = "list[str]", as_markers: bool = False) -> Resolver:
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
    return _mark_infallible(resolve) if convert is None and not required else resolve


def header(name: str, default: Any, required: bool, convert: Optional[Converter] = None,
           expected: str = "str", as_marker: bool = True) -> Resolver:
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
    return _mark_infallible(resolve) if convert is None and not required else resolve


def cookie(name: str, default: Any, required: bool, convert: Optional[Converter] = None,
           expected: str = "str", as_morsel: bool = True) -> Resolver:
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
    return _mark_infallible(resolve) if (as_morsel or convert is None) and not required else resolve


def path_value(name: str, convert: Optional[Converter] = None, as_marker: bool = True) -> Resolver:
    """A ``{name}`` path segment (or the wildcard's capture): a ``PathValue`` string
    (``as_marker``), the plain string, or converted by ``convert``. A route without that
    segment is a configuration error (500)."""
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
    return resolve


def _read_json(ctx: RequestContext, name: str) -> Any:
    """The decoded JSON body, or an ``InjectionError`` about the body as a whole."""
    request = ctx.request
    mime = _mime(request)
    if mime != "application/json" and not mime.endswith("+json"):
        raise InjectionError([ArgumentError(name, "body", "application/json", mime or None,
                                            'the content type of this request must be "application/json"')])
    try:
        return request.json
    except HttpError as exc:
        raise InjectionError([ArgumentError(name, "body", "JSON", None, exc.explain or "not valid JSON")]) from None


def json_body(name: str) -> Resolver:
    """The JSON body as a ``JSONBody`` dict (or the decoded value when it is not an object)."""
    def resolve(ctx: RequestContext) -> Any:
        data = _read_json(ctx, name)
        return JSONBody(data) if isinstance(data, dict) else data
    return resolve


def typed_body(name: str, convert: Converter, default: Any, required: bool, expected: str) -> Resolver:
    """The JSON body converted by ``convert`` (every bad field reported, by its path).

    Without a body (or without a JSON content type and an empty body), ``default`` when
    the parameter has one, else a 400."""
    def resolve(ctx: RequestContext) -> Any:
        request = ctx.request
        if not request.body:
            if required:
                raise InjectionError.missing(name, "body", expected)
            return default
        data = _read_json(ctx, name)
        try:
            return convert(data)
        except ConversionError as exc:
            raise conversion_error(exc, name, "body") from None
    return resolve


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


def constant_resolver(value: Any) -> Resolver:
    """A resolver that always gives ``value`` (a default no kind claims)."""
    return _mark_infallible(lambda ctx: value)


# -- choosing ------------------------------------------------------------------------------


def _is_class(tp: Any, base: type) -> bool:
    return isinstance(tp, type) and issubclass(tp, base)


def _body(param: Param, annotation: Any, default: Any, required: bool, name: str) -> Resolver:
    try:
        convert = json_converter(annotation)
    except TypeError as exc:
        raise _config_error(param, str(exc)) from None
    return typed_body(name, convert, default, required, type_label(annotation))


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
        return parameter_list(name, None if as_markers else convert, default, required,
                              type_label(inner), as_markers)
    return parameter(name, _string_converter(param, annotation), default, required,
                     type_label(annotation) if annotation is not Param.EMPTY else "str", as_marker)


def _from_source(param: Param, source: Source) -> Resolver:
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
        return _body(param, annotation, default, required, name)
    expected = type_label(annotation)
    if is_sequence_type(annotation):
        raise _config_error(param, f"a {kind} holds one value, not a {expected}")
    convert = _string_converter(param, annotation)
    if kind == "header":
        return header(name, default, required, convert, expected, as_marker=False)
    if kind == "cookie":
        return cookie(name, default, required, convert, expected, as_morsel=False)
    return path_value(name, convert, as_marker=False)


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


def _from_marker(param: Param, marker: Marker, in_metadata: bool = False) -> Optional[Resolver]:
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
        return header(name, fallback, required, _string_converter(param, annotation), type_label(annotation))
    if isinstance(marker, PathValue):
        if tp in _PLAIN or _is_class(tp, PathValue):
            return path_value(name)
        return path_value(name, _string_converter(param, annotation))
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
                      as_morsel=False)
    if isinstance(marker, Source):
        return _from_source(param, marker)
    return None


def _from_value_default(param: Param) -> Optional[Resolver]:
    """Defaults that are markers or framework objects (no annotation needed)."""
    default = param.default
    if isinstance(default, Marker):
        return _from_marker(param, default)
    if isinstance(default, MultipartFile):
        return multipart_file(default.name or param.name, default, default.required)
    if isinstance(default, Session):
        return session
    if type(default) is JSONBody:
        return json_body(param.name)
    for tp, resolver in _BY_TYPE.items():
        if type(default) is tp:
            return resolver
    return None


def _from_annotation(param: Param, tp: Any) -> Optional[Resolver]:
    """A plain annotation (``Optional`` removed as ``tp``)."""
    required = not param.has_default
    default = None if required else param.default
    annotation = param.annotation
    if isinstance(tp, type):
        resolver = _BY_TYPE.get(tp)
        if resolver is not None:
            return resolver
        if tp is JSONBody:
            return json_body(param.name)
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
            return path_value(param.name)
        if issubclass(tp, RegGroup):
            return reg_group(0)
        if issubclass(tp, Parameters):
            return parameter_list(param.name, None, default, required)
        if issubclass(tp, MultipartFile):
            return multipart_file(param.name, default, required)
        if tp is Parameter:
            return parameter(param.name, None, default, required, "str", as_marker=True)
        if dataclasses.is_dataclass(tp):
            return _body(param, annotation, default, required, param.name)
    if isinstance(tp, str):  # a forward reference that did not resolve
        return None
    if is_body_type(tp):
        return _body(param, annotation, default, required, param.name)
    try:
        string_converter(annotation) if not is_sequence_type(annotation) else strings_converter(tp)
    except TypeError:
        return None  # not a type read from a parameter: another plugin, or the build, decides
    return _query(param, param.name, annotation, default, required)


def builtin_resolver(param: Param, fallback: bool = True) -> Optional[Resolver]:
    """The resolver for an argument kind of naja-atra 1.x or a typed parameter, or None when
    ``param`` is none of them.

    Order: a marker (or alias ``Source``) in ``Annotated`` metadata, a marker or framework
    object as default, the annotation, then the type of a plain default; a bare name is a
    required ``str`` parameter. With ``fallback`` (the default), a parameter nothing claims
    but that has a default gets that default as a constant; without it, None is returned
    so that a ``default_model_binding`` can take it.

    Raises ``ConfigurationError`` for a supported kind used wrongly (a default that does
    not convert to the annotation, a dataclass whose fields do not convert).
    """
    tp, optional = strip_optional(param.annotation)
    explicit_default = param.has_default
    if optional and not explicit_default:  # ``x: Optional[int]``: None when absent
        param = dataclasses.replace(param, default=None)
    for meta in param.metadata:
        if isinstance(meta, Marker):
            return _from_marker(param, meta, in_metadata=True)
    resolver = _from_value_default(param)
    if resolver is not None:
        return resolver
    if tp is not Param.EMPTY and tp is not Any:
        resolver = _from_annotation(param, tp)
        if resolver is not None or not explicit_default or isinstance(tp, str):
            return resolver
    elif not param.has_default:
        return parameter(param.name, None, None, True)
    else:
        default_type = type(param.default)
        if default_type in (str, int, float, bool, dict):
            return _query(param, param.name, default_type, param.default, False)
        if default_type is list:
            return parameter_list(param.name, None, param.default, False)
    return constant_resolver(param.default) if fallback else None
