"""The outbox worker's upload stage: an accepted attachment is uploaded once, before its
message is claimed for sending (DESIGN invariant 5; reference §2.4).

An upload reaches no customer, so unlike a send it may be repeated safely; what must not
happen is a second upload once one succeeded, or a send without one. A row is therefore
marked "uploading" in a committed transaction, uploaded, and its media id committed with
the row back in "queued"; only then does the claim for sending see it. A crash during the
upload leaves the row "uploading", which the next start puts back in the queue (the file
may then exist twice on the platform, unused, until it expires; no message is sent twice).
A crash after the media id was committed loses nothing: the send uses the stored id.
Errors follow the worker's rules, except that a timeout is simply retried.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from chatproof.archive.blobs import BlobStore
from chatproof.channels.whatsapp.errors import CloudApiError, MessageValidationError
from chatproof.domain.errors import ChatproofError
from chatproof.domain.retry import Outcome, SendFailure, classify, reason_for
from chatproof.services.attachments import read_in
from chatproof.store import UnitOfWork
from chatproof.store.sending import OutboxRow

logger = logging.getLogger(__name__)

Upload = Callable[[bytes, str, str], Awaitable[str]]
"""``upload(content, mime_type, filename) -> media id``, as ``CloudApiClient.upload_media``."""
MarkFailed = Callable[[UnitOfWork, OutboxRow, "int | None", str, datetime], None]
Classify = Callable[[BaseException], SendFailure]

UPLOADING = "uploading"
DEFAULT_UPLOADS_PER_ROUND = 4
"""Files held in memory at once (up to 100 MB each)."""


@dataclass(slots=True)
class _Pending:
    row: OutboxRow
    content: bytes
    mime_type: str
    filename: str
    media_id: str | None = None
    error: BaseException | None = None


@dataclass(frozen=True, slots=True)
class UploadRules:
    max_attempts: int
    backoff: Callable[[int], timedelta]
    """The wait after the n-th failed attempt."""


class AttachmentUploader:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        reader: Callable[[], UnitOfWork],
        upload: Upload,
        blobs: BlobStore,
        rules: UploadRules,
        *,
        now: Callable[[], datetime],
        failure_of: Classify,
        mark_failed: MarkFailed,
        per_round: int = DEFAULT_UPLOADS_PER_ROUND,
    ) -> None:
        self.uow_factory = uow_factory
        self.reader = reader
        self.upload = upload
        self.blobs = blobs
        self.rules = rules
        self.now = now
        self.failure_of = failure_of
        self.mark_failed = mark_failed
        self.per_round = per_round
        self.uploaded = 0

    def recover(self, uow: UnitOfWork, now: datetime) -> int:
        """Rows left "uploading" by a stop go back to the queue (nothing was sent)."""
        rows = uow.sending.outbox_in_state(UPLOADING)
        for row in rows:
            uow.sending.update_outbox(row.id, (UPLOADING,), state="queued", updated_at=now)
        return len(rows)

    async def run_once(self) -> int:
        """Upload what is due; return how many uploads were tried."""
        items = await asyncio.to_thread(self._take)
        if not items:
            return 0
        try:
            await asyncio.gather(*(self._upload_one(item) for item in items))
        except asyncio.CancelledError:
            self._release(items)  # quick, and the loop is stopping anyway
            raise
        await asyncio.to_thread(self._record, items)
        return len(items)

    async def _upload_one(self, item: _Pending) -> None:
        try:
            item.media_id = await self.upload(item.content, item.mime_type, item.filename)
        except Exception as exc:  # every failure is classified and recorded, none lost
            item.error = exc

    def _take(self) -> list[_Pending]:
        now = self.now()
        with self.reader() as peek:
            if not peek.sending.outbox_to_upload(now, 1):
                return []
        taken: list[_Pending] = []
        with self.uow_factory() as uow:
            for row in uow.sending.outbox_to_upload(now, self.per_round):
                try:
                    item = self._prepare(uow, row)
                except (ChatproofError, OSError) as exc:
                    # The contact erased meanwhile, the blob damaged: this one fails.
                    self.mark_failed(uow, row, None, f"could not be prepared: {exc}", now)
                    continue
                if uow.sending.update_outbox(row.id, ("queued",), state=UPLOADING, updated_at=now):
                    taken.append(item)
            uow.commit()
        return taken

    def _prepare(self, uow: UnitOfWork, row: OutboxRow) -> _Pending:
        contact = uow.sending.contact(row.contact_id)
        document = json.loads(uow.personal.unseal_bytes(contact.subject_id, row.payload))
        described = document["attachment"]
        content = read_in(uow, self.blobs, contact.subject_id, str(row.attachment_blob))
        return _Pending(row, content, str(described["mime_type"]), str(described["filename"]))

    def _release(self, items: list[_Pending]) -> None:
        with self.uow_factory() as uow:
            for item in items:
                uow.sending.update_outbox(item.row.id, (UPLOADING,), state="queued")
            uow.commit()

    def _record(self, items: list[_Pending]) -> None:
        now = self.now()
        with self.uow_factory() as uow:
            for item in items:
                if item.media_id is not None:
                    uow.sending.update_outbox(
                        item.row.id,
                        (UPLOADING,),
                        state="queued",
                        media_id=item.media_id[:128],
                        next_attempt_at=now,
                        updated_at=now,
                    )
                    self.uploaded += 1
                else:
                    assert item.error is not None
                    self._failed(uow, item.row, item.error, now)
            uow.commit()

    def _failed(self, uow: UnitOfWork, row: OutboxRow, error: BaseException, now: datetime) -> None:
        if isinstance(error, ChatproofError) and not isinstance(
            error, CloudApiError | MessageValidationError
        ):
            # The client refused the file before sending it (over its size cap): final.
            self.mark_failed(uow, row, None, f"the attachment could not be uploaded: {error}", now)
            return
        failure = self.failure_of(error)
        outcome = classify(failure)
        attempts = row.attempts + 1
        detail = str(error)
        logger.warning("uploading the attachment of outbox %d failed: %s", row.id, outcome)
        if outcome is not Outcome.FAILED and attempts < self.rules.max_attempts:
            uow.sending.update_outbox(
                row.id,
                (UPLOADING,),
                state="queued",
                attempts=attempts,
                next_attempt_at=now + self.rules.backoff(attempts),
                error_code=failure.code,
                reason=f"attachment upload not taken, retrying: {detail}",
                updated_at=now,
            )
            return
        reason = reason_for(failure.code, detail)[1]
        if outcome is not Outcome.FAILED:
            reason = f"gave up after {attempts} attempts: {reason}"
        self.mark_failed(
            uow, row, failure.code, f"the attachment could not be uploaded: {reason}", now
        )
