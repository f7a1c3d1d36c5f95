"""Business hours: weekly schedule, German holidays per state, closing days, away interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chatproof.domain.business_hours import (
    BusinessHours,
    ScheduleError,
    away_message_due,
    parse_spans,
)

BERLIN = ZoneInfo("Europe/Berlin")
WEEK = {d: "09:00-12:30, 13:30-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}
WEEK["sat"] = "10:00-13:00"


def hours(state: str = "BY", closed: tuple[str, ...] = ()) -> BusinessHours:
    return BusinessHours.from_settings(WEEK, "Europe/Berlin", state, closed)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("moment", "why"),
    [
        (local(2026, 6, 10, 9, 0), None),  # Wednesday opening
        (local(2026, 6, 10, 8, 59), "outside hours"),
        (local(2026, 6, 10, 12, 45), "outside hours"),  # lunch
        (local(2026, 6, 10, 16, 59), None),
        (local(2026, 6, 10, 17, 0), "outside hours"),
        (local(2026, 6, 13, 11, 0), None),  # Saturday
        (local(2026, 6, 14, 11, 0), "outside hours"),  # Sunday not listed
        (local(2026, 12, 25, 10, 0), "holiday: Erster Weihnachtstag"),
        (local(2026, 6, 4, 10, 0), "holiday: Fronleichnam"),  # Bavaria only
        (local(2026, 11, 18, 10, 0), None),  # Buß- und Bettag: Saxony only
    ],
)
def test_open_and_closed(moment: datetime, why: str | None) -> None:
    assert hours().closed_because(moment) == why
    assert hours().is_open(moment) is (why is None)


def test_holidays_depend_on_the_state() -> None:
    corpus_christi = local(2026, 6, 4, 10, 0)
    assert hours("BE").is_open(corpus_christi)
    assert hours("SN").closed_because(local(2026, 11, 18, 10, 0)) == "holiday: Buß- und Bettag"
    assert hours("").closed_because(local(2026, 10, 3, 10, 0)).startswith("holiday")


def test_extra_closing_days() -> None:
    assert hours(closed=("2026-06-10",)).closed_because(local(2026, 6, 10, 10)) == "closing day"


def test_utc_times_are_read_in_the_business_time_zone() -> None:
    # 07:30 UTC is 09:30 in Berlin in summer.
    assert hours().is_open(datetime(2026, 6, 10, 7, 30, tzinfo=UTC))
    assert not hours().is_open(datetime(2026, 6, 10, 6, 30, tzinfo=UTC))


@pytest.mark.parametrize(
    ("week", "state", "closed", "field"),
    [
        ({"monday": "09:00-17:00"}, "", (), "hours.monday"),
        ({"mon": "9-17"}, "", (), "hours.mon"),
        ({"mon": "17:00-09:00"}, "", (), "hours.mon"),
        ({"mon": "25:00-26:00"}, "", (), "hours.mon"),
        ({}, "XX", (), "state"),
        ({}, "", ("10.06.2026",), "closed_days"),
    ],
)
def test_bad_settings_name_the_field(
    week: dict[str, str], state: str, closed: tuple[str, ...], field: str
) -> None:
    with pytest.raises(ScheduleError) as raised:
        BusinessHours.from_settings(week, "Europe/Berlin", state, closed)
    assert raised.value.field == field


def test_a_day_can_run_to_midnight() -> None:
    (span,) = parse_spans("hours.fri", "18:00-24:00")
    assert span.contains(datetime(2026, 1, 1, 23, 59).time())


def test_away_message_at_most_once_per_interval() -> None:
    now = datetime(2026, 6, 10, 20, 0, tzinfo=UTC)
    interval = timedelta(hours=12)
    assert away_message_due(None, now, interval)
    assert not away_message_due(now - timedelta(hours=11), now, interval)
    assert away_message_due(now - timedelta(hours=12), now, interval)
