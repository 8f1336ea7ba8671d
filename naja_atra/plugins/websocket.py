"""Built-in plugin ``naja_atra.websocket``: WebSocket endpoints as routes.

A WebSocket endpoint is a route with the pseudo-method ``WEBSOCKET``, so the router,
filters, argument resolvers and error pages of HTTP apply to its handshake request. The
handshake callable (``on_handshake`` or ``@websocket_handshake``) is the route's
controller; this plugin boxes its result and turns an acceptance into a ``101`` whose
``upgrade`` hands the connection to the WebSocket runners.
"""
from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

from ..hooks.specs import hookimpl
from ..http.errors import HandshakeError, HttpError
from ..http.status import reason_phrase
from ..injection.params import Param, Resolver
from ..websocket.deflate import negotiate
from ..websocket.endpoint import WebsocketSpec, class_endpoint, function_endpoint
from ..websocket.handshake import check_handshake, response_headers
from ..websocket.protocol import WebSocketProtocol
from ..websocket.upgrade import WebsocketUpgrade

if TYPE_CHECKING:
    from ..app.application import Application
    from ..app.context import RequestContext
    from ..app.render import Converter
    from ..app.routes import Route

_ACCEPT = (0, None, 101)


class Handshake:
    """The boxed result of a handshake callable, with the endpoint it belongs to."""

    __slots__ = ("value", "spec")

    def __init__(self, value: Any, spec: WebsocketSpec) -> None:
        self.value = value
        self.spec = spec

    def decision(self) -> tuple[Any, dict[str, Any]]:
        """(status, headers) from ``None``, a status, or ``(status, headers)``."""
        value = self.value
        if isinstance(value, tuple):
            status = value[0] if value else None
            headers = value[1] if len(value) > 1 and isinstance(value[1], dict) else {}
            return status, headers
        return value, {}


def _accept(ctx: RequestContext, handshake: Handshake, headers: dict[str, Any]) -> None:
    app, request, response = ctx.app, ctx.request, ctx.response
    try:
        accept, offer = check_handshake(request.headers)
    except HandshakeError as error:  # answered like any other HTTP error (error pages apply)
        raise HttpError(error.status, reason_phrase(error.status), error.message,
                        headers=dict(error.headers)) from None
    negotiated = negotiate(offer)
    if handshake.spec.handler_class is not None:
        endpoint = class_endpoint(ctx.controller)
    else:
        endpoint = function_endpoint(handshake.spec.functions)
    limits = app.limits
    protocol = WebSocketProtocol(max_message_size=limits.max_websocket_message,
                                 max_fragments=limits.max_websocket_fragments,
                                 deflate=negotiated[1] if negotiated else None,
                                 auto_pong=False, stream_binary=endpoint.stream_binary)
    response.status_code = 101
    for name, value in response_headers(accept, negotiated[0] if negotiated else None):
        response.headers[name] = value
    response.add_headers(headers)
    response.body = None
    response.upgrade = WebsocketUpgrade(request, endpoint, protocol, app.websocket_sessions,
                                        app.websocket_ping_interval, app.websocket_ping_timeout,
                                        limits.websocket_send_buffer, limits.write_timeout)


def apply_handshake(handshake: Handshake, ctx: RequestContext) -> None:
    """Accept the upgrade (``101``) or refuse it with the handler's status and headers."""
    status, headers = handshake.decision()
    if status in _ACCEPT:
        _accept(ctx, handshake, headers)
        return
    response = ctx.response
    response.status_code = int(status)
    response.add_headers(headers)
    response.body = None


@hookimpl(trylast=True)
def naja_atra_wrap_handler(app: Application, route: Route) -> Optional[Callable[[Any], Any]]:
    """Box the result of a WebSocket route's handshake callable."""
    spec = route.extras.get("websocket")
    if not isinstance(spec, WebsocketSpec):
        return None

    def wrap(call: Callable[[RequestContext], Any]) -> Callable[[RequestContext], Any]:
        if inspect.iscoroutinefunction(call):
            async def boxed_async(ctx: RequestContext) -> Handshake:
                return Handshake(await call(ctx), spec)
            return boxed_async

        def boxed(ctx: RequestContext) -> Handshake:
            return Handshake(call(ctx), spec)
        return boxed
    return wrap


def _handshake_request(ctx: RequestContext) -> Any:
    return ctx.request


@hookimpl
def naja_atra_make_resolver(app: Application, route: Route, param: Param) -> Optional[Resolver]:
    """``on_handshake(self, request)``: a bare ``request`` parameter of a handshake callable
    is the handshake request (handler methods are called by position in the original)."""
    if param.name == "request" and param.annotation is Param.EMPTY and "websocket" in route.extras:
        return _handshake_request
    return None


@hookimpl(trylast=True)
def naja_atra_response_converters(app: Application) -> Sequence[tuple[type, Converter]]:
    """Handshake results become a 101 (or the handler's refusal)."""
    return [(Handshake, apply_handshake)]
