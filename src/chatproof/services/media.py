"""Fetch inbound media in the background: the webhook only announces a media id, and the
download URL behind it expires (reference §2.4). Attempts retry with exponential backoff and
each message shows its download state; the bytes are checked against the announced SHA-256
before they are sealed under the subject's key and stored by the hash of the ciphertext, so
the address reveals nothing about the plaintext once it is shredded (invariants 3, 4)."""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from chatproof.archive.blobs import BlobStore
from chatproof.archive.log import append
from chatproof.domain.errors import ChatproofError
from chatproof.services.access import record_read
from chatproof.store import NotFound, PendingMedia, UnitOfWork

logger = logging.getLogger(__name__)

Download = Callable[[str, str], Awaitable[bytes]]
"""``download(media_id, expected_sha256) -> bytes``; raises ChatproofError on failure."""

MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class MediaPolicy:
    max_attempts: int = 8
    retry_base: timedelta = timedelta(seconds=2)
    batch: int = 20

    def retry_at(self, now: datetime, attempts_so_far: int) -> datetime | None:
        """When to try again after the ``attempts_so_far + 1``-th failure, or None to stop."""
        if attempts_so_far + 1 >= self.max_attempts:
            return None
        return now + min(self.retry_base * (2**attempts_so_far), MAX_BACKOFF)


async def fetch_due_media(
    uow_factory: Callable[[], UnitOfWork],
    download: Download,
    blobs: BlobStore,
    policy: MediaPolicy,
    now: datetime,
) -> int:
    """Try every download that is due; return how many were attempted."""
    with uow_factory() as uow:
        due = uow.media.due(now, policy.batch)
    results = await asyncio.gather(*(_fetch(item, download) for item in due))
    with uow_factory() as uow:
        entries = []
        for item, outcome in zip(due, results, strict=True):
            if isinstance(outcome, bytes):
                at = item.sent_at or now
                (sealed,) = uow.personal.seal_fields(
                    item.subject_id, [pack(outcome)], at, item.retention_class
                )
                assert sealed is not None
                blob = blobs.put(sealed)
                uow.media.mark_stored(item.message_id, blob)
                entries.append(
                    uow.personal.entry(
                        "media.stored",
                        item.subject_id,
                        at,
                        platform_id_hash=item.platform_id_hash,
                        retention_class=item.retention_class,
                        blob=blob,
                    )
                )
            else:
                retry = policy.retry_at(now, item.attempts)
                uow.media.mark_failed(item.message_id, str(outcome), retry)
                logger.warning(
                    "media of message %d failed (attempt %d, %s): %s",
                    item.message_id,
                    item.attempts + 1,
                    "will retry" if retry else "giving up",
                    outcome,
                )
        append(uow.log, entries, now)
        uow.commit()
    return len(due)


async def _fetch(item: PendingMedia, download: Download) -> bytes | Exception:
    try:
        return await download(item.media_id, item.sha256)
    except (ChatproofError, OSError) as exc:
        return exc


def pack(data: bytes) -> bytes:
    """Compress where that helps (documents, voice notes rarely; text-like files a lot)."""
    packed = zlib.compress(data, 6)
    return b"Z" + packed if len(packed) < len(data) * 0.9 else b"R" + data


def unpack(data: bytes) -> bytes:
    return zlib.decompress(data[1:]) if data[:1] == b"Z" else data[1:]


def read_media(
    uow_factory: Callable[[], UnitOfWork],
    blobs: BlobStore,
    actor: str,
    now: datetime,
    message_id: int,
) -> tuple[bytes, str]:
    """The media of a message, opened, with its MIME type; the read is logged.

    Raises:
        NotFound: the message has no stored media.
        ContentErased: it was shredded.
    """
    with uow_factory() as uow:
        stored = uow.media.stored(message_id)
        if stored is None:
            raise NotFound("stored media of message", message_id)
        data = unpack(uow.personal.unseal_bytes(stored.subject_id, blobs.get(stored.blob)))
        record_read(
            uow,
            now,
            actor,
            "read_media",
            f"message:{message_id}",
            stored.subject_id,
            message=message_id,
        )
        uow.commit()
    return data, stored.mime_type
