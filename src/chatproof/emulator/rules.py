"""The platform rules the emulator enforces, and where each one bites.

Throughput (130429) is refused synchronously. The others are decided when the message is
accepted but reported later as a ``failed`` status, as the platform does: unknown or
unreachable number (131026), per-customer burst (131056), marketing to an opted-out
customer (131050), free-form outside the 24-hour window (131047), media links that cannot
be fetched (131052), uploaded media that cannot go out as the message's type (131053).
chatproof's policy gate (DESIGN invariant 5) is tested against these.
"""

from __future__ import annotations

from chatproof.emulator.outbound import OutboundMessage
from chatproof.emulator.state import Customer
from chatproof.emulator.templates import TemplateCategory

__all__ = ["PAIR_WINDOW_SECONDS", "ThroughputLimiter", "asynchronous_failure", "pair_limit_hit"]

PAIR_WINDOW_SECONDS = 60.0


class ThroughputLimiter:
    """At most ``per_second`` sends in each second of the emulator clock."""

    def __init__(self, per_second: int) -> None:
        self.per_second = per_second
        self._second = -1
        self._count = 0

    def try_acquire(self, now: float) -> bool:
        second = int(now)
        if second != self._second:
            self._second, self._count = second, 0
        if self._count >= self.per_second:
            return False
        self._count += 1
        return True


def pair_limit_hit(customer: Customer, now: float, limit: int) -> bool:
    """Record one send to ``customer`` and say whether it exceeds ``limit`` per minute."""
    sends = customer.recent_sends
    while sends and now - sends[0] >= PAIR_WINDOW_SECONDS:
        sends.popleft()
    sends.append(now)
    return len(sends) > limit


def asynchronous_failure(
    message: OutboundMessage, customer: Customer | None, now: float, pair_limit: int
) -> int | None:
    """The error code the platform will report for an accepted message, if any."""
    if customer is None or not customer.reachable:
        return 131026
    if pair_limit_hit(customer, now, pair_limit):
        return 131056
    template = message.template
    if template is not None:
        if template.category is TemplateCategory.MARKETING and customer.marketing_stopped:
            return 131050
    elif not customer.window_open(now):
        return 131047
    if message.media_link is not None and not message.media_link.startswith(
        ("http://", "https://")
    ):
        return 131052
    if message.media_problem is not None:
        return 131053
    return None
