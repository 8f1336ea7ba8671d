"""The request path: route match, filters, controller, rendering, errors, sessions.

Everything here was decided at build time; per request it only calls plain closures.

Failure policy, the same on every driver (threading, asyncio, ASGI, WSGI, test client):
whatever a controller, filter, resolver, provider, converter or error page raises --
``Exception``, ``SystemExit``, ``KeyboardInterrupt`` or any other ``BaseException`` -- ends
that request with its error response (500 unless it is an ``HttpError``), logged with its
traceback, and the server goes on serving. One request cannot stop a server: stopping is
``app.stop()`` or a signal (``start()`` handles SIGTERM and SIGINT itself). The one
exception that propagates is ``asyncio.CancelledError`` on the asyncio paths: it is how the
server aborts a request whose connection it is closing, and no response is possible then.
"""
from __future__ import annotations

import asyncio
import inspect
import threading
import weakref
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Optional, Sequence

from ..http.compression import GzipStream
from ..http.errors import ClientDisconnected, HttpError, MethodNotAllowed
from ..http.file_response import open_static
from ..http.finalize import GzipPolicy, finalize
from ..http.json_codec import DEFAULT_JSON_CODEC, JsonCodec
from ..http.outgoing import Outgoing
from ..http.request import Request, SessionAccess
from ..http.request_body import EMPTY_BODY, LoopBody
from ..http.response import Response
from ..http.results import StaticFile
from ..http.spool import BodyBudget
from ..sessions import (
    SESSION_COOKIE_NAME,
    Session,
    SessionCookie,
    SessionFactory,
    expired_session_cookie,
    session_cookie,
)
from ..utils.logger import get_logger
from ..utils.workers import WorkerPool
from .context import FilterContext, RequestContext
from .filtering import RouteFilters
from .invoke import CompiledCall
from .render import Renderer
from .routes import WEBSOCKET_METHOD, RouteMatch, Router

if TYPE_CHECKING:
    from .application import Application

_log = get_logger("naja_atra.pipeline")
_BODY_HEADERS = frozenset(("content-type", "content-length", "content-encoding", "transfer-encoding"))
Wrapper = Callable[[Callable[[RequestContext], Any]], Callable[[RequestContext], Any]]


class RouteEntry:
    """One route ready to run: its filters, its (possibly wrapped) controller call, and how
    it takes the request body (``streams_body``: the controller reads it through a
    ``RequestBodyReader``; otherwise it is read before the chain runs; ``body_limit``)."""

    __slots__ = ("call", "filters", "is_async", "run_sync", "run_async", "streams_body", "body_limit")

    def __init__(self, call: CompiledCall, filters: RouteFilters, wrappers: Sequence[Wrapper],
                 body_limit: int) -> None:
        self.call = call
        self.filters = filters
        self.streams_body = call.streams_body
        self.body_limit = body_limit
        funcs = list(filters.fixed or ()) + [f.func for f in filters.candidates]
        self.is_async = call.is_async or any(inspect.iscoroutinefunction(f) for f in funcs)
        sync_call: Callable[[RequestContext], Any] = call.sync
        async_call: Callable[[RequestContext], Any] = call.async_
        for wrap in wrappers:
            sync_call, async_call = wrap(sync_call), wrap(async_call)
        self.run_sync = sync_call
        self.run_async = async_call


class _Continuation:
    """``do_chain()`` in an asynchronous chain: awaitable by an async filter, or run after a
    plain filter returns."""

    __slots__ = ("_start", "requested", "started")

    def __init__(self, start: Callable[[], Awaitable[None]]) -> None:
        self._start = start
        self.requested = False
        self.started = False

    def trigger(self) -> _Continuation:
        self.requested = True
        return self

    def __await__(self) -> Any:
        self.started = True
        return self._start().__await__()


class LocalSessions(SessionAccess):
    """Finds a request's session through the factory, by the session cookie."""

    def __init__(self, factory: SessionFactory, cookie_name: str = SESSION_COOKIE_NAME) -> None:
        self.factory = factory
        self.cookie_name = cookie_name

    def get_session(self, request: Request, create: bool) -> Optional[Session]:
        morsel = request.cookies.get(self.cookie_name)
        session_id = morsel.value if morsel is not None else ""
        return self.factory.get_session(session_id, create)


class Dispatcher:
    """Serves requests for one built application; drivers call ``handle_sync`` or
    ``handle_async`` and write the ``Outgoing`` it returns. Neither raises."""

    def __init__(self, app: Application, router: Router, entries: dict[Any, RouteEntry],
                 renderer: Renderer, sessions: SessionFactory, gzip: GzipPolicy,
                 executor: Optional[WorkerPool] = None, budget: Optional[BodyBudget] = None,
                 json_codec: JsonCodec = DEFAULT_JSON_CODEC,
                 response_hooks: Sequence[Callable[[Request, Response], None]] = ()) -> None:
        self.app = app
        #: Bytes of one buffered body kept in memory, and the server-wide memory budget.
        self.spool_threshold = app.limits.spool_threshold
        self.budget = budget
        #: A route narrows on parameters (``params=``): a form body is read before routing,
        #: under the largest body limit of the routes, since its fields may decide the route.
        self.forms_before_routing = any(route.params for route in entries)
        self.largest_body_limit = max([entry.body_limit for entry in entries.values()] or [0])
        self.router = router
        self.entries = entries
        self.renderer = renderer
        self.session_cookie: SessionCookie = app.session_cookie
        self.sessions = LocalSessions(sessions, self.session_cookie.name)
        self.gzip = gzip
        #: Renders the dict and list bodies a controller leaves in ``response.body``.
        self.json_codec = json_codec
        #: Plugins' ``hook(request, response)``, run on every response before it is sent.
        self.response_hooks = tuple(response_hooks)
        self.executor = executor
        self._loops = threading.local()

    # -- the response stream hooks (see Response.StreamHooks) ---------------------------
    def before_commit(self, request: Request, response: Response) -> None:
        """Add the session cookie (and the plugins' headers) before a streamed head goes out."""
        self._session_cookie(request, response)
        if self.response_hooks:
            self._run_response_hooks(request, response)

    def stream_gzip(self, request: Request, response: Response) -> Optional[GzipStream]:
        """Gzip a streamed body when its content type is configured and accepted."""
        content_type = response.headers.get("Content-Type")
        if isinstance(content_type, str) and self.gzip.wants(request, content_type):
            return GzipStream(self.gzip.level)
        return None

    def _run_response_hooks(self, request: Request, response: Response) -> None:
        """The plugins' response hooks; one that fails is logged and the response goes out
        without its change (a failing hook must not lose the answer)."""
        for hook in self.response_hooks:
            try:
                hook(request, response)
            except Exception:
                _log.exception("Response hook %r failed for %s %s", hook, request.method, request.path)

    # -- the request path ----------------------------------------------------------------
    def _prepare(self, request: Request, response: Response) -> tuple[RequestContext, RouteEntry]:
        request.session_access = self.sessions
        response.stream_hooks = self
        match = self._match(request)
        request.path_values = match.path_values
        request.reg_groups = match.reg_groups
        return RequestContext(self.app, request, response, match.route), self.entries[match.route]

    def _match(self, request: Request) -> RouteMatch:
        """The route for ``request``: WebSocket upgrades look for a ``WEBSOCKET`` route first."""
        router, method, path = self.router, request.method, request.path
        if request.upgrade == "websocket" and method == "GET":
            try:
                return router.match(WEBSOCKET_METHOD, path, request)
            except MethodNotAllowed:
                pass  # no WebSocket endpoint here: serve the request as plain HTTP
        try:
            return router.match(method, path, request)
        except MethodNotAllowed as error:
            if error.allowed == (WEBSOCKET_METHOD,):
                raise HttpError(426, "Upgrade Required", "This is a WebSocket endpoint.",
                                headers={"Upgrade": "websocket", "Sec-WebSocket-Version": "13"}) from None
            raise

    def _run_chain_sync(self, ctx: RequestContext, entry: RouteEntry, filters: Sequence[Any], index: int) -> None:
        response = ctx.response
        if index == len(filters):
            self.renderer.apply(entry.run_sync(ctx), ctx)
            return

        def next_step() -> None:
            if not response.is_sent:
                self._run_chain_sync(ctx, entry, filters, index + 1)
        filters[index](FilterContext(ctx.app, ctx.request, response, next_step))

    async def _run_chain_async(self, ctx: RequestContext, entry: RouteEntry, filters: Sequence[Any],
                               index: int) -> None:
        response = ctx.response
        if index == len(filters):
            self.renderer.apply(await entry.run_async(ctx), ctx)
            return

        async def rest() -> None:
            if not response.is_sent:
                await self._run_chain_async(ctx, entry, filters, index + 1)
        continuation = _Continuation(rest)
        result = filters[index](FilterContext(ctx.app, ctx.request, response, continuation.trigger))
        if inspect.isawaitable(result):
            await result
        if continuation.requested and not continuation.started:
            await continuation

    def _run_sync(self, ctx: RequestContext, entry: RouteEntry) -> None:
        filters = entry.filters.for_path(ctx.request.path)
        try:
            if not filters:
                self.renderer.apply(entry.run_sync(ctx), ctx)
            else:
                self._run_chain_sync(ctx, entry, filters, 0)
        except BaseException as exc:
            if ctx.cleanups:
                ctx.run_cleanups(exc)
            raise
        if ctx.cleanups:
            ctx.run_cleanups(None)

    async def _run_async(self, ctx: RequestContext, entry: RouteEntry) -> None:
        filters = entry.filters.for_path(ctx.request.path)
        try:
            if not filters:
                self.renderer.apply(await entry.run_async(ctx), ctx)
            else:
                await self._run_chain_async(ctx, entry, filters, 0)
        except BaseException as exc:
            if ctx.cleanups:
                await ctx.run_cleanups_async(exc)
            raise
        if ctx.cleanups:
            await ctx.run_cleanups_async(None)

    def _thread_loop(self) -> asyncio.AbstractEventLoop:
        """An event loop owned by this worker thread, for async routes on the threading server.

        It is closed when the thread ends (the thread-local holder is dropped then).
        """
        holder: Optional[_LoopHolder] = getattr(self._loops, "holder", None)
        if holder is None:
            holder = _LoopHolder()
            self._loops.holder = holder
        return holder.loop

    def handle_sync(self, request: Request, response: Response) -> Outgoing:
        """Serve one request on the calling thread (the threading driver)."""
        ctx: Optional[RequestContext] = None
        try:
            if self.forms_before_routing and request.has_form_body:
                request.reader.limit = self.largest_body_limit
                request.load_body_sync(self.spool_threshold, self.budget)
            ctx, entry = self._prepare(request, response)
            reader = request.reader
            if reader is not EMPTY_BODY:  # most requests have no body: nothing to decide
                reader.limit = entry.body_limit
                reader.check_length()
                if not entry.streams_body:
                    request.load_body_sync(self.spool_threshold, self.budget)
            if entry.is_async:
                self._thread_loop().run_until_complete(self._run_async(ctx, entry))
            else:
                self._run_sync(ctx, entry)
            if response.error is not None:
                raise response.error
        except BaseException as exc:  # noqa: B036 - every failure becomes a response (module notes)
            return self._fail(request, response, ctx, exc)
        return self._finish(request, response)

    async def handle_async(self, request: Request, response: Response) -> Outgoing:
        """Serve one request in the running event loop (the asyncio driver)."""
        ctx: Optional[RequestContext] = None
        try:
            if self.forms_before_routing and request.has_form_body:
                request.reader.limit = self.largest_body_limit
                await request.load_body(self.spool_threshold, self.budget)
            ctx, entry = self._prepare(request, response)
            reader = request.reader
            in_thread = self.executor is not None
            if reader is not EMPTY_BODY:  # most requests have no body: nothing to decide
                reader.limit = entry.body_limit
                reader.check_length()
                if entry.streams_body:
                    # A sync controller reading a loop-fed body must not block the loop.
                    in_thread = in_thread or isinstance(reader, LoopBody)
                else:
                    await request.load_body(self.spool_threshold, self.budget)
            if entry.is_async:
                await self._run_async(ctx, entry)
            elif in_thread:
                loop = asyncio.get_running_loop()
                if self.executor is not None:
                    await self.executor.run_on_loop(loop, self._run_sync, ctx, entry)
                else:  # no pool of our own: a loop-fed body's sync reader still must not block the loop
                    await loop.run_in_executor(None, self._run_sync, ctx, entry)
            else:
                self._run_sync(ctx, entry)
            if response.error is not None:
                raise response.error
        except asyncio.CancelledError:
            raise  # the server is aborting this request (module notes)
        except BaseException as exc:  # noqa: B036 - every other failure becomes a response
            return self._fail(request, response, ctx, exc)
        return self._finish(request, response)

    # -- endings ---------------------------------------------------------------------------
    def _session_cookie(self, request: Request, response: Response) -> None:
        # Only a stored session is worth a cookie: the built-in stores keep a session from its
        # first attribute, so a request that merely looked at one gets none. A client whose
        # cookie names no stored session (invalidated, expired, forged) gets it deleted.
        session = request.loaded_session
        secure = request.scheme == "https"
        cookie = self.session_cookie
        if session is not None and session.is_valid and session.is_stored:
            response.add_header("Set-Cookie", session_cookie(cookie, session, secure))
        elif session is not None and cookie.name in request.cookies:
            response.add_header("Set-Cookie", expired_session_cookie(cookie, secure))

    def _finish(self, request: Request, response: Response) -> Outgoing:
        if request.reader is not EMPTY_BODY:
            _settle_body(request)
        if not response.streaming:
            if request.loaded_session is not None:
                self._session_cookie(request, response)
            if self.response_hooks:
                self._run_response_hooks(request, response)
        try:
            if isinstance(response.body, StaticFile):
                open_static(request, response, self.gzip)
            return finalize(request, response, self.gzip, not request.keep_alive, self.json_codec)
        except Exception as exc:  # a missing StaticFile (404), a bad cookie or body (500)
            return self._fail(request, Response(), None, exc)

    def _fail(self, request: Request, response: Response, ctx: Optional[RequestContext],
              exc: BaseException) -> Outgoing:
        if response.streaming:
            # The head is already out: the only honest signal left is to cut the connection.
            if isinstance(exc, ClientDisconnected):  # the client left: nothing went wrong here
                _log.debug("Client left during the streamed response to %s %s", request.method, request.path)
            else:
                _log.error("Error after a streamed response began for %s %s", request.method, request.path,
                           exc_info=exc)
            return Outgoing.already_sent(close=True)
        if isinstance(exc, HttpError):
            error = exc
        else:
            _log.error("Unhandled error in %s %s", request.method, request.path, exc_info=exc)
            error = HttpError(500, "Internal Server Error")
            error.__cause__ = exc
        _settle_body(request)
        fresh = Response(error.code)
        fresh.bind(request, _NO_CHANNEL)
        if ctx is None:
            ctx = RequestContext(self.app, request, fresh)
        else:
            ctx.response = fresh
        try:
            rendered = self.app.hooks.handle_error(ctx, error)
        except BaseException as render_exc:  # noqa: B036 - a failing error page must not stop the server
            _log.error("Error page for %d failed", error.code, exc_info=render_exc)
            rendered = None
        if rendered is None:
            rendered = Response(error.code, body=f"{error.code} {error.message}")
        for name, text in error.headers.items():
            rendered.headers[name] = text
        for name, value in response.headers.items():  # what a filter set before send_error
            if name.lower() not in _BODY_HEADERS and name not in rendered.headers:
                rendered.headers[name] = value
        rendered.bind(request, _NO_CHANNEL)
        if self.response_hooks:
            self._run_response_hooks(request, rendered)
        try:
            return _finalize(request, rendered, self.gzip, not request.keep_alive, self.json_codec)
        except (HttpError, TypeError) as final_exc:
            _log.error("Cannot render the error response", exc_info=final_exc)
            plain = Response(500, body="500 Internal Server Error")
            return finalize(request, plain, self.gzip, True)


def _settle_body(request: Request) -> None:
    """A body not read to its end (a controller that stopped reading, a refused request):
    drop what has arrived; if more is to come, the connection cannot be reused, so this
    response is its last."""
    reader = request.reader
    if reader is not EMPTY_BODY and not reader.done and not reader.discard_buffered():
        request.keep_alive = False


def _finalize(request: Request, response: Response, gzip: GzipPolicy, close: bool, codec: JsonCodec) -> Outgoing:
    """``finalize``, after opening the file of a ``StaticFile`` body (the one I/O step)."""
    if isinstance(response.body, StaticFile):
        open_static(request, response, gzip)
    return finalize(request, response, gzip, close, codec)


class _LoopHolder:
    """Owns one thread's event loop and closes it when the thread's locals are dropped."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        weakref.finalize(self, _close_unless_running, self.loop)


def _close_unless_running(loop: asyncio.AbstractEventLoop) -> None:
    # At interpreter exit a worker thread may still be running a handler on its loop (the
    # server stopped without waiting for it): that loop is left to the process's end.
    if not loop.is_running():
        loop.close()


class _NoChannel:
    """The channel of an error response: streaming is not possible there."""

    def start(self, request: Request, status: int, headers: list[tuple[str, str]]) -> None:
        raise RuntimeError("an error response cannot stream")

    def write(self, data: bytes) -> None:
        raise RuntimeError("an error response cannot stream")

    def end(self) -> None:
        raise RuntimeError("an error response cannot stream")


_NO_CHANNEL = _NoChannel()
