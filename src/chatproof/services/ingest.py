"""Ingest: store what signed webhooks carried, in one transaction per group of requests.

A body that cannot be parsed is quarantined verbatim, never dropped (DESIGN invariant 6); a
body that parses is stored verbatim next to what was parsed from it, and everything new
becomes a log entry in the same transaction (invariant 2). The caller acknowledges only after
``ingest`` returns (invariant 1).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from chatproof.archive.log import append
from chatproof.channels.errors import PayloadError
from chatproof.domain.messages import WebhookBatch
from chatproof.store import SaveCounts, UnitOfWork

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Received:
    """One signed webhook body, parsed or with the reason it could not be."""

    body: bytes
    batch: WebhookBatch | None = None
    error: PayloadError | None = None


@dataclass(frozen=True, slots=True)
class IngestReport:
    deliveries: int
    quarantined: int
    counts: SaveCounts


def ingest(
    received: Sequence[Received], uow_factory: Callable[[], UnitOfWork], now: datetime
) -> IngestReport:
    """Store every item of ``received`` and commit once."""
    parsed = [(r.body, r.batch) for r in received if r.batch is not None]
    rejected = [r for r in received if r.batch is None]
    with uow_factory() as uow:
        # The log's lock first, before any row gets its id: ingest transactions then commit
        # in the order of their ids, and what follows them by id (the reaction processor)
        # cannot pass a row whose transaction is still open.
        uow.log.lock_size()
        counts = uow.webhooks.save(parsed, now)
        entries = list(counts.entries)
        for item in rejected:
            error = item.error or PayloadError("no parse result")
            entries.append(uow.webhooks.quarantine(item.body, error.reason, error.path, now))
        uow.conversations.link_entries(entries, append(uow.log, entries, now))
        uow.commit()
    if rejected:
        logger.warning("quarantined %d webhook bodies", len(rejected))
    return IngestReport(len(parsed), len(rejected), counts)


def quarantine_unstorable(
    item: Received, error: Exception, uow_factory: Callable[[], UnitOfWork], now: datetime
) -> None:
    """Keep a parsed body that the database refused, so the signed event is not lost and an
    admin sees why."""
    with uow_factory() as uow:
        entry = uow.webhooks.quarantine(item.body, f"could not be stored: {error}", "", now)
        append(uow.log, [entry], now)
        uow.commit()
