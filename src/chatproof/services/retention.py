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

from chatproof.archive.envelope import data_key_id
from chatproof.archive.key_records import BucketKeyRecord
from chatproof.archive.log import EntryDraft, append
from chatproof.archive.retention import (
    Bucket,
    CountedFrom,
    RetentionClass,
    duty_ends,
    expired_through,
    start_year_for,
)
from chatproof.store import UnitOfWork

logger = logging.getLogger(__name__)

LATEST_YEAR = 9998
_PAGE = 1000
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
    """Every active bucket whose duty has ended by ``now``, held or not.

    A class counted from the conversation's end (``no_duty``) ends a while after the data
    subject's last message in any conversation; a subject without a conversation counts from
    the end of the bucket's start year, the latest its content can have arisen.
    """
    found: list[ExpiringBucket] = []
    with uow_factory() as uow:
        held = uow.holds.held_subjects()
        for cls in classes.values():
            if cls.counted_from is CountedFrom.END_OF_CALENDAR_YEAR:
                through = expired_through(cls, now, tz)
                rows = uow.keys.active_bucket_keys(cls.name, through, limit)
                ended = [(row, duty_ends(cls, row.start_year, tz)) for row in rows]
            else:
                ended = _ended_after_conversation(uow, cls, tz, now, limit)
            found.extend(
                ExpiringBucket(
                    bucket_id=row.bucket_id,
                    subject_id=row.subject_id,
                    retention_class=row.retention_class,
                    start_year=row.start_year,
                    duty_ended=ends,
                    held=row.subject_id in held,
                )
                for row, ends in ended
            )
    return found


def _ended_after_conversation(
    uow: UnitOfWork, cls: RetentionClass, tz: ZoneInfo, now: datetime, limit: int
) -> list[tuple[BucketKeyRecord, datetime]]:
    ended: list[tuple[BucketKeyRecord, datetime]] = []
    after: tuple[str, int] | None = None
    while len(ended) < limit:
        rows = uow.keys.active_bucket_keys(cls.name, LATEST_YEAR, _PAGE, after=after)
        if not rows:
            break
        after = (rows[-1].bucket_id, rows[-1].generation)
        last_messages = uow.activity.conversation_ends([r.subject_id for r in rows])
        for row in rows:
            year_begins = datetime(row.start_year, 1, 1, tzinfo=tz)
            year_ends = datetime(row.start_year + 1, 1, 1, tzinfo=tz)
            last = max(last_messages.get(row.subject_id, year_ends), year_begins)
            ends = duty_ends(cls, row.start_year, tz, conversation_end=last)
            if now >= ends:
                ended.append((row, ends))
    return ended[:limit]


def shred_expired(
    uow_factory: Callable[[], UnitOfWork],
    classes: Mapping[str, RetentionClass],
    tz: ZoneInfo,
    now: datetime,
    *,
    by: str = "retention job",
) -> list[ExpiringBucket]:
    """Shred every expired bucket without a hold; return what was shredded.

    The contact's number and name stay with the person's newest bucket that is kept: a
    customer still in the archive stays reachable, one whose every bucket has gone is not.
    """
    shredded: list[ExpiringBucket] = []
    plan = expiring(uow_factory, classes, tz, now)
    leaving = {b.bucket_id for b in plan if not b.held}
    for bucket in plan:
        if bucket.held:
            logger.info("bucket %s expired but is held", bucket.bucket_id)
            continue
        with uow_factory() as uow:
            if bucket.subject_id in uow.holds.held_subjects():
                continue
            cls = classes[bucket.retention_class]
            reason = (
                "retention period ended"
                if cls.counted_from is CountedFrom.END_OF_CALENDAR_YEAR
                else "no retention duty; kept long enough after the conversation ended"
            )
            kept_in = _keep_contact(uow, bucket, leaving)
            uow.keystore.shred(bucket.bucket_id, reason=reason, by=by, at=now)
            entry = compliance_entry(
                "retention.shredded",
                bucket.subject_id,
                now,
                tz,
                bucket=bucket.bucket_id,
                retention_class=bucket.retention_class,
                start_year=bucket.start_year,
                **({"contact_kept_in": kept_in} if kept_in else {}),
            )
            append(uow.log, [entry], now)
            uow.commit()
        shredded.append(bucket)
    return shredded


def _keep_contact(uow: UnitOfWork, bucket: ExpiringBucket, leaving: set[str]) -> str | None:
    """Move the contact fields sealed in ``bucket`` to the subject's newest bucket that is not
    ``leaving``; return that bucket's id, or None when nothing moved. Their data keys are
    re-wrapped, the sealed bytes stay (contact fields have data keys of their own)."""
    here = sorted(
        {
            data_key_id(sealed)
            for sealed in uow.sealed.contact_fields(bucket.subject_id)
            if (found := uow.keys.bucket_of_sealed(sealed)) and found.bucket_id == bucket.bucket_id
        }
    )
    if not here:
        return None
    staying = [
        row
        for row in uow.keys.bucket_keys_of_subject(bucket.subject_id)
        if row.shredded_at is None and row.bucket_id not in leaving
    ]
    if not staying:
        return None
    newest = max(staying, key=lambda row: (row.start_year, row.bucket_id))
    target = Bucket(bucket.subject_id, newest.retention_class, newest.start_year)
    for key_id in here:
        uow.keystore.reclassify(key_id, target)
    return target.bucket_id
