"""Graceful shutdown: the stop sequence, and SIGTERM/SIGINT wired to it.

:func:`stop_server` is the sequence ``Application.stop()`` runs:

1. ``server.stop_accepting()``: the listening socket is closed (a new connection is refused
   from then on), idle keep-alive connections are closed, and the request each busy
   connection is handling becomes its last (its response says ``Connection: close``).
2. The open WebSocket sessions are closed with ``1001`` (their ``on_close`` runs), waiting
   at most :data:`WEBSOCKET_CLOSE_TIMEOUT` for the peers to answer.
3. ``server.shutdown(timeout)``: in-flight requests get ``timeout`` seconds to finish, then
   the connections left are aborted. ``timeout`` None is a plain ``shutdown()``: the
   server's ``shutdown_grace`` (at most 0.9 s), so a programmatic ``stop()`` stays bounded
   at about 2 s as it always was.

The server's ``serve_forever()``/``serve()`` return only after step 3 has drained the
connections, so the lifespan contexts ``start()`` entered are exited (in reverse order)
after the last response.

:func:`stop_on_signals` (for ``start()``) and :func:`stop_on_signals_async` (for
``start_async()``) install handlers for SIGTERM and SIGINT while serving -- only on the
main thread, the only one Python delivers signals to -- and restore the previous handlers
afterwards. The first signal runs :func:`stop_server` with the server's
``config.shutdown_timeout`` on a worker thread; a second one (Ctrl-C again, say) forces an
immediate stop: ``server.shutdown(0)`` aborts every connection at once.

The handlers themselves do next to nothing: a plain handler (it runs between two bytecodes
of whatever the main thread was doing, possibly holding a lock the stop needs) only writes
a byte to a socket a watcher thread reads; on a loop, ``loop.add_signal_handler`` already
runs the callback as an ordinary loop callback, and that only starts the worker thread.
"""
from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import signal
import socket
import threading
import time
from types import FrameType
from typing import Any, AsyncIterator, Callable, Iterator, Optional, Protocol, Sequence, Union

from .common import Server

__all__ = [
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "DEFAULT_SIGNALS",
    "WEBSOCKET_CLOSE_TIMEOUT",
    "SessionsLike",
    "stop_server",
    "stop_on_signals",
    "stop_on_signals_async",
]

logger = logging.getLogger("naja_atra.shutdown")

#: What in-flight requests get on SIGTERM/SIGINT unless configured (``shutdown_timeout``).
DEFAULT_SHUTDOWN_TIMEOUT = 10.0
#: The signals that stop a server started with ``start()``/``start_async()``.
DEFAULT_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)
#: How long the stop waits for WebSocket peers to answer the ``1001`` close (s).
WEBSOCKET_CLOSE_TIMEOUT = 1.0
#: How long leaving a signal block waits for a stop the signal started to finish (s): by
#: then the server has drained, so only the worker's last steps are left.
_JOIN_WAIT = 2.0

_Handler = Union[Callable[[int, Optional[FrameType]], Any], int, signal.Handlers, None]


class SessionsLike(Protocol):
    """What the stop needs of the application's open WebSocket sessions
    (:class:`~naja_atra.websocket.session.OpenSessions`)."""

    def close_all(self, code: int = 1001, reason: str = "server shutdown", timeout: float = 1.5) -> None:
        """Close every session with ``code``; wait at most ``timeout`` for them to end."""
        ...


# -- the sequence ----------------------------------------------------------------------------


def stop_server(server: Server, sessions: Optional[SessionsLike] = None,
                timeout: Optional[float] = None) -> None:
    """Stop ``server`` gracefully: stop accepting, close WebSocket sessions with 1001, drain.

    ``timeout``: seconds in-flight requests get before their connections are aborted; None
    for the server's plain ``shutdown()`` (``shutdown_grace``, the whole stop within about
    2 s). Returns once the server has stopped (or, called on the server's own event loop,
    once the stop is under way: it cannot wait there). Idempotent; a later call with a
    shorter ``timeout`` brings the cut-off forward.
    """
    stop_accepting: Optional[Callable[[], None]] = getattr(server, "stop_accepting", None)
    if stop_accepting is not None:  # a server written before it existed only has shutdown()
        stop_accepting()
    if sessions is not None:
        wait = WEBSOCKET_CLOSE_TIMEOUT if timeout is None else max(0.0, min(WEBSOCKET_CLOSE_TIMEOUT, timeout))
        try:
            sessions.close_all(1001, "server shutdown", timeout=wait)
        except Exception:  # the HTTP side must stop all the same
            logger.exception("closing the WebSocket sessions failed")
    if timeout is None or not _takes_timeout(server):
        server.shutdown()
    else:
        server.shutdown(timeout)


def _takes_timeout(server: Server) -> bool:
    try:
        return "timeout" in inspect.signature(server.shutdown).parameters
    except (TypeError, ValueError):
        return False


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class _Stopper:
    """What the signals trigger: the first starts :func:`stop_server` on a worker thread, the
    second forces ``server.shutdown(0)`` (on a thread too: the caller must never block)."""

    def __init__(self, server: Server, sessions: Optional[SessionsLike], timeout: Optional[float]) -> None:
        self.server = server
        self.sessions = sessions
        if timeout is None:
            timeout = float(getattr(server.config, "shutdown_timeout", DEFAULT_SHUTDOWN_TIMEOUT))
        self.timeout = timeout
        self._lock = threading.Lock()
        self._count = 0
        self._threads: list[threading.Thread] = []

    def fire(self, signum: int) -> None:
        """A signal arrived; call from an ordinary context (a thread, a loop callback)."""
        with self._lock:
            self._count += 1
            count = self._count
        name = _signal_name(signum)
        if count == 1:
            logger.info("%s received: stopping (in-flight requests get up to %g s; again to force)",
                        name, self.timeout)
            self._start(self._graceful, "naja-atra-stop")
        elif count == 2:
            logger.warning("%s received again: stopping now", name)
            self._start(self._force, "naja-atra-force-stop")
        else:
            logger.info("%s received: already stopping", name)

    def _start(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _graceful(self) -> None:
        try:
            stop_server(self.server, self.sessions, self.timeout)
        except Exception:
            logger.exception("the graceful stop failed; stopping now")
            self._force()

    def _force(self) -> None:
        try:
            if _takes_timeout(self.server):
                self.server.shutdown(0)
            else:
                self.server.shutdown()
        except Exception:
            logger.exception("the forced stop failed")

    def join(self, timeout: float) -> None:
        """Wait (at most ``timeout`` in all) for the stops the signals started."""
        end = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, end - time.monotonic()))


# -- plain handlers (start) ------------------------------------------------------------------


class _PlainWiring:
    """``signal.signal`` handlers that write the signal number to a socket; a watcher thread
    reads it and tells the stopper."""

    def __init__(self, stopper: _Stopper, signals: Sequence[int]) -> None:
        self._stopper = stopper
        self._signals = signals
        self._previous: dict[int, _Handler] = {}
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_w.setblocking(False)
        self._watcher = threading.Thread(target=self._watch, name="naja-atra-signals", daemon=True)

    def install(self) -> None:
        """Start the watcher and install the handlers (main thread only)."""
        self._watcher.start()
        for sig in self._signals:
            self._previous[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: Optional[FrameType]) -> None:
        try:
            self._wake_w.send(bytes((signum & 0xFF,)))
        except OSError:  # closed (we are leaving), or the buffer is full of signals already
            pass

    def _watch(self) -> None:
        while True:
            try:
                data = self._wake_r.recv(64)
            except OSError:
                return
            if not data:
                return  # uninstall() closed the other end
            for signum in data:
                self._stopper.fire(signum)

    def uninstall(self) -> None:
        """Restore the previous handlers and end the watcher."""
        for sig, before in self._previous.items():
            signal.signal(sig, before if before is not None else signal.SIG_DFL)
        self._previous.clear()
        self._wake_w.close()
        if self._watcher.is_alive():
            self._watcher.join(1.0)
        self._wake_r.close()


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def stop_on_signals(server: Server, sessions: Optional[SessionsLike] = None, *,
                    timeout: Optional[float] = None,
                    signals: Sequence[int] = DEFAULT_SIGNALS) -> Iterator[bool]:
    """Within the block, ``signals`` stop ``server`` gracefully (see the module docstring).

    Yields True when the handlers were installed: only on the main thread (elsewhere the
    block runs without them). ``timeout`` defaults to ``server.config.shutdown_timeout``.
    On leaving, the previous handlers are restored and a stop a signal started is waited
    for (briefly: the server has drained by then), so that what follows -- the lifespan
    exit -- comes after the WebSocket sessions' ``on_close``.
    """
    if not _in_main_thread():
        yield False
        return
    stopper = _Stopper(server, sessions, timeout)
    wiring = _PlainWiring(stopper, signals)
    try:
        wiring.install()
        yield True
    finally:
        wiring.uninstall()
        stopper.join(_JOIN_WAIT)


# -- loop handlers (start_async) -------------------------------------------------------------


class _LoopWiring:
    """``loop.add_signal_handler`` callbacks; the handlers found before are put back after."""

    def __init__(self, loop: asyncio.AbstractEventLoop, stopper: _Stopper, signals: Sequence[int]) -> None:
        self._loop = loop
        self._stopper = stopper
        self._signals = signals
        # signal -> (the plain handler before, the loop's own callback and arguments before)
        self._previous: dict[int, tuple[_Handler, Optional[tuple[Callable[..., Any], tuple[Any, ...]]]]] = {}

    def install(self) -> bool:
        """Install the callbacks; False (nothing installed) where the loop cannot
        (``NotImplementedError`` on Windows' loops)."""
        for sig in self._signals:
            before = signal.getsignal(sig)
            loop_before = self._loop_handler(sig)
            try:
                self._loop.add_signal_handler(sig, self._stopper.fire, int(sig))
            except NotImplementedError:
                self.uninstall()
                return False
            self._previous[sig] = (before, loop_before)
        return True

    def _loop_handler(self, sig: int) -> Optional[tuple[Callable[..., Any], tuple[Any, ...]]]:
        """The callback the loop already has for ``sig`` (asyncio keeps them privately)."""
        handlers = getattr(self._loop, "_signal_handlers", None)
        handle = handlers.get(sig) if isinstance(handlers, dict) else None
        callback = getattr(handle, "_callback", None)
        args = getattr(handle, "_args", None)
        if callable(callback) and isinstance(args, tuple):
            return callback, args
        return None

    def uninstall(self) -> None:
        """Remove the callbacks and put the previous handlers back."""
        for sig, (before, loop_before) in self._previous.items():
            with contextlib.suppress(Exception):
                self._loop.remove_signal_handler(sig)
            if loop_before is not None:
                callback, args = loop_before
                self._loop.add_signal_handler(sig, callback, *args)
            else:
                signal.signal(sig, before if before is not None else signal.SIG_DFL)
        self._previous.clear()


@contextlib.asynccontextmanager
async def stop_on_signals_async(server: Server, sessions: Optional[SessionsLike] = None, *,
                                timeout: Optional[float] = None,
                                signals: Sequence[int] = DEFAULT_SIGNALS) -> AsyncIterator[bool]:
    """:func:`stop_on_signals` for a server served in the running loop (``start_async``).

    Uses ``loop.add_signal_handler`` when the loop runs on the main thread; where the loop
    cannot (Windows), plain handlers as :func:`stop_on_signals` does. Yields False (and
    installs nothing) off the main thread.
    """
    if not _in_main_thread():
        yield False
        return
    loop = asyncio.get_running_loop()
    stopper = _Stopper(server, sessions, timeout)
    wiring: Union[_LoopWiring, _PlainWiring] = _LoopWiring(loop, stopper, signals)
    try:
        if not wiring.install():
            wiring = _PlainWiring(stopper, signals)
            wiring.install()
        yield True
    finally:
        wiring.uninstall()
        await loop.run_in_executor(None, stopper.join, _JOIN_WAIT)
