"""When the business is open: a weekly schedule, German public holidays of the configured
state, and extra closing days; and when an away message is due again.

Times are local to the business's time zone; holidays come from the ``holidays`` package,
which computes them (no I/O).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from chatproof.domain.errors import DomainError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
GERMAN_STATES = (
    "BB", "BE", "BW", "BY", "HB", "HE", "HH", "MV", "NI", "NW", "RP", "SH", "SL", "SN", "ST", "TH",
)  # fmt: skip
_SPAN = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class ScheduleError(DomainError):
    """A schedule setting cannot be understood; ``field`` names it."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        super().__init__(f"{field}: {reason}")


@dataclass(frozen=True, slots=True)
class Span:
    start: time
    end: time

    def contains(self, moment: time) -> bool:
        return self.start <= moment < self.end


def parse_spans(field_name: str, text: str) -> tuple[Span, ...]:
    """``"09:00-12:30, 13:30-17:00"`` → two spans; ``""`` → closed all day.

    Raises:
        ScheduleError: naming ``field_name``.
    """
    spans = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        found = _SPAN.match(part.replace(" ", ""))
        if not found:
            raise ScheduleError(field_name, f"{part!r} is not HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(g) for g in found.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise ScheduleError(field_name, f"{part!r} is not a time of day")
        end = time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2)
        if end <= time(h1, m1):
            raise ScheduleError(field_name, f"{part!r} ends before it starts")
        spans.append(Span(time(h1, m1), end))
    return tuple(spans)


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """``week`` maps weekday names (``mon`` … ``sun``) to opening spans; a day not named is
    closed. ``state`` is a German state code (``BY``) or empty for nationwide holidays only."""

    week: Mapping[str, tuple[Span, ...]]
    timezone: ZoneInfo
    state: str = ""
    closed_days: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def from_settings(
        cls,
        week: Mapping[str, str],
        timezone: str,
        state: str = "",
        closed_days: Iterable[str] = (),
    ) -> BusinessHours:
        """Raises: ScheduleError naming the setting that is wrong."""
        for day in week:
            if day not in WEEKDAYS:
                raise ScheduleError(f"hours.{day}", f"is not one of {', '.join(WEEKDAYS)}")
        if state and state.upper() not in GERMAN_STATES:
            raise ScheduleError("state", f"{state!r} is not a German state code")
        extra = set()
        for text in closed_days:
            try:
                extra.add(date.fromisoformat(text))
            except ValueError:
                raise ScheduleError("closed_days", f"{text!r} is not YYYY-MM-DD") from None
        try:
            zone = ZoneInfo(timezone)
        except (KeyError, ValueError):
            raise ScheduleError("timezone", f"unknown time zone {timezone!r}") from None
        spans = {day: parse_spans(f"hours.{day}", text) for day, text in week.items()}
        return cls(spans, zone, state.upper(), frozenset(extra))

    def closed_because(self, now: datetime) -> str | None:
        """Why the business is closed at ``now`` (``holiday: …``, ``closing day``,
        ``outside hours``), or None while it is open."""
        local = now.astimezone(self.timezone)
        day = local.date()
        holiday = _holidays(self.state, day.year).get(day)
        if holiday:
            return f"holiday: {holiday}"
        if day in self.closed_days:
            return "closing day"
        spans = self.week.get(WEEKDAYS[local.weekday()], ())
        if any(span.contains(local.time()) for span in spans):
            return None
        return "outside hours"

    def is_open(self, now: datetime) -> bool:
        return self.closed_because(now) is None


@lru_cache(maxsize=64)
def _holidays(state: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("DE", subdiv=state or None, years=year, language="de")


def away_message_due(last_sent: datetime | None, now: datetime, interval: timedelta) -> bool:
    """At most one away message per customer per ``interval``."""
    return last_sent is None or now - last_sent >= interval
