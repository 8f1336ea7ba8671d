"""naja_atra: a small HTTP framework built on plugins.

``@route("/")`` and ``server.start()`` act on ``default_app``; ``Application()`` gives an
isolated application with the same methods.
"""
from __future__ import annotations

from .application import Application
from .context import FilterContext, RequestContext
from .hookspecs import hookimpl, hookspec
from .http.errors import HttpError
from .http.forms import MultipartFile
from .http.request import Request
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
from .registry import ConfigurationError
from .sessions import SESSION_COOKIE_NAME, Session, SessionFactory

name = "naja-atra"
version = "2.0.0.dev0"

#: The application the module-level decorators and ``naja_atra.server`` act on.
default_app = Application()

route = default_app.route
request_map = default_app.request_map
#: SPEC.md's examples also spell the decorator ``request``.
request = default_app.request_map
controller = default_app.controller
request_filter = default_app.request_filter
filter_map = default_app.filter_map
error_message = default_app.error_message
set_session_factory = default_app.set_session_factory

#: Names of the original framework, kept for code written against it.
HttpSession = Session
HttpSessionFactory = SessionFactory

from . import server  # noqa: E402  (the facade module needs default_app defined)

__all__ = [
    "Application",
    "BytesBody",
    "ConfigurationError",
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
    "RequestContext",
    "Response",
    "SESSION_COOKIE_NAME",
    "Session",
    "SessionFactory",
    "StaticFile",
    "controller",
    "default_app",
    "error_message",
    "filter_map",
    "hookimpl",
    "hookspec",
    "name",
    "request",
    "request_filter",
    "request_map",
    "route",
    "server",
    "set_session_factory",
    "version",
]
