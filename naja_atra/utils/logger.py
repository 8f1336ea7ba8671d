"""The framework's logger API (as in naja-atra 1.x), built on the standard :mod:`logging` package.

A :class:`LoggerFactory` owns one *parent* :class:`logging.Logger`: its level and its handlers.
``factory.get_logger(tag)`` returns a plain stdlib child of that parent which has no level and no
handlers of its own, so a record is filtered by the factory's level and printed once, by the
factory's handlers. The parent does not propagate further, which keeps factories independent of
each other and of the root logger (add a handler with :func:`add_handler` to route records
elsewhere, e.g. ``logger.add_handler(caplog.handler)`` in a test).

- The default factory's parent is the stdlib logger ``"naja_atra"``: framework modules that call
  ``logging.getLogger(__name__)`` are its children too. A user tag ``"my_service"`` becomes
  ``"naja_atra.my_service"``.
- A named factory (``get_logger_factory("my_fac")``) lives under ``"naja_atra-factory:my_fac"``.
  Dots and ``%`` in the factory name are percent-escaped so that no factory's logger can be
  another factory's child.

The loggers are ordinary stdlib loggers: ``log.debug(...)`` with DEBUG disabled is one cached
level check and no other work, which is what the request path needs.
"""
from __future__ import annotations

import itertools
import logging
import sys
import threading
import weakref
from typing import Optional, TextIO, Union

__all__ = [
    "DEFAULT_DATE_FORMAT",
    "DEFAULT_LOG_FORMAT",
    "LoggerFactory",
    "add_handler",
    "get_logger",
    "get_logger_factory",
    "remove_handler",
    "set_custom_logger",
    "set_handler",
    "set_level",
]

DEFAULT_LOG_FORMAT = "[%(asctime)s]-[%(name)s]-%(levelname)s: %(message)s"
DEFAULT_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

#: A level as ``logging`` accepts it: a name (``"DEBUG"``, case-insensitive) or a number.
LevelLike = Union[str, int]

_DEFAULT_NAMESPACE = "naja_atra"
_FACTORY_PREFIX = "naja_atra-factory:"

# One lock for the module's own bookkeeping (factory registry, handler lists, custom logger).
# It is never taken while logging, only while (re)configuring.
_lock = threading.RLock()
_custom_logger: Optional[logging.Logger] = None
_anonymous_ids = itertools.count(1)


def _to_level(level: LevelLike) -> int:
    """``"debug"`` / ``"DEBUG"`` / ``"10"`` / ``10`` -> ``10``; an unknown name is a ValueError."""
    if isinstance(level, bool):  # bool is an int subclass; True as a level is surely a mistake
        raise TypeError(f"A log level must be a str or an int, not {level!r}")
    if isinstance(level, int):
        return level
    if isinstance(level, str):
        name = level.strip().upper()
        if name.isdigit():
            return int(name)
        # getLevelName maps a registered name to its number (and anything else to a str).
        value = logging.getLevelName(name)
        if isinstance(value, int):
            return value
        raise ValueError(f"Unknown log level {level!r}")
    raise TypeError(f"A log level must be a str or an int, not {type(level).__name__}")


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is *now*, so redirect_stderr and test capture work."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        # StreamHandler.__init__ / setStream assign here; the target is always the current stderr.
        pass


class _ForwardHandler(logging.Handler):
    """Installed instead of a factory's handlers while a custom logger is set (see set_custom_logger)."""

    _local = threading.local()

    def handle(self, record: logging.LogRecord) -> bool:
        # Overrides Handler.handle to skip the handler lock: the target's handlers lock themselves,
        # and one shared forwarder must not serialise every thread's logging.
        target = _custom_logger
        local = self._local
        # The guard stops a loop when the custom logger is itself one of our factories' loggers.
        if target is None or getattr(local, "busy", False) or not self.filter(record):
            return False
        # Like the reference, the custom logger's level is not consulted unless it was set
        # explicitly: a logger made just to carry handlers is NOTSET, and the root's WARNING
        # default would otherwise silently drop the framework's INFO records.
        if target.level and record.levelno < target.level:
            return False
        local.busy = True
        try:
            target.handle(record)
        finally:
            local.busy = False
        return True

    def emit(self, record: logging.LogRecord) -> None:  # pragma: no cover - handle() does the work
        self.handle(record)


_FORWARD = _ForwardHandler()


class LoggerFactory:
    """A family of loggers sharing one level and one set of handlers, independent of other factories.

    ``LoggerFactory()`` makes an anonymous factory; :func:`get_logger_factory` returns the
    named, process-wide ones. By default the loggers write to stderr at level ``INFO``.
    """

    # The parent stdlib logger of this factory; the stdlib keeps it alive for the process.
    _parent: logging.Logger
    _handlers: list[logging.Handler]

    def __init__(
        self,
        log_level: LevelLike = "INFO",
        log_format: str = DEFAULT_LOG_FORMAT,
        date_format: str = DEFAULT_DATE_FORMAT,
    ) -> None:
        self._setup(f"{_FACTORY_PREFIX}#{next(_anonymous_ids)}", log_level, log_format, date_format)

    def _setup(self, namespace: str, log_level: LevelLike, log_format: str, date_format: str) -> None:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter(fmt=log_format, datefmt=date_format))
        self._namespace = namespace
        self._parent = logging.getLogger(namespace)
        self._parent.propagate = False  # a record is printed by this factory's handlers only
        self._parent.setLevel(_to_level(log_level))
        self._handlers = [handler]
        with _lock:
            _all_factories.add(self)
            self._apply()

    @classmethod
    def _named(cls, namespace: str) -> LoggerFactory:
        factory = cls.__new__(cls)
        factory._setup(namespace, "INFO", DEFAULT_LOG_FORMAT, DEFAULT_DATE_FORMAT)
        return factory

    def _apply(self) -> None:
        # Assigning a fresh list is atomic, so a thread logging meanwhile sees either the old or
        # the new handlers, never an empty list in between.
        with _lock:
            self._parent.handlers = [_FORWARD] if _custom_logger is not None else list(self._handlers)

    @property
    def name(self) -> str:
        """The name of this factory's parent stdlib logger; its loggers are named ``<name>.<tag>``."""
        return self._namespace

    @property
    def log_level(self) -> str:
        """The level name, e.g. ``"INFO"``; set it with a name (any case) or a number."""
        return logging.getLevelName(self._parent.level)

    @log_level.setter
    def log_level(self, level: LevelLike) -> None:
        # setLevel clears the stdlib's per-logger level caches, so children see it at once.
        self._parent.setLevel(_to_level(level))

    @property
    def handlers(self) -> list[logging.Handler]:
        """A copy of this factory's handlers."""
        with _lock:
            return list(self._handlers)

    def add_handler(self, handler: logging.Handler) -> None:
        """Also send this factory's records to ``handler``."""
        with _lock:
            if handler not in self._handlers:
                self._handlers.append(handler)
            self._apply()

    def remove_handler(self, handler: logging.Handler) -> None:
        """Stop sending records to ``handler`` (no error if it was not added)."""
        with _lock:
            if handler in self._handlers:
                self._handlers.remove(handler)
            self._apply()

    def set_handler(self, handler: logging.Handler) -> None:
        """Replace all of this factory's handlers (the default stderr one included) with ``handler``."""
        with _lock:
            self._handlers = [handler]
            self._apply()

    def get_logger(self, tag: str = _DEFAULT_NAMESPACE) -> logging.Logger:
        """The logger for ``tag`` in this factory (the same object for the same tag).

        An empty tag, or the factory's own name, gives the factory's parent logger; a tag that
        already starts with ``<factory name>.`` (e.g. a framework module's ``__name__``) is used
        as it is.
        """
        ns = self._namespace
        if not tag or tag == ns:
            return self._parent
        if tag.startswith(ns + "."):
            return logging.getLogger(tag)
        return logging.getLogger(f"{ns}.{tag}")

    def __repr__(self) -> str:
        return f"<LoggerFactory {self._namespace!r} level={self.log_level}>"


# Every factory, named or not, so that set_custom_logger can rewire them all.
_all_factories: weakref.WeakSet[LoggerFactory] = weakref.WeakSet()
_named_factories: dict[str, LoggerFactory] = {}
_default_factory = LoggerFactory._named(_DEFAULT_NAMESPACE)


def _factory_namespace(tag: str) -> str:
    # Injective and dot-free: "a.b" and "a_b" and "a%2Eb" all get distinct loggers, none nested.
    return _FACTORY_PREFIX + tag.replace("%", "%25").replace(".", "%2E")


def get_logger_factory(tag: str = "") -> LoggerFactory:
    """The process-wide factory named ``tag``, created at first use; ``""`` is the framework's own."""
    if not tag:
        return _default_factory
    with _lock:
        factory = _named_factories.get(tag)
        if factory is None:
            factory = LoggerFactory._named(_factory_namespace(tag))
            _named_factories[tag] = factory
        return factory


def get_logger(tag: str = _DEFAULT_NAMESPACE, factory: str = "") -> logging.Logger:
    """The logger ``tag`` of the factory named ``factory`` (the framework's factory by default)."""
    return get_logger_factory(factory).get_logger(tag)


def set_level(level: LevelLike) -> None:
    """Set the framework factory's level (``"DEBUG"``, ``"info"``, ``logging.WARNING``, ...)."""
    _default_factory.log_level = level


def add_handler(handler: logging.Handler) -> None:
    """Also send the framework's log records to ``handler``."""
    _default_factory.add_handler(handler)


def remove_handler(handler: logging.Handler) -> None:
    """Stop sending the framework's log records to ``handler``."""
    _default_factory.remove_handler(handler)


def set_handler(handler: logging.Handler) -> None:
    """Replace the framework's handlers (the default stderr one included) with ``handler``."""
    _default_factory.set_handler(handler)


def set_custom_logger(logger: Optional[logging.Logger]) -> None:
    """Send every factory's records to ``logger`` instead of to the factories' own handlers.

    ``logger.handle(record)`` is called, so its filters, handlers and parents apply. A record
    must pass the factory's level, and ``logger``'s level too if one was set on it (not NOTSET).
    ``None`` restores the factories' own handlers. ``logger`` may not be one of the factories'
    loggers (that would be a loop): ValueError.
    """
    global _custom_logger
    with _lock:
        if logger is not None:
            parents = {factory._parent for factory in _all_factories}
            node: Optional[logging.Logger] = logger
            while node is not None:
                if node in parents:
                    raise ValueError(f"{logger!r} belongs to a naja_atra logger factory: it cannot be "
                                     "the custom logger")
                node = node.parent
        _custom_logger = logger
        for factory in list(_all_factories):
            factory._apply()
