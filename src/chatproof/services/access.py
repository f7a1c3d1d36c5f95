"""Every read of archived content by a person is recorded twice over: as a row of the access
log (for quick questions like "who read this conversation") and as a log entry, so the record
of reads is as tamper-evident as what was read (DESIGN invariant 2)."""

from __future__ import annotations

from datetime import datetime

from chatproof.archive.log import EntryDraft, append
from chatproof.archive.retention import start_year_for
from chatproof.store import UnitOfWork

ACCESS_CLASS = "books_and_records"


def record_read(
    uow: UnitOfWork,
    now: datetime,
    actor: str,
    action: str,
    target: str,
    subject_id: str | None,
    **attributes: object,
) -> None:
    """Record, inside ``uow``'s transaction, that ``actor`` read ``target``."""
    uow.conversations.log_access(now, actor, action, target)
    entry = EntryDraft(
        kind="access.read",
        at=now,
        retention_class=ACCESS_CLASS,
        start_year=start_year_for(now, uow.personal.sealer.tz),
        subject_id=subject_id,
        attributes={"actor": actor, "action": action, **attributes},
    )
    append(uow.log, [entry], now)
