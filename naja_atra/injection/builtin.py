"""The built-in argument kinds of SPEC.md, each compiled once into a resolver."""
from __future__ import annotations

import json
import typing
from http.cookies import BaseCookie, Morsel
from typing import TYPE_CHECKING, Any, Callable, Optional

from typing_extensions import get_args, get_origin

from ..http.errors import HttpError
from ..http.forms import MultipartFile
from ..http.request import Request
from ..http.response import Response
from ..sessions import Session
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
)
from .params import Param, Resolver

if TYPE_CHECKING:
    from ..context import RequestContext

WILDCARD = "*"
_FALSE = frozenset(("0", "false", "no", "off", ""))


def missing(kind: str, name: str) -> HttpError:
    """The 400 for a required value the request does not carry."""
    return HttpError(400, f"Missing {kind}", f"{kind}[{name}] is required.")


def _invalid(name: str, expected: str, value: str) -> HttpError:
    return HttpError(400, "Invalid Parameter", f"Parameter[{name}] should be {expected}, got {value!r}.")


def to_bool(value: str) -> bool:
    """A parameter as a bool: "0", "false", "no", "off" and "" are False, anything else True."""
    return value.lower() not in _FALSE


def _converter(tp: Any, name: str) -> Optional[Callable[[str], Any]]:
    """How to turn one parameter string into ``tp`` (None: not a scalar type we convert)."""
    if tp is str or tp is Parameter:
        return None
    if tp is bool:
        return to_bool
    if tp in (int, float):
        label = "an int" if tp is int else "a float"

        def convert(value: str) -> Any:
            try:
                return tp(value)
            except ValueError:
                raise _invalid(name, label, value) from None
        return convert
    if tp in (dict, typing.Dict) or get_origin(tp) is dict:
        def from_json(value: str) -> Any:
            try:
                return json.loads(value)
            except ValueError:
                raise _invalid(name, "a JSON string", value) from None
        return from_json
    raise TypeError(f"no conversion of a parameter to {tp!r}")


# -- resolvers for single values --------------------------------------------------------


def parameter(name: str, tp: Any, default: Any, required: bool) -> Resolver:
    """A query/form parameter converted to ``tp``; ``default`` when absent (400 if required)."""
    convert = _converter(tp, name)
    keep_marker = tp is Parameter or isinstance(default, Parameter)

    def resolve(ctx: RequestContext) -> Any:
        value = ctx.request.parameter.get(name)
        if value is None:
            if required:
                raise missing("Parameter", name)
            return default
        if convert is not None:
            return convert(value)
        return Parameter(name, value) if keep_marker else value
    return resolve


def parameter_list(name: str, item_tp: Any, default: Any, required: bool) -> Resolver:
    """Every value of a parameter, each converted to ``item_tp``."""
    convert = None if item_tp in (Any, str, Parameter) else _converter(item_tp, name)
    as_marker = item_tp is Parameter

    def resolve(ctx: RequestContext) -> Any:
        values = ctx.request.parameters.get(name)
        if values is None:
            if required:
                raise missing("Parameter", name)
            return default
        if convert is not None:
            return [convert(v) for v in values]
        if as_marker:
            return [Parameter(name, v) for v in values]
        return list(values)
    return resolve


def header(name: str, default: Any, required: bool) -> Resolver:
    """One request header (as a ``Header`` string)."""
    def resolve(ctx: RequestContext) -> Any:
        value = ctx.request.headers.get(name)
        if value is None:
            if required:
                raise missing("Header", name)
            return default
        return Header(name, value)
    return resolve


def cookie(name: str, default: Any, required: bool) -> Resolver:
    """One request cookie (as a ``Cookie`` morsel)."""
    def resolve(ctx: RequestContext) -> Any:
        morsel = ctx.request.cookies.get(name)
        if morsel is None:
            if required:
                raise missing("Cookie", name)
            return default
        found = Cookie(name)
        found.set(morsel.key, morsel.value, morsel.coded_value)
        return found
    return resolve


def path_value(name: str) -> Resolver:
    """A ``{name}`` path segment, or the wildcard's capture."""
    def resolve(ctx: RequestContext) -> Any:
        values = ctx.request.path_values
        value = values.get(name)
        if value is None:
            value = values.get(WILDCARD)
        if value is None:
            raise HttpError(500, "Internal Server Error", f"The route has no path value {name!r}.")
        return PathValue(name, value)
    return resolve


def reg_group(index: int) -> Resolver:
    """Group ``index`` of the route's regexp match."""
    def resolve(ctx: RequestContext) -> Any:
        groups = ctx.request.reg_groups
        if index >= len(groups):
            raise HttpError(400, "Bad Request", f"RegGroup {index} requested, the match has {len(groups)}.")
        return RegGroup(index, groups[index])
    return resolve


def multipart_file(name: str, default: Any, required: bool) -> Resolver:
    """An uploaded file of a multipart form."""
    def resolve(ctx: RequestContext) -> Any:
        files = ctx.request.files.get(name)
        if not files:
            if required or name in ctx.request.parameters:
                raise missing("Parameter", name) if required else HttpError(
                    400, "Bad Request", f"Parameter[{name}] should be a file.")
            return default
        return files[0]
    return resolve


def json_body(ctx: RequestContext) -> Any:
    """The JSON body as a ``JSONBody`` dict (or the decoded value when it is not an object)."""
    request = ctx.request
    mime = request.content_type.split(";", 1)[0].strip().lower()
    if mime != "application/json" and not mime.endswith("+json"):
        raise HttpError(400, "Bad Request", 'The content type of this request must be "application/json".')
    data = request.json
    return JSONBody(data) if isinstance(data, dict) else data


def model_dict(ctx: RequestContext) -> ModelDict:
    """Every parameter: one value as itself, several as a list."""
    return ModelDict({k: v[0] if len(v) == 1 else list(v) for k, v in ctx.request.parameters.items()})


def session(ctx: RequestContext) -> Any:
    """The request's session, created when it has none."""
    return ctx.request.get_session(True)


_BY_TYPE: dict[Any, Resolver] = {
    Request: lambda ctx: ctx.request,
    Response: lambda ctx: ctx.response,
    Headers: lambda ctx: Headers(dict(ctx.request.headers)),
    Cookies: lambda ctx: ctx.request.cookies,
    BaseCookie: lambda ctx: ctx.request.cookies,
    RegGroups: lambda ctx: RegGroups(ctx.request.reg_groups),
    Environment: lambda ctx: Environment(ctx.request.environment),
    JSONBody: json_body,
    BytesBody: lambda ctx: BytesBody(ctx.request.body),
    ModelDict: model_dict,
}


def _class_of(tp: Any) -> Optional[type]:
    return tp if isinstance(tp, type) else None


def _optional_inner(tp: Any) -> Any:
    """``Optional[X]`` -> X; anything else unchanged."""
    if get_origin(tp) is typing.Union:
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _marker_fallback(marker: Marker, tp: Any, param: Param, in_metadata: bool) -> tuple[Any, bool]:
    """The value used when the request lacks the marker's value, and whether it is required."""
    if in_metadata:
        return (param.default if param.has_default else None), marker.required or not param.has_default
    if tp in (int, float, bool) and isinstance(marker, (Parameter, Header)):
        default = marker.default
        if isinstance(default, str) and default:
            converter = _converter(tp, marker.name or param.name)
            assert converter is not None
            default = converter(default)
        return (None if default == "" else default), marker.required
    return marker, marker.required


def _from_marker(param: Param, marker: Marker, tp: Any, in_metadata: bool = False) -> Optional[Resolver]:
    name = marker.name or param.name
    fallback, required = _marker_fallback(marker, tp, param, in_metadata)
    if isinstance(marker, Parameter):
        value_tp = tp if tp not in (Param.EMPTY, Any) else Parameter
        return parameter(name, value_tp, fallback, required)
    if isinstance(marker, Header):
        return header(name, fallback, required)
    if isinstance(marker, PathValue):
        return path_value(name)
    if isinstance(marker, RegGroup):
        return reg_group(marker.group)
    if isinstance(marker, Parameters):
        return parameter_list(name, str, fallback, required)
    if isinstance(marker, Cookie):
        return cookie(name, fallback, required)
    return None


def _from_value_default(param: Param) -> Optional[Resolver]:
    """Defaults that are markers or plain values (no annotation needed)."""
    default = param.default
    if isinstance(default, Marker):
        tp = _optional_inner(param.annotation)
        return _from_marker(param, default, tp)
    if isinstance(default, MultipartFile):
        return multipart_file(default.name or param.name, default, default.required)
    if isinstance(default, Session):
        return session
    for tp, resolver in _BY_TYPE.items():
        if type(default) is tp:
            return resolver
    return None


def _from_annotation(param: Param, tp: Any) -> Optional[Resolver]:
    required = not param.has_default
    default = None if required else param.default
    cls = _class_of(tp)
    if cls is not None:
        for known, resolver in _BY_TYPE.items():
            if cls is known:
                return resolver
        if issubclass(cls, Session):
            return session
        if issubclass(cls, Request):
            return _BY_TYPE[Request]
        if issubclass(cls, Response):
            return _BY_TYPE[Response]
        if issubclass(cls, Header):
            return header(param.name, default, required)
        if issubclass(cls, Cookie) or cls is Morsel:
            return cookie(param.name, default, required)
        if issubclass(cls, PathValue):
            return path_value(param.name)
        if issubclass(cls, RegGroup):
            return reg_group(0)
        if issubclass(cls, Parameters):
            return parameter_list(param.name, str, default, required)
        if issubclass(cls, MultipartFile):
            return multipart_file(param.name, default, required)
        if cls in (str, Parameter, int, float, bool, dict):
            return parameter(param.name, cls, default, required)
        if cls is list:
            return parameter_list(param.name, str, default, required)
    origin = get_origin(tp)
    if origin is list:
        args = get_args(tp)
        return parameter_list(param.name, args[0] if args else str, default, required)
    if origin is dict:
        return parameter(param.name, dict, default, required)
    return None


def builtin_resolver(param: Param) -> Optional[Resolver]:
    """The resolver for a SPEC.md argument kind, or None when ``param`` is none of them.

    Order: a marker in ``Annotated`` metadata, a marker or typed default, the annotation,
    then the type of a plain default; a bare name is a required ``str`` parameter.
    """
    tp = _optional_inner(param.annotation)
    if tp is not param.annotation and not param.has_default:
        param = Param(param.name, tp, None, param.metadata, param.keyword_only)
    for meta in param.metadata:
        if isinstance(meta, Marker):
            return _from_marker(param, meta, tp, in_metadata=True)
    resolver = _from_value_default(param)
    if resolver is not None:
        return resolver
    if tp is not Param.EMPTY and tp is not Any:
        return _from_annotation(param, tp)
    if not param.has_default:
        return parameter(param.name, str, None, True)
    default_type = type(param.default)
    if default_type in (str, int, float, bool, dict):
        return parameter(param.name, default_type, param.default, False)
    if default_type is list:
        return parameter_list(param.name, str, param.default, False)
    value = param.default
    return lambda ctx: value
