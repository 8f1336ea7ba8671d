"""``naja_atra.models``: the 1.x import path of the request, response and WebSocket models.

naja-atra 1.x defined its public model classes and constants in this one module
(``from naja_atra.models import Request, Response, HttpError``); code that imports them from
here keeps working. Nothing is defined here but ``DEFAULT_ENCODING``: every other name is the
object ``naja_atra`` itself exports, whose definition lives in ``naja_atra/http/``
(``Request``, ``Response``, ``HttpError``, ``StaticFile``, ``Redirect``, ``MultipartFile``),
``naja_atra/injection/markers.py`` (``Parameter``, ``Header``, ``Cookie``, ``Headers``,
``Cookies``, ``ModelDict``...), ``naja_atra/sessions/`` (``HttpSession`` and
``HttpSessionFactory`` are ``Session`` and ``SessionFactory``), ``naja_atra/app/context.py``
(``FilterContext``) and ``naja_atra/websocket/api.py`` (the WebSocket names). 1.x's
``ParamStringValue`` (the base of ``Parameter`` and ``Header``) is not offered.
"""
from __future__ import annotations

from .app.context import FilterContext
from .http.errors import HttpError
from .http.forms import MultipartFile
from .http.request import Request
from .http.request_body import RequestBodyReader
from .http.response import Response
from .http.results import Redirect, StaticFile
from .injection.markers import (
    BytesBody,
    Cookie,
    Cookies,
    Environment,
    Header,
    Headers,
    JSONBody,
    ModelDict,
    Parameter,
    Parameters,
    PathValue,
    RegGroup,
    RegGroups,
)
from .sessions import SESSION_COOKIE_NAME, Session, SessionFactory
from .websocket.api import (
    WEBSOCKET_MESSAGE_BINARY,
    WEBSOCKET_MESSAGE_BINARY_FRAME,
    WEBSOCKET_MESSAGE_PING,
    WEBSOCKET_MESSAGE_PONG,
    WEBSOCKET_MESSAGE_TEXT,
    WEBSOCKET_OPCODE_BINARY,
    WEBSOCKET_OPCODE_CLOSE,
    WEBSOCKET_OPCODE_CONTINUATION,
    WEBSOCKET_OPCODE_PING,
    WEBSOCKET_OPCODE_PONG,
    WEBSOCKET_OPCODE_TEXT,
    WebsocketCloseReason,
    WebsocketHandler,
    WebsocketRequest,
    WebsocketSession,
)

__all__ = [
    "DEFAULT_ENCODING",
    "SESSION_COOKIE_NAME",
    "WEBSOCKET_MESSAGE_BINARY",
    "WEBSOCKET_MESSAGE_BINARY_FRAME",
    "WEBSOCKET_MESSAGE_PING",
    "WEBSOCKET_MESSAGE_PONG",
    "WEBSOCKET_MESSAGE_TEXT",
    "WEBSOCKET_OPCODE_BINARY",
    "WEBSOCKET_OPCODE_CLOSE",
    "WEBSOCKET_OPCODE_CONTINUATION",
    "WEBSOCKET_OPCODE_PING",
    "WEBSOCKET_OPCODE_PONG",
    "WEBSOCKET_OPCODE_TEXT",
    "BytesBody",
    "Cookie",
    "Cookies",
    "Environment",
    "FilterContext",
    "Header",
    "Headers",
    "HttpError",
    "HttpSession",
    "HttpSessionFactory",
    "JSONBody",
    "ModelDict",
    "MultipartFile",
    "Parameter",
    "Parameters",
    "PathValue",
    "Redirect",
    "RegGroup",
    "RegGroups",
    "Request",
    "RequestBodyReader",
    "Response",
    "StaticFile",
    "WebsocketCloseReason",
    "WebsocketHandler",
    "WebsocketRequest",
    "WebsocketSession",
]

#: The text encoding the framework assumes where a request or response names none.
DEFAULT_ENCODING: str = "UTF-8"

#: The 1.x names of :class:`naja_atra.Session` and :class:`naja_atra.SessionFactory`.
HttpSession = Session
HttpSessionFactory = SessionFactory
