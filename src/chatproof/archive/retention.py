"""Retention classes and key buckets: how long content must be kept, and under which bucket key
it is sealed, so that erasure can destroy exactly what is due (DESIGN invariant 4).

A chat message has no single retention period: it follows what the message is for (a business
letter, a booking voucher, or nothing with a duty at all). Tax and commercial law count the period
from the end of the calendar year the document arose in, so content is grouped by data subject,
retention class and start year; the bucket is shredded once its duty has ended. Pure: every date
and time zone is passed in.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from zoneinfo import ZoneInfo

from chatproof.archive.errors import RetentionConfigError

DEFAULT_NO_DUTY_MONTHS = 6
DEFAULT_CONFIG_PREFIX = "retention.classes"
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_FIELDS = ("years", "months", "counted_from", "legal_basis")


def _check_class(name: str, years: int, months: int, legal_basis: str, where: str) -> None:
    if not _NAME.fullmatch(name):
        raise RetentionConfigError(where, "a class name is lowercase letters, digits and _")
    if years < 0 or months < 0 or years * 12 + months == 0:
        raise RetentionConfigError(f"{where}.years", "the period must be longer than zero")
    if not legal_basis.strip():
        raise RetentionConfigError(f"{where}.legal_basis", "must name the legal basis")


class CountedFrom(StrEnum):
    END_OF_CALENDAR_YEAR = "end_of_calendar_year"
    CONVERSATION_END = "conversation_end"


@dataclass(frozen=True, kw_only=True)
class RetentionClass:
    """How long content of one kind is kept, from when, and why (shown in the Art. 30 record)."""

    name: str
    counted_from: CountedFrom
    legal_basis: str
    years: int = 0
    months: int = 0

    def __post_init__(self) -> None:
        _check_class(self.name, self.years, self.months, self.legal_basis, self.name)


@dataclass(frozen=True)
class Bucket:
    """The unit a bucket key covers: one data subject, one retention class, one start year."""

    subject_id: str
    retention_class: str
    start_year: int
    bucket_id: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.subject_id or not self.retention_class:
            raise ValueError("a bucket needs a subject id and a retention class")
        if not 1 <= self.start_year <= 9998:
            raise ValueError(f"start year {self.start_year} is out of range")
        object.__setattr__(self, "bucket_id", _bucket_id(self))


def _bucket_id(bucket: Bucket) -> str:
    digest = hashlib.sha256(b"chatproof/bucket/v1")
    for part in (bucket.subject_id.encode(), bucket.retention_class.encode()):
        digest.update(len(part).to_bytes(4, "big") + part)
    digest.update(bucket.start_year.to_bytes(2, "big"))
    return digest.hexdigest()[:32]


BUSINESS_LETTER = RetentionClass(
    name="business_letter",
    years=6,
    counted_from=CountedFrom.END_OF_CALENDAR_YEAR,
    legal_basis=(
        "§ 257 (1) Nr. 2, 3, (4) HGB; § 147 (1) Nr. 2, 3, (3) AO: business letters received and "
        "copies of those sent, 6 years from the end of the calendar year "
        "(§ 257 (5) HGB, § 147 (4) AO)"
    ),
)
BOOKING_VOUCHER = RetentionClass(
    name="booking_voucher",
    years=8,
    counted_from=CountedFrom.END_OF_CALENDAR_YEAR,
    legal_basis=(
        "§ 147 (1) Nr. 4, (3) AO; § 257 (1) Nr. 4, (4) HGB as amended by BEG IV (previously "
        "10 years); § 14b (1) UStG for invoices: booking vouchers, 8 years from the end of the "
        "calendar year (§ 147 (4) AO, § 257 (5) HGB)"
    ),
)
BOOKS_AND_RECORDS = RetentionClass(
    name="books_and_records",
    years=10,
    counted_from=CountedFrom.END_OF_CALENDAR_YEAR,
    legal_basis=(
        "§ 147 (1) Nr. 1, (3) AO; § 257 (1) Nr. 1, (4) HGB: books, records, financial "
        "statements and the organisational documents needed to understand them, 10 years from "
        "the end of the calendar year (§ 147 (4) AO, § 257 (5) HGB)"
    ),
)
NO_DUTY = RetentionClass(
    name="no_duty",
    months=DEFAULT_NO_DUTY_MONTHS,
    counted_from=CountedFrom.CONVERSATION_END,
    legal_basis=(
        "Art. 5 (1)(e) GDPR (storage limitation): no statutory retention duty; kept only while "
        "the conversation needs it, then erased"
    ),
)
DEFAULT_RETENTION_CLASSES: Mapping[str, RetentionClass] = MappingProxyType(
    {c.name: c for c in (BUSINESS_LETTER, BOOKING_VOUCHER, BOOKS_AND_RECORDS, NO_DUTY)}
)


def start_year_for(moment: datetime, tz: ZoneInfo) -> int:
    """The calendar year ``moment`` falls in, in the business's time zone."""
    return _aware(moment, "moment").astimezone(tz).year


def duty_ends(
    retention_class: RetentionClass,
    start_year: int,
    tz: ZoneInfo,
    *,
    conversation_end: datetime | None = None,
) -> datetime:
    """The first moment the content may (and must) be erased, in ``tz``.

    A period counted from the end of the calendar year runs to 31 December of
    ``start_year + years``, 24:00 local time, so this returns 1 January of the year after.
    A period counted from the conversation's end needs ``conversation_end``.
    """
    if retention_class.counted_from is CountedFrom.END_OF_CALENDAR_YEAR:
        begins = datetime(start_year + 1, 1, 1, tzinfo=tz)
    else:
        if conversation_end is None:
            raise ValueError(f"{retention_class.name} is counted from the conversation's end")
        begins = _aware(conversation_end, "conversation_end").astimezone(tz)
    return _add_period(begins, retention_class.years, retention_class.months, tz)


def is_expired(
    retention_class: RetentionClass,
    start_year: int,
    tz: ZoneInfo,
    now: datetime,
    *,
    conversation_end: datetime | None = None,
) -> bool:
    ends = duty_ends(retention_class, start_year, tz, conversation_end=conversation_end)
    return _aware(now, "now") >= ends


def expired_through(retention_class: RetentionClass, now: datetime, tz: ZoneInfo) -> int:
    """The latest start year whose duty has ended by ``now`` (calendar-year classes only), so an
    expiry job can shred every bucket of this class with ``start_year <= expired_through``."""
    if retention_class.counted_from is not CountedFrom.END_OF_CALENDAR_YEAR:
        raise ValueError(f"{retention_class.name} is not counted from the end of a year")
    year = start_year_for(now, tz)
    while not is_expired(retention_class, year, tz, now):
        year -= 1
    return year


def classes_from_config(
    mapping: Mapping[str, object],
    *,
    base: Mapping[str, RetentionClass] = DEFAULT_RETENTION_CLASSES,
    prefix: str = DEFAULT_CONFIG_PREFIX,
) -> dict[str, RetentionClass]:
    """Retention classes from a configuration table: ``{name: {years|months, counted_from,
    legal_basis}}``. A name already in ``base`` overrides only the fields given (setting either
    ``years`` or ``months`` replaces the whole period); a new name needs every field.

    Raises:
        RetentionConfigError: names the offending field, e.g. ``retention.classes.no_duty.months``.
    """
    classes = dict(base)
    for name, raw in mapping.items():
        where = f"{prefix}.{name}"
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise RetentionConfigError(
                where, "a class name is lowercase letters, digits and _ (at most 40)"
            )
        if not isinstance(raw, Mapping):
            raise RetentionConfigError(where, "must be a table")
        for key in raw:
            if key not in _FIELDS:
                raise RetentionConfigError(f"{where}.{key}", f"unknown field; use {_FIELDS}")
        classes[name] = _class_from_table(name, raw, base.get(name), where)
    return classes


def retention_classes(
    table: object, default_class: str, *, prefix: str = "archive.retention"
) -> dict[str, RetentionClass]:
    """The classes of a configuration's ``[archive.retention]`` table over the defaults,
    checked to contain the class new content gets.

    Raises:
        RetentionConfigError: names the offending field.
    """
    if not isinstance(table, Mapping):
        raise RetentionConfigError(prefix, "must be a table of classes")
    classes = classes_from_config(table, prefix=prefix)
    if default_class not in classes:
        raise RetentionConfigError(
            "archive.default_retention_class",
            f"{default_class!r} is not a retention class ({', '.join(sorted(classes))})",
        )
    return classes


def _class_from_table(
    name: str, raw: Mapping[str, object], known: RetentionClass | None, where: str
) -> RetentionClass:
    if known is None:
        for required in ("counted_from", "legal_basis"):
            if required not in raw:
                raise RetentionConfigError(f"{where}.{required}", "is required for a new class")
        if "years" not in raw and "months" not in raw:
            raise RetentionConfigError(f"{where}.years", "a new class needs years or months")
    if "years" in raw or "months" in raw or known is None:
        years = _count(raw.get("years", 0), f"{where}.years")
        months = _count(raw.get("months", 0), f"{where}.months")
    else:
        years, months = known.years, known.months
    counted_from = known.counted_from if known else CountedFrom.END_OF_CALENDAR_YEAR
    if "counted_from" in raw:
        try:
            counted_from = CountedFrom(raw["counted_from"])
        except ValueError:
            choices = ", ".join(c.value for c in CountedFrom)
            raise RetentionConfigError(
                f"{where}.counted_from", f"must be one of {choices}"
            ) from None
    legal_basis = raw.get("legal_basis", known.legal_basis if known else "")
    if not isinstance(legal_basis, str):
        raise RetentionConfigError(f"{where}.legal_basis", "must be text")
    _check_class(name, years, months, legal_basis, where)
    return RetentionClass(
        name=name, years=years, months=months, counted_from=counted_from, legal_basis=legal_basis
    )


def _count(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RetentionConfigError(where, f"must be a whole number ≥ 0, got {value!r}")
    return value


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment


def _add_period(begins: datetime, years: int, months: int, tz: ZoneInfo) -> datetime:
    index = begins.month - 1 + months + 12 * years
    year, month = begins.year + index // 12, index % 12 + 1
    day = min(begins.day, calendar.monthrange(year, month)[1])
    # A wall time skipped by a DST change is normalised through UTC to one that exists.
    return begins.replace(year=year, month=month, day=day).astimezone(UTC).astimezone(tz)
