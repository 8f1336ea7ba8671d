"""The minimum receive-rate rule (sans-I/O): a client sending a request must keep sending.

A silence timeout alone lets a client hold a connection (and, on the threading server, a
worker) for ever by sending one byte just before each timeout. The rule here counts the
bytes received and the time spent *waiting* for them (time the server was not waiting for
the client does not count: a controller that reads its body slowly throttles the client,
not the other way round); once a whole window of waiting has passed, the bytes received
in it must reach ``rate * window``, else the request is refused (408) and the connection
closed. ``Limits.min_receive_rate`` (bytes/s, 0 turns it off) and
``Limits.receive_rate_window`` (s) set it.
"""
from __future__ import annotations

from ..http.limits import Limits

__all__ = ["ReceiveRate"]


class ReceiveRate:
    """One connection's account of the rule for the request it is receiving."""

    __slots__ = ("rate", "window", "_waited", "_received")

    def __init__(self, limits: Limits) -> None:
        self.rate = limits.min_receive_rate
        self.window = limits.receive_rate_window
        self._waited = 0.0
        self._received = 0

    @property
    def enabled(self) -> bool:
        """False when ``min_receive_rate`` is 0 (or the window is not positive)."""
        return self.rate > 0 and self.window > 0

    def reset(self) -> None:
        """A new request (head or body) starts: nothing counted yet."""
        self._waited = 0.0
        self._received = 0

    def remaining(self) -> float:
        """Seconds of waiting left before the current window is judged (infinite when the
        rule is off)."""
        if not self.enabled:
            return float("inf")
        return max(0.0, self.window - self._waited)

    def record(self, received: int, waited: float) -> bool:
        """Count ``received`` bytes that took ``waited`` seconds to come; False when a
        window has passed with too few bytes in it (the client is too slow)."""
        if not self.enabled:
            return True
        self._waited += waited
        self._received += received
        if self._waited < self.window:
            return True
        if self._received < self.rate * self._waited:
            return False
        self.reset()
        return True
