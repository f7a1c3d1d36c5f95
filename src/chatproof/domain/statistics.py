"""Team statistics as pure arithmetic: bucketing events into days or weeks of the business's
calendar, response and resolution times as median and 90th percentile."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from chatproof.domain.errors import DomainError

MAX_DAYS = 366


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"


class StatisticsInputError(DomainError):
    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"{field}: {problem}")


COUNTERS = (
    "received",
    "sent",
    "delivered",
    "read",
    "failed",
    "opened",
    "closed",
    "opt_ins",
    "opt_outs",
    "refused",
)


@dataclass
class Bucket:
    start: date
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    first_response: list[float] = field(default_factory=list)
    resolution: list[float] = field(default_factory=list)

    @property
    def first_response_median(self) -> float | None:
        return percentile(self.first_response, 50)

    @property
    def first_response_p90(self) -> float | None:
        return percentile(self.first_response, 90)

    @property
    def resolution_median(self) -> float | None:
        return percentile(self.resolution, 50)

    @property
    def resolution_p90(self) -> float | None:
        return percentile(self.resolution, 90)


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def bucket_start(moment: datetime, period: Period, tz: ZoneInfo) -> date:
    day = moment.astimezone(tz).date()
    return day - timedelta(days=day.weekday()) if period is Period.WEEK else day


def buckets_between(first: date, last: date, period: Period) -> list[Bucket]:
    step = timedelta(days=7 if period is Period.WEEK else 1)
    start = first - timedelta(days=first.weekday()) if period is Period.WEEK else first
    found = []
    while start <= last:
        found.append(Bucket(start))
        start += step
    return found


def check_range(first: date, last: date) -> None:
    if last < first:
        raise StatisticsInputError("to", "must not be before from")
    if (last - first).days >= MAX_DAYS:
        raise StatisticsInputError("to", f"the range may span at most {MAX_DAYS} days")


def first_responses(events: Iterable[tuple[int, str, datetime]]) -> list[tuple[datetime, float]]:
    """For each customer message that waited for an answer: when it came, and the seconds
    until the business's next message in that conversation. ``events`` are
    (conversation, direction, time) in time order."""
    waiting: dict[int, datetime] = {}
    found = []
    for conversation, direction, at in events:
        if direction == "inbound":
            waiting.setdefault(conversation, at)
        elif conversation in waiting:
            asked = waiting.pop(conversation)
            found.append((asked, (at - asked).total_seconds()))
    return found
