"""Deep verification reads every record on both backends: an untouched archive agrees with its
log, and a status changed behind the log's back is named."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, update

from chatproof.archive.blobs import BlobStore
from chatproof.channels.whatsapp.webhook import parse_webhook
from chatproof.services.deep_verify import deep_verify
from chatproof.services.ingest import Received, ingest
from chatproof.store import UnitOfWork
from chatproof.store import tables as t
from tests.support.samples import sample_body

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_records_agree_until_one_changes(
    engine: Engine, uow_factory: Callable[[], UnitOfWork], tmp_path: Path
) -> None:
    for name in ("message/text", "message_status/read", "user_marketing_preferences/resume"):
        body = sample_body(name)
        ingest([Received(body, parse_webhook(body))], uow_factory, NOW)
    blobs = BlobStore(tmp_path)
    stages: list[str] = []

    clean = deep_verify(uow_factory, blobs, progress=lambda stage, done: stages.append(stage))

    assert clean.disagreements == []
    assert (clean.messages, clean.statuses, clean.events) == (1, 1, 1)
    assert clean.data_keys >= 3 and clean.bucket_keys >= 1 and "statuses" in stages
    with engine.begin() as conn:
        conn.execute(update(t.statuses).values(raw=b"\x01" + b"\x00" * 60))
    found = [str(d) for d in deep_verify(uow_factory, blobs).disagreements]
    assert found[0].startswith("status ")
    assert found[0].endswith(": has no log entry holding its sealed bytes (changed, or added)")
    assert found[1].startswith("status.read entry (entry ")
