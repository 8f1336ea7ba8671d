"""``naja_atra.server``: start and stop an application (the original framework's server module).

``start``/``start_async`` serve ``naja_atra.default_app``, or the application passed as
``app_conf`` (an ``Application``, e.g. ``naja_atra.app_conf.get_app_conf("admin")``), as in
naja-atra 1.x. ``stop()`` and ``is_ready()`` act on what ``start``/``start_async`` are serving
(``default_app`` when they serve nothing, e.g. under ``python -m naja_atra``), or on the
application passed as ``app_conf``. ``scan()`` needs no application: it imports modules, and
their decorators say which application they register on.
"""
from __future__ import annotations

import contextlib
import threading
from typing import Any, Iterator, Optional

from .app.application import Application
from .app.default import default_app

__all__ = ["is_ready", "scan", "start", "start_async", "stop"]

_lock = threading.Lock()
# The applications start()/start_async() are serving right now, oldest first.
_serving: list[Application] = []


def _application(app_conf: Optional[Application]) -> Application:
    if app_conf is None:
        return default_app
    if not isinstance(app_conf, Application):
        raise TypeError(f"app_conf must be an Application (naja_atra.app_conf.AppConf), not {app_conf!r}")
    return app_conf


@contextlib.contextmanager
def _tracked(app: Application) -> Iterator[None]:
    with _lock:
        _serving.append(app)
    try:
        yield
    finally:
        with _lock:
            _serving.remove(app)


def _targets(app_conf: Optional[Application]) -> list[Application]:
    if app_conf is not None:
        return [_application(app_conf)]
    with _lock:
        serving = list(dict.fromkeys(_serving))  # each once, in start order
    return serving or [default_app]


def scan(base_dir: str = "", regx: str = r"", project_dir: str = "", *, on_error: str = "log") -> list[str]:
    """Import controller modules (see ``Application.scan``). A module that fails to import is
    logged, with its file and traceback, and skipped, as in 1.x; ``on_error="raise"`` raises
    an ``ImportError`` naming it instead."""
    return default_app.scan(base_dir, regx, project_dir, on_error=on_error)


def start(host: str = "", port: int = 9090, *, app_conf: Optional[Application] = None, **options: Any) -> None:
    """Serve ``app_conf`` (default: ``naja_atra.default_app``) until ``stop()`` (blocks).
    The options are those of ``Application.start``."""
    app = _application(app_conf)
    with _tracked(app):
        app.start(host, port, **options)


async def start_async(host: str = "", port: int = 9090, *, app_conf: Optional[Application] = None,
                      **options: Any) -> None:
    """Serve ``app_conf`` (default: ``naja_atra.default_app``) in the running event loop."""
    app = _application(app_conf)
    with _tracked(app):
        await app.start_async(host, port, **options)


def stop(timeout: Optional[float] = None, *, app_conf: Optional[Application] = None) -> None:
    """Stop what ``start``/``start_async`` serve (``default_app`` when they serve nothing), or
    only ``app_conf`` when it is given (see ``Application.stop`` for ``timeout``)."""
    for app in _targets(app_conf):
        app.stop(timeout)


def is_ready(*, app_conf: Optional[Application] = None) -> bool:
    """True once what ``start``/``start_async`` serve accepts connections (``default_app`` when
    they serve nothing), or ``app_conf`` when it is given."""
    return all(app.is_ready() for app in _targets(app_conf))
