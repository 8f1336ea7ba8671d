"""The plugin object: ``app.register(RedisSessionsPlugin(url_or_factory))`` and its hooks."""
from __future__ import annotations

import contextlib
import inspect
from typing import TYPE_CHECKING, Any, Iterator, Optional, Union

from ...hooks.specs import hookimpl
from ...http.errors import ConfigurationError
from ...injection import builtin as _builtin
from ...sessions import Session, SessionFactory
from .config import DEFAULT_URL, log
from .event_loop import SCOPE_KEY, RequestScope, current_scope, kind_of_server
from .factory import RedisSessionFactory

if TYPE_CHECKING:
    from ...app.application import Application
    from ...app.context import RequestContext
    from ...app.routes import Route
    from ...injection.params import Param, Resolver

__all__ = ["RedisSessionsPlugin"]


def _wants_session(param: Param) -> bool:
    """Whether the built-in resolvers would give ``param`` the request's session."""
    try:
        return _builtin.builtin_resolver(param, fallback=False) is _builtin.session
    except ConfigurationError:
        return False  # not ours: the built-in plugin reports it


class RedisSessionsPlugin:
    """Redis sessions for an application: ``app.register(RedisSessionsPlugin(url_or_factory))``.

    - ``naja_atra_make_session_factory``: the factory (made once, from the URL and
      ``factory_options`` when a URL is given);
    - ``naja_atra_make_resolver``: ``Session`` parameters loaded before the controller and
      saved after it, off the event loop (see the ``event_loop`` module); ``preload=False``
      leaves them to the built-in (blocking) resolver;
    - ``naja_atra_lifespan``: at start, pings Redis (:class:`SessionStoreUnavailable` if it
      does not answer) and tells the factory which server runs; at stop, closes the factory
      (its I/O threads, and the client if the factory made it) unless another application
      sharing it is still serving.
    """

    def __init__(self, factory_or_url: Union[RedisSessionFactory, str] = DEFAULT_URL, *, preload: bool = True,
                 **factory_options: Any) -> None:
        if isinstance(factory_or_url, RedisSessionFactory):
            if factory_options:
                raise TypeError("Give factory options to RedisSessionFactory, not with a ready factory")
            self.factory = factory_or_url
        elif isinstance(factory_or_url, str):
            self.factory = RedisSessionFactory(factory_or_url, **factory_options)
        else:
            raise TypeError(f"RedisSessionsPlugin needs a Redis URL or a RedisSessionFactory, not {factory_or_url!r}")
        self.preload = preload

    @hookimpl
    def naja_atra_make_session_factory(self, app: Application) -> SessionFactory:
        """The Redis factory (the same at every build)."""
        return self.factory

    @hookimpl
    def naja_atra_make_resolver(self, app: Application, route: Route, param: Param) -> Optional[Resolver]:
        """A ``Session`` parameter, loaded off the loop (None: left to the built-in)."""
        if not self.preload or not _wants_session(param):
            return None
        if app.run_sync_in_threadpool and not inspect.iscoroutinefunction(route.handler):
            return None  # a plain controller run in the thread pool: blocking calls are fine there
        return self._session_resolver()

    def _session_resolver(self) -> Resolver:
        factory = self.factory

        async def load_session(ctx: RequestContext) -> Optional[Session]:
            state = ctx.state
            if state is None:
                state = ctx.state = {}
            scope = state.get(SCOPE_KEY)
            if not isinstance(scope, RequestScope):
                scope = state[SCOPE_KEY] = RequestScope(factory)
                scope.token = current_scope.set(scope)
                ctx.add_cleanup(scope.finish)
            morsel = ctx.request.cookies.get(ctx.app.session_cookie.name)
            session_id = morsel.value if morsel is not None else ""
            if session_id and factory.is_plausible_id(session_id) and session_id not in scope.known:
                scope.remember(session_id, await factory.run_io(factory.load, session_id, True))
            # Through the request, so that request.get_session() gives the same object; the
            # factory answers from the scope, without I/O.
            return ctx.request.get_session(True)
        return load_session

    @hookimpl
    def naja_atra_lifespan(self, app: Application) -> contextlib.AbstractContextManager[None]:
        """Ping Redis at start, close the factory at stop."""
        return self._serving(app)

    @contextlib.contextmanager
    def _serving(self, app: Application) -> Iterator[None]:
        factory = self.factory
        factory.ping()
        kind = kind_of_server(app.server)
        if kind == "asyncio":
            log.info("Redis sessions on the asyncio server: Session parameters are loaded and saved off the "
                     "event loop; a blocking call on the loop raises EventLoopBlockingError")
        with factory.serving(kind):
            yield

    def __repr__(self) -> str:
        return f"<RedisSessionsPlugin {self.factory!r}>"
