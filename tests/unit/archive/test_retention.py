"""Retention classes, start years in the business's time zone, and when a duty ends
(invariant 4; compliance reference §1.5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatproof.archive.errors import RetentionConfigError
from chatproof.archive.retention import (
    BOOKING_VOUCHER,
    BOOKS_AND_RECORDS,
    BUSINESS_LETTER,
    DEFAULT_RETENTION_CLASSES,
    NO_DUTY,
    Bucket,
    CountedFrom,
    RetentionClass,
    classes_from_config,
    duty_ends,
    expired_through,
    is_expired,
    retention_classes,
    start_year_for,
)

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("moment", "year"),
    [
        (datetime(2025, 12, 31, 22, 59, 59, tzinfo=UTC), 2025),
        (datetime(2025, 12, 31, 23, 0, tzinfo=UTC), 2026),
        (datetime(2025, 12, 31, 23, 30, tzinfo=UTC), 2026),
        (datetime(2026, 1, 1, 0, 30, tzinfo=BERLIN), 2026),
        (datetime(2025, 6, 30, 21, 59, tzinfo=UTC), 2025),
    ],
)
def test_start_year_is_counted_in_the_business_time_zone(moment: datetime, year: int) -> None:
    assert start_year_for(moment, BERLIN) == year


def test_naive_moments_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        start_year_for(datetime(2025, 1, 1), BERLIN)


@pytest.mark.parametrize(
    ("retention_class", "ends"),
    [(BUSINESS_LETTER, 2032), (BOOKING_VOUCHER, 2034), (BOOKS_AND_RECORDS, 2036)],
)
def test_duty_runs_to_the_end_of_the_last_calendar_year(
    retention_class: RetentionClass, ends: int
) -> None:
    # compliance §1.5: a letter received on 15.03.2025 may be deleted from 01.01.2032.
    assert duty_ends(retention_class, 2025, BERLIN) == datetime(ends, 1, 1, tzinfo=BERLIN)
    last_second = datetime(ends - 1, 12, 31, 22, 59, 59, tzinfo=UTC)
    assert not is_expired(retention_class, 2025, BERLIN, last_second)
    assert is_expired(retention_class, 2025, BERLIN, last_second + timedelta(seconds=1))


def test_no_duty_counts_months_from_the_conversation_end() -> None:
    ended = datetime(2025, 8, 31, 8, 0, tzinfo=UTC)
    ends = duty_ends(NO_DUTY, 2025, BERLIN, conversation_end=ended)
    assert ends == datetime(2026, 2, 28, 10, 0, tzinfo=BERLIN)
    assert ends.tzinfo is BERLIN
    assert is_expired(NO_DUTY, 2025, BERLIN, ends, conversation_end=ended)
    assert not is_expired(
        NO_DUTY, 2025, BERLIN, ends - timedelta(microseconds=1), conversation_end=ended
    )
    with pytest.raises(ValueError, match="conversation's end"):
        duty_ends(NO_DUTY, 2025, BERLIN)


def test_a_period_ending_in_a_skipped_hour_lands_on_a_real_time() -> None:
    ended = datetime(2025, 9, 29, 2, 30, tzinfo=BERLIN)
    ends = duty_ends(NO_DUTY, 2025, BERLIN, conversation_end=ended)
    assert ends == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert (ends.hour, ends.utcoffset()) == (3, timedelta(hours=2))


def test_expired_through_names_the_last_start_year_due() -> None:
    assert (
        expired_through(BUSINESS_LETTER, datetime(2032, 1, 1, 0, 0, tzinfo=BERLIN), BERLIN) == 2025
    )
    assert (
        expired_through(BUSINESS_LETTER, datetime(2031, 12, 31, 23, 59, tzinfo=BERLIN), BERLIN)
        == 2024
    )
    with pytest.raises(ValueError, match="not counted"):
        expired_through(NO_DUTY, datetime(2030, 1, 1, tzinfo=UTC), BERLIN)


@given(
    st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    )
)
def test_duty_always_outlasts_its_start_year(moment: datetime) -> None:
    year = start_year_for(moment, BERLIN)
    assert moment.astimezone(BERLIN).year == year
    for retention_class in (BUSINESS_LETTER, BOOKING_VOUCHER, BOOKS_AND_RECORDS):
        assert not is_expired(retention_class, year, BERLIN, moment)
        ends = duty_ends(retention_class, year, BERLIN)
        assert (ends.month, ends.day, ends.hour) == (1, 1, 0)


def test_bucket_id_is_stable_and_unambiguous() -> None:
    bucket = Bucket("subj-a", "business_letter", 2025)
    assert bucket.bucket_id == Bucket("subj-a", "business_letter", 2025).bucket_id
    # Stored in key store rows: changing the derivation orphans every bucket, so it is pinned.
    assert bucket.bucket_id == "778827d6947d1f45178be409cf28ff67"
    others = {
        Bucket("subj-b", "business_letter", 2025).bucket_id,
        Bucket("subj-a", "booking_voucher", 2025).bucket_id,
        Bucket("subj-a", "business_letter", 2026).bucket_id,
        Bucket("subj-ab", "usiness_letter", 2025).bucket_id,
    }
    assert bucket.bucket_id not in others
    assert len(others) == 4
    with pytest.raises(ValueError, match="start year"):
        Bucket("subj-a", "no_duty", 0)


def test_defaults_cite_their_law() -> None:
    assert set(DEFAULT_RETENTION_CLASSES) == {
        "business_letter",
        "booking_voucher",
        "books_and_records",
        "no_duty",
    }
    assert "BEG IV" in BOOKING_VOUCHER.legal_basis
    assert "§ 147 (1) Nr. 4" in BOOKING_VOUCHER.legal_basis
    assert "Art. 5 (1)(e)" in NO_DUTY.legal_basis
    assert (NO_DUTY.months, NO_DUTY.counted_from) == (6, CountedFrom.CONVERSATION_END)


def test_config_overrides_and_adds_classes() -> None:
    classes = classes_from_config(
        {
            "no_duty": {"months": 3},
            "business_letter": {"legal_basis": "§ 257 HGB"},
            "bafin_voucher": {
                "years": 10,
                "counted_from": "end_of_calendar_year",
                "legal_basis": "BaFin-supervised: 10 years for one more year",
            },
        }
    )
    assert classes["no_duty"].months == 3
    assert classes["no_duty"].counted_from is CountedFrom.CONVERSATION_END
    assert (classes["business_letter"].years, classes["business_letter"].legal_basis) == (
        6,
        "§ 257 HGB",
    )
    assert classes["bafin_voucher"].years == 10
    assert classes["booking_voucher"] is BOOKING_VOUCHER


@pytest.mark.parametrize(
    ("config", "field", "reason"),
    [
        ({"no_duty": {"months": -1}}, "retention.classes.no_duty.months", "whole number"),
        ({"no_duty": {"months": True}}, "retention.classes.no_duty.months", "whole number"),
        ({"no_duty": {"months": 0}}, "retention.classes.no_duty.years", "longer than zero"),
        ({"no_duty": {"mnths": 3}}, "retention.classes.no_duty.mnths", "unknown field"),
        ({"no_duty": 3}, "retention.classes.no_duty", "must be a table"),
        ({"No Duty": {}}, "retention.classes.No Duty", "lowercase"),
        (
            {"no_duty": {"counted_from": "start_of_year"}},
            "retention.classes.no_duty.counted_from",
            "one of end_of_calendar_year, conversation_end",
        ),
        ({"no_duty": {"legal_basis": " "}}, "retention.classes.no_duty.legal_basis", "legal"),
        ({"no_duty": {"legal_basis": 5}}, "retention.classes.no_duty.legal_basis", "text"),
        (
            {"warranty": {"years": 2, "legal_basis": "§ 438 BGB"}},
            "retention.classes.warranty.counted_from",
            "required",
        ),
        (
            {"warranty": {"counted_from": "conversation_end", "legal_basis": "§ 438 BGB"}},
            "retention.classes.warranty.years",
            "years or months",
        ),
    ],
)
def test_config_errors_name_the_field(config: dict[str, object], field: str, reason: str) -> None:
    with pytest.raises(RetentionConfigError, match=reason) as caught:
        classes_from_config(config)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_configured_classes_are_read_under_archive_retention() -> None:
    classes = retention_classes({"no_duty": {"months": 3}}, "business_letter")
    assert (classes["no_duty"].months, classes["no_duty"].years) == (3, 0)
    assert classes["booking_voucher"].years == 8
    with pytest.raises(RetentionConfigError, match=r"archive\.retention\.no_duty\.months"):
        retention_classes({"no_duty": {"months": "six"}}, "business_letter")


def test_the_default_class_must_be_a_retention_class() -> None:
    with pytest.raises(RetentionConfigError, match=r"archive\.default_retention_class: 'invoice'"):
        retention_classes({}, "invoice")
    assert "invoice" in retention_classes(
        {
            "invoice": {
                "years": 8,
                "counted_from": "end_of_calendar_year",
                "legal_basis": "§ 14b UStG",
            }
        },
        "invoice",
    )


def test_retention_settings_that_are_not_a_table_are_named() -> None:
    with pytest.raises(RetentionConfigError, match=r"archive\.retention: must be a table"):
        retention_classes("no_duty=3", "business_letter")
