"""Checking operational settings before anything is written: the same rules as
chatproof.toml's (business_hours' parsers), each refusal naming its field."""

from __future__ import annotations

import pytest

from chatproof.domain import operational_settings as operational
from chatproof.domain.operational_settings import SettingError


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [
        ("hours_mon", " 09:00-12:30 ,13:30-18:00 ", "09:00-12:30, 13:30-18:00"),
        ("hours_sun", "", ""),
        ("hours_fri", "00:00-24:00", "00:00-24:00"),
        ("holiday_state", "by", "BY"),
        ("holiday_state", "", ""),
        ("closed_days", ["2026-12-31", "2026-12-24", "2026-12-24"], ["2026-12-24", "2026-12-31"]),
        ("greeting_de", "  Moin!\r\nWir sind da.  ", "Moin!\nWir sind da."),
        ("away_en", "", ""),
        ("away_interval_hours", 6, 6.0),
        ("privacy_notice_en", None, None),
    ],
)
def test_good_values_are_stored_in_one_form(key: str, value: object, stored: object) -> None:
    assert operational.validate(key, value) == stored


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("hours_mon", "9 bis 17", "is not HH:MM-HH:MM"),
        ("hours_tue", "18:00-09:00", "ends before it starts"),
        ("hours_wed", "25:00-26:00", "is not a time of day"),
        ("hours_thu", 9, "must be text"),
        ("holiday_state", "XY", "is not a German state code"),
        ("closed_days", ["24.12.2026"], "is not YYYY-MM-DD"),
        ("closed_days", "2026-12-24", "must be a list of dates"),
        ("greeting_en", "x" * 4097, "at most 4096"),
        ("away_interval_hours", 0, "more than 0"),
        ("away_interval_hours", True, "number of hours"),
        ("colour", "blue", "is not a setting"),
    ],
)
def test_bad_values_are_refused_naming_the_field(key: str, value: object, problem: str) -> None:
    with pytest.raises(SettingError) as raised:
        operational.validate(key, value)
    field = "key" if key == "colour" else key
    assert raised.value.field == field
    assert str(raised.value).startswith(f"{field}: ") and problem in str(raised.value)


def test_typed_values_are_parsed_by_kind() -> None:
    assert operational.parse("closed_days", "2026-12-24, 2026-12-31;2027-01-01") == [
        "2026-12-24",
        "2026-12-31",
        "2027-01-01",
    ]
    assert operational.parse("closed_days", "") == []
    assert operational.parse("away_interval_hours", "1,5") == 1.5
    with pytest.raises(SettingError, match="away_interval_hours: 'bald' is not a number"):
        operational.parse("away_interval_hours", "bald")
    assert operational.parse("greeting_en", "Hi") == "Hi"


def test_every_key_is_an_automations_setting() -> None:
    from chatproof.config import AutomationSettingsSection

    fields = set(AutomationSettingsSection.__dataclass_fields__)
    assert set(operational.KEYS) <= fields
