"""The operational settings an admin changes while chatproof runs (business hours per
weekday, the holiday state, closing days, greeting, away and privacy texts, the away interval),
named as in ``[automations]`` of chatproof.toml, and the rules a value must follow: the same
as the file's, so a value typed into a form is never accepted where the file would be refused.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from chatproof.domain.business_hours import GERMAN_STATES, WEEKDAYS, ScheduleError, parse_spans
from chatproof.domain.errors import DomainError

MAX_TEXT = 4096
"""The platform's limit for a text message body."""
MAX_AWAY_INTERVAL_HOURS = 24 * 365
HOURS_KEYS = tuple(f"hours_{day}" for day in WEEKDAYS)
TEXT_KEYS = (
    "greeting_de",
    "greeting_en",
    "away_de",
    "away_en",
    "privacy_notice_de",
    "privacy_notice_en",
)
KEYS = (*HOURS_KEYS, "holiday_state", "closed_days", *TEXT_KEYS, "away_interval_hours")
"""Every setting this module knows, named as in ``[automations]`` of chatproof.toml."""

_DATE_SPLIT = re.compile(r"[\s,;]+")


class SettingError(DomainError):
    """A setting's value is not acceptable; ``field`` names the setting."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


def validate(key: str, value: Any) -> Any:
    """The value as stored, checked with the same rules as chatproof.toml's; None (back to
    the file's value) is always acceptable.

    Raises:
        SettingError: naming ``key``.
    """
    if key not in KEYS:
        raise SettingError("key", f"{key!r} is not a setting; known: {', '.join(KEYS)}")
    if value is None:
        return None
    if key in HOURS_KEYS:
        text = _text(key, value, 200)
        try:
            parse_spans(key, text)
        except ScheduleError as exc:
            raise SettingError(key, exc.args[0].split(": ", 1)[-1]) from None
        return ", ".join(p.strip() for p in text.split(",") if p.strip())
    if key == "holiday_state":
        state = _text(key, value, 2).upper()
        if state and state not in GERMAN_STATES:
            raise SettingError(
                key, f"{state!r} is not a German state code ({', '.join(GERMAN_STATES)})"
            )
        return state
    if key == "closed_days":
        return _dates(key, value)
    if key == "away_interval_hours":
        return _interval(key, value)
    return _text(key, value, MAX_TEXT)


def parse(key: str, text: str) -> Any:
    """A value typed on the command line or into a form: closing days separated by commas
    or spaces, the interval as a number, everything else as text.

    Raises:
        SettingError: naming ``key``.
    """
    if key == "closed_days":
        return validate(key, [part for part in _DATE_SPLIT.split(text) if part])
    if key == "away_interval_hours":
        try:
            number = float(text.strip().replace(",", "."))
        except ValueError:
            raise SettingError(key, f"{text!r} is not a number of hours") from None
        return validate(key, number)
    return validate(key, text)


def _text(key: str, value: Any, limit: int) -> str:
    if not isinstance(value, str):
        raise SettingError(key, "must be text")
    text = value.strip().replace("\r\n", "\n")
    if len(text) > limit:
        raise SettingError(key, f"is {len(text)} characters long; at most {limit}")
    return text


def _dates(key: str, value: Any) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise SettingError(key, "must be a list of dates (YYYY-MM-DD)")
    found = set()
    for text in value:
        try:
            found.add(date.fromisoformat(text.strip()))
        except ValueError:
            raise SettingError(key, f"{text!r} is not YYYY-MM-DD") from None
    return [day.isoformat() for day in sorted(found)]


def _interval(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingError(key, "must be a number of hours")
    if not 0 < value <= MAX_AWAY_INTERVAL_HOURS:
        raise SettingError(key, f"must be more than 0 and at most {MAX_AWAY_INTERVAL_HOURS} hours")
    return float(value)
