"""Erasure on request (GDPR Art. 17), checked bucket by bucket against the retention duties
(DESIGN invariant 4).

A bucket whose duty has ended, or that never had one, is shredded now. A bucket still under a
statutory duty (Art. 17(3)(b), § 35 (3) BDSG) is kept and the person restricted (Art. 18):
hidden from agents, never messaged; the retention job shreds each kept bucket on the day its
own duty ends. A legal hold wins over both: nothing is shredded while it is in place. Consent
records and the suppression list stay, and the number is put on it for marketing, so the person
is never contacted unasked again. The log still verifies: shredding destroys keys, not leaves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from chatproof.archive.log import append
from chatproof.archive.retention import CountedFrom, RetentionClass, duty_ends
from chatproof.domain.consent import ALL_PURPOSES, MARKETING
from chatproof.domain.dsr_answer import BucketOutcome, ErasureOutcome
from chatproof.services.dsr import find_contact, object_to_marketing_in, restrict_in
from chatproof.services.retention import compliance_entry
from chatproof.store import UnitOfWork


def erase(
    uow_factory: Callable[[], UnitOfWork],
    contact: str,
    classes: Mapping[str, RetentionClass],
    *,
    by: str,
    now: datetime,
    tz: ZoneInfo,
    scrub: Callable[[], None],
    request_id: int | None = None,
) -> ErasureOutcome:
    """Erase what may be erased now and restrict the rest; return what happened per bucket.

    Raises:
        DsrError: no such contact.
    """
    with uow_factory() as uow:
        ref = find_contact(uow, contact)
        subject = ref.subject_id
        held = subject in uow.holds.held_subjects()
        active = sorted(
            {
                (r.bucket_id, r.retention_class, r.start_year)
                for r in uow.keys.bucket_keys_of_subject(subject)
                if r.shredded_at is None
            },
            key=lambda b: (b[2], b[1]),
        )
        suppressed = {e.purpose for e in uow.sending.suppressions(ref.wa_id_hash)}
        if not suppressed & {MARKETING, ALL_PURPOSES}:
            object_to_marketing_in(uow, ref, _proof(request_id), by, now)
            # The opt-out's data key is written before any bucket it falls into is shredded.
            uow.personal.sealer.flush()
        outcomes: list[BucketOutcome] = []
        for bucket_id, class_name, year in active:
            cls = classes.get(class_name)
            legal_basis = cls.legal_basis if cls else ""
            ends = _duty_ends(cls, year, tz)
            if held or cls is None or (ends is not None and now < ends):
                kept_until = ends.date() if ends is not None else None
                outcomes.append(
                    BucketOutcome(class_name, year, legal_basis, False, kept_until, held)
                )
                continue
            uow.keystore.shred(bucket_id, reason="erasure request (Art. 17 GDPR)", by=by, at=now)
            outcomes.append(BucketOutcome(class_name, year, legal_basis, True))
        shredded = sum(1 for o in outcomes if o.erased)
        if shredded:
            # Derived plaintext (search words, the name's digest) goes with the first bucket.
            uow.webhooks.forget_derived(subject)
            uow.inbox.forget_subject(subject)
        restriction_id = None
        if held or len(outcomes) > shredded:
            restriction_id = restrict_in(
                uow,
                subject,
                "erasure request while a retention duty or legal hold runs (Art. 17(3)(b), 18)",
                by=by,
                now=now,
                tz=tz,
                request_id=request_id,
            )
        entry = compliance_entry(
            "dsr.erasure",
            subject,
            now,
            tz,
            request=request_id,
            shredded=shredded,
            kept=len(outcomes) - shredded,
            held=held,
            by=by,
        )
        append(uow.log, [entry], now)
        uow.commit()
    if shredded:
        scrub()
    return ErasureOutcome(subject, tuple(outcomes), held, restriction_id)


def _duty_ends(cls: RetentionClass | None, year: int, tz: ZoneInfo) -> datetime | None:
    """When a statutory duty counted from the end of a year ends; None for content without one
    (counted from the conversation's end: storage limitation, not a duty)."""
    if cls is None or cls.counted_from is not CountedFrom.END_OF_CALENDAR_YEAR:
        return None
    return duty_ends(cls, year, tz)


def _proof(request_id: int | None) -> str:
    named = f"data-subject request {request_id}" if request_id else "a data-subject request"
    return f"{named} (erasure, Art. 17 GDPR)"
