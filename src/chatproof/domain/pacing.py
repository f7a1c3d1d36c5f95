"""Pacing of sends: a token bucket for the number's throughput (messages per second) and a
minimum interval per customer. Both are told the time; neither sleeps, so the worker decides
how to wait and tests run without a clock."""

from __future__ import annotations

from collections import OrderedDict, deque

DEFAULT_MESSAGES_PER_SECOND = 80.0
PLATFORM_WINDOW = 1.0
DEFAULT_WINDOW_GUARD = 0.02
"""Seconds added to the platform's one-second window against arrival jitter."""
_EPSILON = 1e-9


class TokenBucket:
    """``rate`` tokens per second, at most ``capacity`` saved up."""

    def __init__(self, rate: float, capacity: float = 1.0, *, now: float = 0.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.rate = rate
        self.capacity = capacity
        self._tokens = capacity
        self._at = now

    def _refill(self, now: float) -> None:
        if now > self._at:
            self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
            self._at = now

    def wait_time(self, now: float) -> float:
        """Seconds until a token is available (0 when one is)."""
        self._refill(now)
        return 0.0 if self._tokens >= 1 - _EPSILON else (1 - self._tokens) / self.rate

    def try_take(self, now: float) -> bool:
        self._refill(now)
        if self._tokens >= 1 - _EPSILON:
            self._tokens -= 1
            return True
        return False

    def drain(self, now: float) -> None:
        """The platform said we went too fast: start saving up from zero."""
        self._refill(now)
        self._tokens = min(self._tokens, 0.0)


class CustomerPacer:
    """At least ``interval`` seconds between two sends to the same customer (the platform's
    pair rate limit, 131056). Remembers the most recent ``memory`` customers."""

    def __init__(self, interval: float, memory: int = 100_000) -> None:
        self.interval = interval
        self.memory = memory
        self._last: OrderedDict[str, float] = OrderedDict()

    def wait_time(self, key: str, now: float) -> float:
        last = self._last.get(key)
        return 0.0 if last is None else max(0.0, last + self.interval - now)

    def record(self, key: str, now: float) -> None:
        self._last[key] = now
        self._last.move_to_end(key)
        while len(self._last) > self.memory:
            self._last.popitem(last=False)


class SlidingWindow:
    """At most ``limit`` events in any ``window`` seconds. The platform counts messages per
    second of its own clock; keeping every trailing window (a little longer than a second,
    for the jitter between our clock and its arrival times) under the limit means no second
    of its clock ever sees more."""

    def __init__(self, limit: int, window: float) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be at least 1 and window positive")
        self.limit = limit
        self.window = window
        self._times: deque[float] = deque()

    def wait_time(self, now: float) -> float:
        times = self._times
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) < self.limit:
            return 0.0
        return times[0] + self.window - now

    def record(self, now: float) -> None:
        self._times.append(now)
