"""The public names of ``naja_atra`` are pinned: adding or removing one is a decision."""
from __future__ import annotations

import naja_atra

EXPECTED = {
    "Application", "BytesBody", "ClientDisconnected", "ConfigurationError", "Cookie", "Cookies", "Environment",
    "FilterContext", "Header", "Headers", "HttpError", "HttpSession", "HttpSessionFactory",
    "JSONBody", "ModelDict", "MultipartFile", "Parameter", "Parameters", "PathValue", "Redirect",
    "RegGroup", "RegGroups", "Request", "RequestBodyReader", "RequestContext", "Response", "SESSION_COOKIE_NAME",
    "Session", "SessionFactory", "StaticFile", "controller", "default_app", "error_message",
    "filter_map", "hookimpl", "hookspec", "name", "request", "request_filter", "request_map",
    "route", "server", "set_session_factory", "version",
    "WEBSOCKET_MESSAGE_BINARY", "WEBSOCKET_MESSAGE_BINARY_FRAME", "WEBSOCKET_MESSAGE_PING",
    "WEBSOCKET_MESSAGE_PONG", "WEBSOCKET_MESSAGE_TEXT", "WEBSOCKET_OPCODE_BINARY", "WEBSOCKET_OPCODE_CLOSE",
    "WEBSOCKET_OPCODE_CONTINUATION", "WEBSOCKET_OPCODE_PING", "WEBSOCKET_OPCODE_PONG", "WEBSOCKET_OPCODE_TEXT",
    "WebsocketCloseReason", "WebsocketHandler", "WebsocketRequest", "WebsocketSession",
    "Body", "Depends", "FromCookie", "FromHeader", "FromPath", "InjectionError", "ModelBinding", "Query",
    "default_model_binding", "model_binding",
    "AppConf", "get_app_conf", "LocalSessionFactory", "DEFAULT_ENCODING",
    "websocket_close", "websocket_handler", "websocket_handshake", "websocket_message", "websocket_open",
    "CORS", "SessionCookie",
    "RouteGroup", "UrlBuildError", "get", "post", "put", "patch", "delete", "head", "options", "include", "url_for",
}


def test_all_is_pinned() -> None:
    assert set(naja_atra.__all__) == EXPECTED
    assert len(naja_atra.__all__) == len(EXPECTED)


def test_every_public_name_exists() -> None:
    missing = [name for name in naja_atra.__all__ if not hasattr(naja_atra, name)]
    assert missing == []


def test_facade_decorators_act_on_the_default_app() -> None:
    assert naja_atra.route.__self__ is naja_atra.default_app  # type: ignore[attr-defined]
    assert naja_atra.request_map.__func__ is naja_atra.route.__func__  # type: ignore[attr-defined]
    assert naja_atra.server.stop.__module__ == "naja_atra.server"
