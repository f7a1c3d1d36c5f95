"""Attachments from accept to send, on SQLite and PostgreSQL: gate → sealed blob → outbox row
→ one upload → media message → archive, and what a crash in between may and may not do."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from chatproof.archive.blobs import BlobStore
from chatproof.channels.whatsapp.client import SendResult
from chatproof.domain.attachments import check
from chatproof.services.deep_verify import deep_verify
from chatproof.services.media import read_media
from chatproof.services.outbox_worker import OutboxWorker, WorkerSettings
from chatproof.services.sending import Outgoing, SendingError, submit
from chatproof.store import tables as t
from tests.integration.services.test_sending import (
    ANNA,
    NOW,
    SETTINGS,
    UowFactory,
    customer_wrote,
    graph_error,
    kinds,
    outbox,
    unavailable,
)
from tests.support.databases import unseal

PDF = b"%PDF-1.7\n" + b"Rechnung 4711 " * 200 + b"\n%%EOF"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


class FakePlatform:
    """Takes uploads and sends from scripts of outcomes; records both."""

    def __init__(
        self, uploads: list[BaseException | None] | None = None, sends: list[Any] | None = None
    ) -> None:
        self.upload_script = list(uploads or [])
        self.send_script = list(sends or [])
        self.uploads: list[tuple[bytes, str, str]] = []
        self.sent: list[Mapping[str, Any]] = []

    async def upload(self, content: bytes, mime_type: str, filename: str) -> str:
        self.uploads.append((content, mime_type, filename))
        outcome = self.upload_script.pop(0) if self.upload_script else None
        if outcome is not None:
            raise outcome
        return f"media-{len(self.uploads)}"

    async def send(self, payload: Mapping[str, Any]) -> SendResult:
        self.sent.append(payload)
        outcome = self.send_script.pop(0) if self.send_script else None
        if isinstance(outcome, BaseException):
            raise outcome
        return SendResult(f"wamid.sent{len(self.sent)}", str(payload["to"]), "", "accepted")


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "media")


def worker(
    uow_factory: UowFactory, platform: FakePlatform, blobs: BlobStore, clock: list[Any]
) -> OutboxWorker:
    return OutboxWorker(
        uow_factory,
        platform.send,
        SETTINGS,
        WorkerSettings(messages_per_second=1000, customer_interval=0),
        now=lambda: clock[0],
        jitter=lambda: 0.0,
        upload=platform.upload,
        blobs=blobs,
    )


def attach(
    uow_factory: UowFactory,
    blobs: BlobStore,
    data: bytes = PDF,
    name: str = "Rechnung 4711.pdf",
    caption: str = "Ihre Rechnung",
    key: str = "a1",
    at: Any = NOW,
) -> Any:
    message = Outgoing(attachment=check(data, name, "application/pdf", caption))
    return submit(
        uow_factory,
        ANNA,
        message,
        SETTINGS,
        at,
        idempotency_key=key,
        origin="agent",
        actor="a",
        blobs=blobs,
    )


def entries(engine: Engine, kind: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        leaves = conn.execute(
            select(t.log_entries.c.leaf).where(t.log_entries.c.kind == kind)
        ).scalars()
        return [json.loads(leaf) for leaf in leaves]


def test_accepting_seals_the_file_into_the_blob_store_and_archives_it(
    uow_factory: UowFactory, engine: Engine, blobs: BlobStore
) -> None:
    customer_wrote(uow_factory, ANNA, NOW - timedelta(hours=1))
    accepted = attach(uow_factory, blobs)
    assert accepted.decision.allowed and accepted.outbox_id is not None
    (row,) = outbox(engine)
    assert (row.state, row.kind, row.media_id) == ("queued", "free_text", None)
    stored = blobs.get(row.attachment_blob)
    assert PDF not in stored and b"Rechnung" not in stored, "the blob is sealed"
    assert hashlib.sha256(stored).hexdigest() == row.attachment_blob
    (entry,) = entries(engine, "attachment.stored")
    attributes = entry["attributes"]
    assert attributes == {
        "blob": row.attachment_blob,
        "mime_type": "application/pdf",
        "media_type": "document",
        "size": len(PDF),
        "outbox": accepted.outbox_id,
    }
    # the whole name: four digits alone turn up in hex hashes and base64 by chance
    assert "Rechnung 4711" not in json.dumps(entry), "the file name is sealed, not in the leaf"
    with uow_factory() as uow:
        private = json.loads(unseal(uow, base64.b64decode(entry["content"])))
    assert private == {"filename": "Rechnung 4711.pdf", "sha256": hashlib.sha256(PDF).hexdigest()}
    assert kinds(engine)[-2:] == ["attachment.stored", "policy.decision"]


def test_outside_the_window_the_gate_refuses_and_nothing_is_stored(
    uow_factory: UowFactory, engine: Engine, blobs: BlobStore
) -> None:
    customer_wrote(uow_factory, ANNA, NOW - timedelta(hours=25))
    refused = attach(uow_factory, blobs)
    assert not refused.decision.allowed
    assert refused.decision.rule_id == "window.closed"
    assert outbox(engine) == []
    assert not (blobs.root).exists() or not any(blobs.root.rglob("*"))
    assert entries(engine, "attachment.stored") == []


def test_a_file_with_text_is_refused_naming_the_field_and_changes_nothing(
    uow_factory: UowFactory, engine: Engine, blobs: BlobStore
) -> None:
    customer_wrote(uow_factory, ANNA, NOW - timedelta(hours=1))
    before = kinds(engine)
    message = Outgoing(text="Hallo", attachment=check(PDF, "a.pdf"))
    with pytest.raises(SendingError) as raised:
        submit(
            uow_factory, ANNA, message, SETTINGS, NOW, idempotency_key="x", origin="a", actor="a"
        )
    assert raised.value.field == "attachment"
    assert outbox(engine) == [] and kinds(engine) == before


async def test_the_worker_uploads_once_sends_the_media_message_and_archives_it(
    uow_factory: UowFactory, engine: Engine, blobs: BlobStore
) -> None:
    customer_wrote(uow_factory, ANNA, NOW - timedelta(hours=1))
    accepted = attach(uow_factory, blobs)
    platform = FakePlatform()
    run = worker(uow_factory, platform, blobs, [NOW])
    assert await run.run_once() == 1
    assert await run.run_once() == 0
    assert platform.uploads == [(PDF, "application/pdf", "Rechnung 4711.pdf")]
    (payload,) = platform.sent
    assert payload["type"] == "document"
    assert payload["document"] == {
        "id": "media-1",
        "caption": "Ihre Rechnung",
        "filename": "Rechnung 4711.pdf",
    }
    assert payload["biz_opaque_callback_data"] == f"outbox:{accepted.outbox_id}"
    (row,) = outbox(engine)
    assert (row.state, row.media_id, row.attempts) == ("sent", "media-1", 1)
    (entry,) = entries(engine, "message.outbound")
    assert entry["attributes"]["blob"] == row.attachment_blob
    assert entry["attributes"]["mime_type"] == "application/pdf"
    assert entry["attributes"]["size"] == len(PDF)
    with engine.connect() as conn:
        message = conn.execute(select(t.messages).where(t.messages.c.direction == "outbound")).one()
    assert (message.type, message.media_state, message.media_blob) == (
        "document",
        "stored",
        row.attachment_blob,
    )
    data, mime = read_media(uow_factory, blobs, "agent", NOW, message.id)
    assert (data, mime) == (PDF, "application/pdf")
    report = deep_verify(uow_factory, blobs)
    assert report.disagreements == [], [str(d) for d in report.disagreements]
    assert report.media == 1


async def test_an_image_is_sent_as_an_image_with_its_caption(
    uow_factory: UowFactory, engine: Engine, blobs: BlobStore
) -> None:
    customer_wrote(uow_factory, ANNA, NOW - timedelta(hours=1))
    attach(uow_factory, blobs, PNG, "paket.png", "So kam es an")
    platform = FakePlatform()
    await worker(uow_factory, platform, blobs, [NOW]).run_once()
    (payload,) = platform.sent
    assert (payload["type"], payload["image"]) == (
        "image",
        {"id": "media-1", "caption": "So kam es an"},
    )
    assert platform.uploads[0][1:] == ("image/png", "paket.png")


async def test_a_crash_after_the_upload_neither_uploads_nor_sends_twice(
    uow_factory: UowFactory, engine: Engine, blobs: BlobStore
) -> None:
    customer_wrote(uow_factory, ANNA, NOW - timedelta(hours=1))
    attach(uow_factory, blobs)
    platform = FakePlatform()
    crashed = worker(uow_factory, platform, blobs, [NOW])
    assert crashed.uploader is not None
    await crashed.uploader.run_once()  # uploaded and recorded; the process dies before the send
    assert outbox(engine)[0].state == "queued"
    restarted = worker(uow_factory, platform, blobs, [NOW])
    assert restarted.recover() == 0
    await restarted.run_once()
    await restarted.run_once()
    assert len(platform.uploads) == 1 and len(platform.sent) == 1
    assert outbox(engine)[0].state == "sent"


async def test_a_crash_during_the_upload_queues_the_file_again_and_sends_once(
    uow_factory: UowFactory, engine: Engine, blobs: BlobStore
) -> None:
    customer_wrote(uow_factory, ANNA, NOW - timedelta(hours=1))
    attach(uow_factory, blobs)
    platform = FakePlatform()
    crashed = worker(uow_factory, platform, blobs, [NOW])
    assert crashed.uploader is not None
    assert len(crashed.uploader._take()) == 1  # marked "uploading"; the process dies
    assert outbox(engine)[0].state == "uploading"
    assert await crashed.run_once() == 0, "an upload under way is not taken twice"
    restarted = worker(uow_factory, platform, blobs, [NOW])
    restarted.recover()
    assert outbox(engine)[0].state == "queued"
    await restarted.run_once()
    assert len(platform.uploads) == 1 and len(platform.sent) == 1
    assert outbox(engine)[0].state == "sent"


async def test_a_crash_in_flight_is_not_resent_and_not_uploaded_again(
    uow_factory: UowFactory, engine: Engine, blobs: BlobStore
) -> None:
    customer_wrote(uow_factory, ANNA, NOW - timedelta(hours=1))
    attach(uow_factory, blobs)
    platform = FakePlatform()
    crashed = worker(uow_factory, platform, blobs, [NOW])
    assert crashed.uploader is not None
    await crashed.uploader.run_once()
    assert len(crashed._claim()) == 1  # in flight; the process dies before the request
    restarted = worker(uow_factory, platform, blobs, [NOW + timedelta(minutes=1)])
    assert restarted.recover() == 1
    await restarted.run_once()
    assert (len(platform.uploads), len(platform.sent)) == (1, 0)
    assert outbox(engine)[0].state == "unknown"


@pytest.mark.parametrize(
    "error",
    [
        graph_error(131016, 503),
        unavailable(httpx.ConnectError("refused")),
        unavailable(httpx.ReadTimeout("slow")),
    ],
    ids=["service unavailable", "connection refused", "timeout"],
)
async def test_a_failed_upload_is_retried_with_backoff(
    uow_factory: UowFactory, engine: Engine, blobs: BlobStore, error: BaseException
) -> None:
    customer_wrote(uow_factory, ANNA, NOW - timedelta(hours=1))
    attach(uow_factory, blobs)
    platform, clock = FakePlatform(uploads=[error]), [NOW]
    run = worker(uow_factory, platform, blobs, clock)
    assert await run.run_once() == 0
    (row,) = outbox(engine)
    assert (row.state, row.attempts, row.media_id) == ("queued", 1, None)
    assert row.next_attempt_at > NOW and "upload" in row.reason
    clock[0] = NOW + timedelta(seconds=5)
    assert await run.run_once() == 1
    assert (len(platform.uploads), len(platform.sent)) == (2, 1)
    assert outbox(engine)[0].state == "sent"


async def test_an_upload_the_platform_refuses_fails_the_message_with_the_reason(
    uow_factory: UowFactory, engine: Engine, blobs: BlobStore
) -> None:
    customer_wrote(uow_factory, ANNA, NOW - timedelta(hours=1))
    attach(uow_factory, blobs)
    platform = FakePlatform(uploads=[graph_error(100)])
    run = worker(uow_factory, platform, blobs, [NOW])
    await run.run_once()
    await run.run_once()
    (row,) = outbox(engine)
    assert (row.state, row.error_code, len(platform.sent)) == ("failed", 100, 0)
    assert "attachment could not be uploaded" in row.reason
    assert kinds(engine)[-1] == "outbox.failed"


async def test_the_running_pipeline_uploads_and_sends(
    uow_factory: UowFactory, engine: Engine, blobs: BlobStore
) -> None:
    customer_wrote(uow_factory, ANNA, NOW - timedelta(hours=1))
    attach(uow_factory, blobs)
    platform = FakePlatform()
    run = OutboxWorker(
        uow_factory,
        platform.send,
        SETTINGS,
        WorkerSettings(messages_per_second=1000, customer_interval=0, poll=0.01),
        now=lambda: NOW,
        upload=platform.upload,
        blobs=blobs,
    )
    task = asyncio.create_task(run.run())
    for _ in range(300):
        await asyncio.sleep(0.02)
        if outbox(engine)[0].state == "sent":
            break
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert outbox(engine)[0].state == "sent"
    assert (len(platform.uploads), len(platform.sent)) == (1, 1)
