"""``RouteGroup``: routes, controllers, filters, error pages and WebSocket endpoints under a
prefix, included into applications (``app.include(group)``) and into other groups.

Not named ``Router``: in this package a router is what matches a request to a route
(``naja_atra.routes.Router``, made by the ``naja_atra_make_router`` hook), so two different
things would share a name; ``Blueprint`` would promise Flask's semantics (registration
callbacks, template folders). A group is what FastAPI calls an ``APIRouter`` and Flask a
blueprint: a set of routes with a shared prefix, tags and name, defined once and included
where it is needed.
"""
from __future__ import annotations

import threading
import weakref
from typing import Callable

from .registrar import Registrar, Tags
from .registry import check_name, check_prefix, tags_of


class RouteGroup(Registrar):
    """A group of routes with the decorators of ``Application`` (``route``, ``get``, ``post``,
    ..., ``controller``, ``request_filter``, ``error_message``, ``websocket_*``, ``include``).

    ``prefix`` goes before every path of the group (after the prefix it is included under);
    ``tags`` before every route's tags; ``name`` before every route's ``url_for`` name
    (``users.show``; no dots in it). ``include_in_schema=False`` leaves the whole group out
    of the OpenAPI document. The group's filters run only for its routes (and those of the
    groups it includes); its error pages answer only their errors. Nothing is resolved until
    an application that includes it is built, so one group may be included into several
    applications, under different prefixes, and routes added to it later are served too.
    """

    _filters_need_pattern = False

    def __init__(self, prefix: str = "", *, name: str = "", tags: Tags = (), include_in_schema: bool = True) -> None:
        super().__init__()
        self.prefix = check_prefix(prefix, "RouteGroup")
        self.name = check_name(name, "RouteGroup")
        self.tags = tags_of(tags, "RouteGroup")
        self.include_in_schema = include_in_schema
        # What includes this group, weakly: a group defined at module level must not keep the
        # applications of finished tests alive. Dead entries are dropped at each include.
        self._listeners: list[weakref.WeakMethod[Callable[[], None]]] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RouteGroup(prefix={self.prefix!r}, name={self.name!r})"

    def _changed(self) -> None:
        """A registration here: every application that includes this group, directly or
        through other groups, rebuilds before its next request."""
        with self._lock:
            listeners = list(self._listeners)
        for ref in listeners:
            callback = ref()
            if callback is not None:
                callback()

    def _listen(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (a bound ``_changed``) on each registration from now on."""
        with self._lock:
            live = [ref for ref in self._listeners if ref() is not None and ref() != callback]
            live.append(weakref.WeakMethod(callback))
            self._listeners = live
