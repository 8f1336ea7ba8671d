"""``naja_atra.app_conf``: the 1.x import path of the application registry.

In naja-atra 1.x this module held ``AppConf``, the registry the decorators write to, and
``get_app_conf(tag)``, one registry per tag. Here that concept is :class:`naja_atra.Application`
(``naja_atra/app/application.py``): ``AppConf`` is that class, ``get_app_conf("")`` is
``naja_atra.default_app`` (``naja_atra/app/default.py``) and every other tag names one isolated
``Application``, created on first use. The module-level decorators below are the default
application's methods, the same ones ``naja_atra`` exports. Serve a tagged application with
``naja_atra.server.start(app_conf=get_app_conf("tag"))``, or call its own ``start()``.
"""
from __future__ import annotations

import threading

from .app.application import Application
from .app.default import default_app

__all__ = [
    "AppConf",
    "controller",
    "default_model_binding",
    "error_message",
    "filter_map",
    "get_app_conf",
    "model_binding",
    "request_filter",
    "request_map",
    "route",
    "set_session_factory",
    "websocket_close",
    "websocket_handler",
    "websocket_handshake",
    "websocket_message",
    "websocket_open",
]

#: The 1.x name of :class:`naja_atra.Application`.
AppConf = Application

_lock = threading.Lock()
_tagged: dict[str, Application] = {}


def get_app_conf(tag: str = "") -> Application:
    """The application of ``tag``: ``naja_atra.default_app`` for the empty tag, else one
    isolated ``Application`` per tag, created on first use (thread-safe: every caller gets the
    same object for the same tag)."""
    if not tag:
        return default_app
    with _lock:
        app = _tagged.get(tag)
        if app is None:
            app = _tagged[tag] = Application()
        return app


route = default_app.route
request_map = default_app.request_map
controller = default_app.controller
request_filter = default_app.request_filter
filter_map = default_app.filter_map
error_message = default_app.error_message
model_binding = default_app.model_binding
default_model_binding = default_app.default_model_binding
set_session_factory = default_app.set_session_factory
websocket_handler = default_app.websocket_handler
websocket_handshake = default_app.websocket_handshake
websocket_open = default_app.websocket_open
websocket_close = default_app.websocket_close
websocket_message = default_app.websocket_message
