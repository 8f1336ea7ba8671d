"""The threading driver's shared reactor thread: timers and write readiness, on a private
:class:`Reactor` (not the process's one) over real socket pairs."""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from naja_atra.websocket.reactor import Reactor

from ..support import wait_until

WAIT = 5.0


def _reactor_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "naja-atra-ws-reactor"]


@pytest.fixture
def reactor() -> Iterator[Reactor]:
    """A reactor whose thread ends soon after it has nothing to do."""
    r = Reactor()
    r.IDLE_EXIT = 0.2
    before = set(_reactor_threads())
    yield r
    # Nothing left scheduled or watched: its thread ends by itself.
    assert wait_until(lambda: set(_reactor_threads()) <= before, WAIT)


def test_timers_run_in_order_and_cancelled_ones_do_not(reactor: Reactor) -> None:
    ran: list[str] = []
    done = threading.Event()
    reactor.call_later(0.05, lambda: ran.append("second"))
    cancelled = reactor.call_later(0.02, lambda: ran.append("cancelled"))
    reactor.call_later(0.01, lambda: ran.append("first"))
    reactor.call_later(0.08, done.set)
    cancelled.cancel()
    assert done.wait(WAIT)
    assert ran == ["first", "second"]


def test_an_earlier_timer_wakes_a_waiting_reactor(reactor: Reactor) -> None:
    early = threading.Event()
    reactor.call_later(3.0, lambda: None).cancel()  # the thread now waits ~3 s
    reactor.call_later(0.01, early.set)
    assert early.wait(1.0)


def test_a_failing_callback_does_not_stop_the_reactor(reactor: Reactor) -> None:
    after = threading.Event()

    def boom() -> None:
        raise RuntimeError("timer failure (expected by the test)")

    reactor.call_later(0.0, boom)
    reactor.call_later(0.01, after.set)
    assert after.wait(WAIT)


def test_write_readiness_until_the_callback_says_done(reactor: Reactor) -> None:
    left, right = socket.socketpair()
    try:
        left.setblocking(False)
        # Fill left's buffer: it is not writable until right reads.
        try:
            while True:
                left.send(b"x" * 65536)
        except BlockingIOError:
            pass
        calls: list[int] = []
        done = threading.Event()

        def writable() -> bool:
            calls.append(1)
            if len(calls) < 3:
                return True  # keep watching
            done.set()
            return False

        reactor.watch_writable(left.fileno(), writable)
        assert not done.wait(0.1) and not calls  # still full: not called
        right.setblocking(False)
        try:
            while right.recv(1 << 20):
                pass
        except BlockingIOError:
            pass
        assert done.wait(WAIT)
        assert not wait_until(lambda: len(calls) > 3, 0.1)  # not watched after it said False
        # A new watch of the same socket is called again; unwatching what is not watched is a no-op.
        again = threading.Event()

        def once() -> bool:
            again.set()
            return False

        reactor.unwatch(left.fileno())
        reactor.watch_writable(left.fileno(), once)
        assert again.wait(WAIT)
        reactor.unwatch(left.fileno())
    finally:
        left.close()
        right.close()
