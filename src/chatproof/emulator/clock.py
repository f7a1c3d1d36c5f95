"""The emulator's own notion of "now", which tests and demos can move forward.

The 24-hour customer service window, media URL expiry, rate windows and every timestamp in
a webhook are read from this clock, so a test can jump a day ahead without waiting. Timers
that pace background work (status delays, webhook backoff) use real time instead: moving the
clock must not make the emulator flood the receiver.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["EmulatorClock"]


class EmulatorClock:
    """Unix time in seconds from ``source`` plus an offset that only ever grows.

    Pass ``source=lambda: 1_750_000_000.0`` for a frozen clock in tests.
    """

    def __init__(self, source: Callable[[], float] = time.time) -> None:
        self._source = source
        self._offset = 0.0

    def now(self) -> float:
        return self._source() + self._offset

    @property
    def offset(self) -> float:
        return self._offset

    def advance(self, seconds: float) -> float:
        """Move the clock forward and return the new time.

        Raises:
            ValueError: if ``seconds`` is negative; the platform's clock never goes back.
        """
        if seconds < 0:
            raise ValueError("the emulator clock only moves forward")
        self._offset += seconds
        return self.now()
