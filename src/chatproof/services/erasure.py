"""Crypto-shredding of one data subject (DESIGN invariant 4).

Shredding destroys every bucket key of the subject, so every entry sealed for them becomes
unreadable, while the log, which hashes ciphertext, still verifies. Derived values that could
identify the person (the keyed digest of their profile name, their words in the search index)
are dropped first; afterwards the database is scrubbed so the destroyed keys do not linger in
free pages or the WAL. A legal hold blocks it, and the shredding is itself a log entry.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from chatproof.archive.log import append
from chatproof.services.errors import LegalHoldActive
from chatproof.services.retention import compliance_entry
from chatproof.store import UnitOfWork


def shred_subject(
    uow_factory: Callable[[], UnitOfWork],
    subject_id: str,
    *,
    reason: str,
    by: str,
    now: datetime,
    tz: ZoneInfo,
    scrub: Callable[[], None],
) -> int:
    """Shred every bucket of ``subject_id``; return how many were shredded.

    Raises:
        LegalHoldActive: a legal hold is in place on the subject.
    """
    with uow_factory() as uow:
        if subject_id in uow.holds.held_subjects():
            raise LegalHoldActive(subject_id)
        buckets = sorted(
            {
                r.bucket_id
                for r in uow.keys.bucket_keys_of_subject(subject_id)
                if r.shredded_at is None
            }
        )
        uow.webhooks.forget_derived(subject_id)
        uow.inbox.forget_subject(subject_id)
        for bucket_id in buckets:
            uow.keystore.shred(bucket_id, reason=reason, by=by, at=now)
        entry = compliance_entry(
            "subject.shredded", subject_id, now, tz, buckets=len(buckets), reason=reason, by=by
        )
        append(uow.log, [entry], now)
        uow.commit()
    scrub()
    return len(buckets)
