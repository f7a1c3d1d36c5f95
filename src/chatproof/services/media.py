"""Fetch inbound media in the background: the webhook only announces a media id, and the
download URL behind it expires (reference §2.4). Attempts retry with exponential backoff and
each message shows its download state; the bytes are checked against the announced SHA-256
before they are stored content-addressed (DESIGN invariant 3)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from chatproof.archive.blobs import BlobStore
from chatproof.domain.errors import ChatproofError
from chatproof.store import PendingMedia, UnitOfWork

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
    results = await asyncio.gather(*(_fetch(item, download, blobs) for item in due))
    with uow_factory() as uow:
        for item, outcome in zip(due, results, strict=True):
            if isinstance(outcome, str):
                uow.media.mark_stored(item.message_id, outcome)
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
        uow.commit()
    return len(due)


async def _fetch(item: PendingMedia, download: Download, blobs: BlobStore) -> str | Exception:
    try:
        data = await download(item.media_id, item.sha256)
        return await asyncio.to_thread(blobs.put, data)
    except (ChatproofError, OSError) as exc:
        return exc
