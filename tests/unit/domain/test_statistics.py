"""Statistics arithmetic: percentiles, calendar buckets in the business's time zone, and
first-response times."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chatproof.domain.statistics import (
    Period,
    StatisticsInputError,
    bucket_start,
    buckets_between,
    check_range,
    first_responses,
    percentile,
)

BERLIN = ZoneInfo("Europe/Berlin")


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 11)]
    assert percentile(values, 50) == 5 and percentile(values, 90) == 9
    assert percentile([7.0], 90) == 7 and percentile([], 50) is None


def test_days_are_counted_in_the_business_time_zone() -> None:
    late = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    assert bucket_start(late, Period.DAY, BERLIN) == date(2026, 11, 23)
    assert bucket_start(late, Period.WEEK, BERLIN) == date(2026, 11, 23)
    assert bucket_start(late, Period.WEEK, ZoneInfo("UTC")) == date(2026, 11, 16)


def test_buckets_cover_the_range() -> None:
    days = buckets_between(date(2026, 11, 1), date(2026, 11, 14), Period.DAY)
    assert len(days) == 14 and days[0].start == date(2026, 11, 1)
    weeks = buckets_between(date(2026, 11, 1), date(2026, 11, 14), Period.WEEK)
    assert [w.start for w in weeks] == [date(2026, 10, 26), date(2026, 11, 2), date(2026, 11, 9)]


def test_first_response_waits_from_the_first_unanswered_message() -> None:
    t0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    events = [
        (1, "inbound", t0),
        (1, "inbound", t0 + timedelta(minutes=1)),
        (2, "inbound", t0 + timedelta(minutes=2)),
        (1, "outbound", t0 + timedelta(minutes=5)),
        (1, "outbound", t0 + timedelta(minutes=6)),
        (1, "inbound", t0 + timedelta(minutes=10)),
        (1, "outbound", t0 + timedelta(minutes=11)),
    ]
    assert first_responses(events) == [(t0, 300.0), (t0 + timedelta(minutes=10), 60.0)]


def test_ranges_are_checked() -> None:
    with pytest.raises(StatisticsInputError, match=r"^to: must not be before from"):
        check_range(date(2026, 11, 2), date(2026, 11, 1))
    with pytest.raises(StatisticsInputError, match="at most"):
        check_range(date(2020, 1, 1), date(2026, 1, 1))
