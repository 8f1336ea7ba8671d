"""naja_atra: a small HTTP framework built on plugins.

``@route("/")`` (and ``@get``, ``@post``, ...), ``include(group)``, ``url_for(name)`` and
``server.start()`` act on ``default_app``; ``Application()`` gives an isolated application
with the same methods, ``RouteGroup()`` a group of routes to include into applications, and
``get_app_conf("tag")`` one application per tag (the 1.x API: see ``naja_atra.app_conf``).
"""
from __future__ import annotations

from . import server
from .app.application import Application
from .app.context import FilterContext, RequestContext
from .app.default import default_app
from .app.groups import RouteGroup
from .app.urls import UrlBuildError
from .app_conf import AppConf, get_app_conf
from .hooks.specs import hookimpl, hookspec
from .http.errors import ClientDisconnected, ConfigurationError, HttpError, InjectionError
from .http.forms import MultipartFile
from .http.request import Request
from .http.request_body import RequestBodyReader
from .http.response import Response
from .http.results import Redirect, StaticFile
from .injection.aliases import Body, FromCookie, FromHeader, FromPath, Query
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
from .injection.model_binding import ModelBinding
from .injection.providers import Depends
from .models import DEFAULT_ENCODING
from .plugins.cors import CORS
from .sessions import SESSION_COOKIE_NAME, LocalSessionFactory, Session, SessionCookie, SessionFactory
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

name = "naja-atra"
version = "2.0.0.dev0"


route = default_app.route
request_map = default_app.request_map
get = default_app.get
post = default_app.post
put = default_app.put
patch = default_app.patch
delete = default_app.delete
head = default_app.head
options = default_app.options
include = default_app.include
url_for = default_app.url_for
#: The original framework's examples also spell the decorator ``request``.
request = default_app.request_map
controller = default_app.controller
request_filter = default_app.request_filter
filter_map = default_app.filter_map
error_message = default_app.error_message
set_session_factory = default_app.set_session_factory
model_binding = default_app.model_binding
default_model_binding = default_app.default_model_binding
websocket_handler = default_app.websocket_handler
websocket_handshake = default_app.websocket_handshake
websocket_open = default_app.websocket_open
websocket_close = default_app.websocket_close
websocket_message = default_app.websocket_message

#: Names of the original framework, kept for code written against it.
HttpSession = Session
HttpSessionFactory = SessionFactory

__all__ = [
    "Body",
    "Depends",
    "FromCookie",
    "FromHeader",
    "FromPath",
    "InjectionError",
    "ModelBinding",
    "Query",
    "default_model_binding",
    "model_binding",
    "AppConf",
    "Application",
    "BytesBody",
    "ClientDisconnected",
    "ConfigurationError",
    "Cookie",
    "Cookies",
    "DEFAULT_ENCODING",
    "Environment",
    "FilterContext",
    "Header",
    "Headers",
    "HttpError",
    "HttpSession",
    "HttpSessionFactory",
    "JSONBody",
    "LocalSessionFactory",
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
    "RequestContext",
    "Response",
    "RouteGroup",
    "SESSION_COOKIE_NAME",
    "Session",
    "SessionFactory",
    "StaticFile",
    "UrlBuildError",
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
    "WebsocketCloseReason",
    "WebsocketHandler",
    "WebsocketRequest",
    "WebsocketSession",
    "controller",
    "default_app",
    "delete",
    "error_message",
    "filter_map",
    "get",
    "get_app_conf",
    "head",
    "hookimpl",
    "hookspec",
    "include",
    "name",
    "options",
    "patch",
    "post",
    "put",
    "request",
    "request_filter",
    "request_map",
    "route",
    "server",
    "set_session_factory",
    "url_for",
    "version",
    "websocket_close",
    "websocket_handler",
    "websocket_handshake",
    "websocket_message",
    "websocket_open",
    "CORS",
    "SessionCookie",
]
