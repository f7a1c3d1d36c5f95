"""Retention and legal hold (DESIGN invariant 4).

A bucket (data subject × retention class × start year) is shredded the day its duty ends,
unless a legal hold is in place on the subject. Placing and lifting a hold, and every
shredding, are log entries themselves (invariant 2). The job can run as a dry run that only
says what would go and when.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from chatproof.archive.log import EntryDraft, append
from chatproof.archive.retention import (
    CountedFrom,
    RetentionClass,
    duty_ends,
    expired_through,
    start_year_for,
)
from chatproof.store import UnitOfWork

logger = logging.getLogger(__name__)

COMPLIANCE_CLASS = "books_and_records"
"""Holds and shreddings document the archive itself, so they are kept longest."""


@dataclass(frozen=True, slots=True)
class ExpiringBucket:
    bucket_id: str
    subject_id: str
    retention_class: str
    start_year: int
    duty_ended: datetime
    held: bool


def compliance_entry(
    kind: str, subject_id: str, now: datetime, tz: ZoneInfo, **attrs: object
) -> EntryDraft:
    return EntryDraft(
        kind=kind,
        at=now,
        retention_class=COMPLIANCE_CLASS,
        start_year=start_year_for(now, tz),
        subject_id=subject_id,
        attributes=attrs,
    )


def place_hold(
    uow_factory: Callable[[], UnitOfWork],
    subject_id: str,
    reason: str,
    by: str,
    now: datetime,
    tz: ZoneInfo,
) -> int:
    with uow_factory() as uow:
        hold_id = uow.holds.place(subject_id, reason, by, now)
        append(
            uow.log,
            [compliance_entry("legal_hold.placed", subject_id, now, tz, hold=hold_id, by=by)],
            now,
        )
        uow.commit()
    return hold_id


def lift_hold(
    uow_factory: Callable[[], UnitOfWork], hold_id: int, by: str, now: datetime, tz: ZoneInfo
) -> None:
    """Raises NotFound unless the hold is in place."""
    with uow_factory() as uow:
        hold = uow.holds.lift(hold_id, by, now)
        entry = compliance_entry("legal_hold.lifted", hold.subject_id, now, tz, hold=hold_id, by=by)
        append(uow.log, [entry], now)
        uow.commit()


def expiring(
    uow_factory: Callable[[], UnitOfWork],
    classes: Mapping[str, RetentionClass],
    tz: ZoneInfo,
    now: datetime,
    *,
    limit: int = 10_000,
) -> list[ExpiringBucket]:
    """Every active bucket whose duty has ended by ``now``, held or not."""
    found: list[ExpiringBucket] = []
    with uow_factory() as uow:
        held = uow.holds.held_subjects()
        for cls in classes.values():
            if cls.counted_from is not CountedFrom.END_OF_CALENDAR_YEAR:
                continue
            through = expired_through(cls, now, tz)
            for row in uow.keys.active_bucket_keys(cls.name, through, limit):
                found.append(
                    ExpiringBucket(
                        bucket_id=row.bucket_id,
                        subject_id=row.subject_id,
                        retention_class=row.retention_class,
                        start_year=row.start_year,
                        duty_ended=duty_ends(cls, row.start_year, tz),
                        held=row.subject_id in held,
                    )
                )
    return found


def shred_expired(
    uow_factory: Callable[[], UnitOfWork],
    classes: Mapping[str, RetentionClass],
    tz: ZoneInfo,
    now: datetime,
    *,
    by: str = "retention job",
) -> list[ExpiringBucket]:
    """Shred every expired bucket without a hold; return what was shredded."""
    shredded: list[ExpiringBucket] = []
    for bucket in expiring(uow_factory, classes, tz, now):
        if bucket.held:
            logger.info("bucket %s expired but is held", bucket.bucket_id)
            continue
        with uow_factory() as uow:
            if bucket.subject_id in uow.holds.held_subjects():
                continue
            uow.keystore.shred(bucket.bucket_id, reason="retention period ended", by=by, at=now)
            entry = compliance_entry(
                "retention.shredded",
                bucket.subject_id,
                now,
                tz,
                bucket=bucket.bucket_id,
                retention_class=bucket.retention_class,
                start_year=bucket.start_year,
            )
            append(uow.log, [entry], now)
            uow.commit()
        shredded.append(bucket)
    return shredded
