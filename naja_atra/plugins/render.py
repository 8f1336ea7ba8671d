"""Built-in plugin ``naja_atra.render``: what each kind of controller result does, and the
built-in JSON codec (``naja_atra_json_codec``).

A dict or list result is the body, sent as JSON: it stays in the response as it is (a
filter after ``do_chain()`` still sees the dict) and ``finalize`` renders it with the
application's codec. A dataclass instance is sent as the JSON object of its fields.
"""
from __future__ import annotations

import dataclasses
from http.cookies import BaseCookie
from typing import TYPE_CHECKING, Any, Optional, Sequence

from ..hooks.specs import hookimpl
from ..http.errors import HttpError
from ..http.json_codec import DEFAULT_JSON_CODEC, JsonCodec
from ..http.response import Response
from ..http.results import Redirect, StaticFile
from ..injection.markers import Header, Headers, Marker

if TYPE_CHECKING:
    from ..app.application import Application
    from ..app.context import RequestContext
    from ..app.render import Converter

#: Values that become the body, as the original API lists them for tuples.
BODY_TYPES = (str, bytes, bytearray, dict, list, StaticFile)


def set_body(value: Any, ctx: RequestContext) -> None:
    """str, bytes, dict, list or StaticFile: the response body."""
    ctx.response.body = value


def dataclass_result(value: Any, ctx: RequestContext) -> None:
    """A dataclass instance: the JSON object of its fields. Registered for ``object``, the
    last class of every MRO, so a value of any other type no converter takes is refused,
    as without it."""
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        raise TypeError(f"No response converter handles a returned {type(value).__name__}")
    # One level: the codec renders the values inside (nested dataclasses, dates...).
    ctx.response.body = {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}


def copy_response(value: Response, ctx: RequestContext) -> None:
    """A ``Response`` built by the controller: its status, headers, cookies and body."""
    live = ctx.response
    if value is live:
        return
    live.status_code = value.status_code
    for name, header in value.headers.items():
        live.headers[name] = header
    live.cookies.update(value.cookies)
    live.body = value.body
    if value.error is not None:
        live.error = value.error


def redirect(value: Redirect, ctx: RequestContext) -> None:
    """``Redirect(url)``: 302 with Location."""
    ctx.response.send_redirect(value.url)


def raise_error(value: HttpError, ctx: RequestContext) -> None:
    """A returned ``HttpError`` is answered like a raised one."""
    raise value


def status(value: int, ctx: RequestContext) -> None:
    """A bare int between 100 and 599: the status code."""
    if isinstance(value, bool) or not 100 <= value <= 599:
        raise TypeError(f"{value!r} is not a status code")
    ctx.response.status_code = value


def headers(value: Headers, ctx: RequestContext) -> None:
    """``Headers({...})``: headers added to the response."""
    ctx.response.add_headers(value)


def cookies(value: BaseCookie, ctx: RequestContext) -> None:  # type: ignore[type-arg]
    """Cookies to set."""
    ctx.response.cookies.update(value)


def tuple_result(value: tuple, ctx: RequestContext) -> None:  # type: ignore[type-arg]
    """A tuple in any order: the first int is the status, every ``Headers`` and cookie jar
    is sent, the first body-like value is the body."""
    response = ctx.response
    status_seen = body_seen = False
    for item in value:
        if isinstance(item, int) and not isinstance(item, bool):
            if not status_seen:
                status(item, ctx)
                status_seen = True
        elif isinstance(item, Headers):
            response.add_headers(item)
        elif isinstance(item, BaseCookie):
            response.cookies.update(item)
        elif isinstance(item, Marker):
            # The original documentation's example returns Header({"xx": "yyy"}): a marker is never the body.
            if isinstance(item, Header) and isinstance(item.name, dict):
                response.add_headers(item.name)
        elif isinstance(item, BODY_TYPES) and not body_seen:
            response.body = item
            body_seen = True
        elif isinstance(item, Response):
            copy_response(item, ctx)
        elif isinstance(item, Redirect):
            redirect(item, ctx)


@hookimpl(trylast=True)
def naja_atra_json_codec(app: Application) -> Optional[JsonCodec]:
    """The standard library's ``json``, writing dates, UUIDs, decimals, enums and dataclasses."""
    return DEFAULT_JSON_CODEC


@hookimpl(trylast=True)
def naja_atra_response_converters(app: Application) -> Sequence[tuple[type, Converter]]:
    """The result types of the original API, and dataclasses (as JSON)."""
    pairs: list[tuple[type, Converter]] = [(tp, set_body) for tp in BODY_TYPES]
    pairs += [
        (object, dataclass_result),
        (Response, copy_response),
        (Redirect, redirect),
        (HttpError, raise_error),
        (int, status),
        (Headers, headers),
        (BaseCookie, cookies),
        (tuple, tuple_result),
    ]
    return pairs
