"""``chatproof verify --deep``: every stored message, status, event, quarantined body, media
blob and key row agrees with its log entry; each kind of tampering behind the log's back is
named, though the Merkle tree itself still verifies."""

from __future__ import annotations

import asyncio
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, select, update
from typer.testing import CliRunner

from chatproof.archive.envelope import data_key_id
from chatproof.archive.log import append
from chatproof.archive.retention import Bucket
from chatproof.bootstrap import Components, build
from chatproof.channels.errors import PayloadError
from chatproof.channels.whatsapp.webhook import parse_webhook
from chatproof.cli import app
from chatproof.config import load_settings
from chatproof.datadir import initialise
from chatproof.services.erasure import shred_subject
from chatproof.services.ingest import Received, ingest
from chatproof.services.media import MediaPolicy, fetch_due_media
from chatproof.services.reclassify import reclassify_message
from chatproof.store import tables as t
from tests.support.samples import sample_body

runner = CliRunner()
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SAMPLES = (
    "message/text",
    "message/image",
    "message_status/delivered",
    "user_marketing_preferences/signup",
)


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[tuple[Path, Components]]:
    data_dir = tmp_path / "data"
    initialise(data_dir)
    components = build(load_settings(data_dir, {}))
    for name in SAMPLES:
        body = sample_body(name).replace(b"wamid.xyzxyz", f"wamid.{name}".encode())
        ingest([Received(body, parse_webhook(body))], components.writer, NOW)
    with components.writer() as uow:  # a second customer, erased later
        uow.keystore.seal("gone", Bucket("gone", "business_letter", 2026), b"Hallo")
        uow.commit()
    bad = b'{"object": "whatsapp_business_account", "entry": 3}'
    ingest([Received(bad, None, PayloadError("not a list", "entry"))], components.writer, NOW)

    async def download(media_id: str, sha256: str) -> bytes:
        return b"photo of the invoice"

    asyncio.run(fetch_due_media(components.writer, download, components.blobs, MediaPolicy(), NOW))
    reclassify_message(
        components.writer,
        components.blobs,
        2,
        "booking_voucher",
        reason="invoice",
        by="u",
        now=NOW,
        tz=components.timezone,
        classes=components.retention_classes,
    )
    shred_subject(
        components.writer,
        "gone",
        reason="Art. 17",
        by="dpo",
        now=NOW,
        tz=components.timezone,
        scrub=components.scrub,
    )
    yield data_dir, components
    components.close()


def deep(data_dir: Path):
    return runner.invoke(app, ["verify", "--deep", "--data-dir", str(data_dir)])


def sql(components: Components, *statements: object) -> None:
    with components.engine.begin() as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


def named(data_dir: Path, *fragments: str) -> str:
    result = deep(data_dir)
    assert result.exit_code == 1, result.output
    assert "Error: deep check:" in result.output
    for fragment in fragments:
        assert fragment in result.output, result.output
    assert runner.invoke(app, ["verify", "--data-dir", str(data_dir)]).exit_code == 0
    return result.output


def test_an_untouched_archive_agrees_with_its_log(archive: tuple[Path, Components]) -> None:
    data_dir, _ = archive
    result = deep(data_dir)
    assert result.exit_code == 0, result.output
    assert "OK: 2 messages, 1 media, 1 statuses, 1 events, 1 quarantined bodies" in result.output


def test_a_message_with_another_payload_is_named(archive: tuple[Path, Components]) -> None:
    data_dir, components = archive
    m = t.messages.c
    with components.engine.connect() as conn:
        other = conn.execute(select(m.raw).where(m.id == 2)).scalar_one()
    sql(components, update(t.messages).where(m.id == 1).values(raw=other))
    named(data_dir, "message 1 (entry", "sealed content differs", "not under the data key")


def test_a_message_with_another_time_is_named(archive: tuple[Path, Components]) -> None:
    data_dir, components = archive
    moved = datetime(2020, 1, 1, tzinfo=UTC)
    sql(components, update(t.messages).where(t.messages.c.id == 1).values(sent_at=moved))
    named(data_dir, "message 1 (entry", "time is '2023-", "not '2020-01-01T00:00:00.000Z'")


def test_a_message_added_behind_the_log_is_named(archive: tuple[Path, Components]) -> None:
    data_dir, components = archive
    m = t.messages.c
    with components.engine.connect() as conn:
        row = conn.execute(select(t.messages).where(m.id == 1)).mappings().one()
    copy = {**row, "id": 99, "platform_id_hash": "f" * 64, "log_index": None}
    sql(components, insert(t.messages).values(**copy))
    named(data_dir, "message 99: has no log entry")


def test_a_message_deleted_behind_the_log_is_named(archive: tuple[Path, Components]) -> None:
    data_dir, components = archive
    sql(components, delete(t.messages).where(t.messages.c.id == 1))
    named(data_dir, "message.inbound entry (entry", "no stored record agrees with it")


def test_a_changed_status_and_event_are_named(archive: tuple[Path, Components]) -> None:
    data_dir, components = archive
    sql(
        components,
        update(t.statuses).values(raw=b"\x01" + b"\x00" * 60),
        update(t.platform_events).values(raw=b"\x01" + b"\x11" * 60),
    )
    named(
        data_dir,
        "status 1: has no log entry holding its sealed bytes",
        "event 1: has no log entry holding its sealed bytes",
        "status.delivered entry (entry",
    )


def test_a_changed_quarantined_body_is_named(archive: tuple[Path, Components]) -> None:
    data_dir, components = archive
    sql(components, update(t.quarantine).values(body=b"\x01" + b"\x22" * 60))
    named(data_dir, "quarantined body 1: has no log entry", "webhook.quarantined entry")


def test_media_missing_changed_or_swapped_is_named(archive: tuple[Path, Components]) -> None:
    data_dir, components = archive
    m = t.messages.c
    with components.engine.connect() as conn:
        blob = conn.execute(select(m.media_blob).where(m.id == 2)).scalar_one()
    path = components.blobs.path_for(blob)
    path.write_bytes(path.read_bytes() + b"!")
    named(data_dir, f"message 2: its media blob {blob} does not hash to its name")
    path.unlink()
    named(data_dir, f"message 2: its media blob {blob} is missing")
    sql(components, update(t.messages).where(m.id == 2).values(media_blob="0" * 64))
    named(
        data_dir,
        f"message 2: no media.stored log entry names its media blob {'0' * 64}",
        f"media blob {blob} (entry",
    )


def test_a_data_key_moved_or_removed_behind_the_log_is_named(
    archive: tuple[Path, Components],
) -> None:
    data_dir, components = archive
    m, d, b = t.messages.c, t.data_keys.c, t.bucket_keys.c
    with components.engine.connect() as conn:
        raw = conn.execute(select(m.raw).where(m.id == 1)).scalar_one()
        voucher = conn.execute(
            select(b.bucket_id, b.generation).where(b.retention_class == "booking_voucher")
        ).first()
    key = data_key_id(raw)
    sql(
        components,
        update(t.data_keys)
        .where(d.key_id == key)
        .values(bucket_id=voucher.bucket_id, generation=voucher.generation),
    )
    named(data_dir, f"data key {key.hex()} (entry", "is in bucket booking_voucher/2023")
    sql(components, delete(t.data_keys).where(d.key_id == key))
    named(data_dir, f"data key {key.hex()} (entry", "is missing from the key store")


def test_bucket_keys_shredded_or_rewrapped_behind_the_log_are_named(
    archive: tuple[Path, Components],
) -> None:
    data_dir, components = archive
    b = t.bucket_keys.c
    with components.engine.connect() as conn:
        first, second = conn.execute(
            select(b.bucket_id, b.generation)
            .where(b.wrapped_key.is_not(None), b.subject_id != "gone")
            .order_by(b.bucket_id)
            .limit(2)
        ).all()
    sql(
        components,
        update(t.bucket_keys)
        .where(b.bucket_id == first.bucket_id)
        .values(wrapped_key=None, shredded_at=NOW, shred_reason="quietly", shredded_by="x"),
        update(t.bucket_keys).where(b.bucket_id == second.bucket_id).values(master_version=5),
    )
    named(
        data_dir,
        f"bucket key {first.bucket_id}#{first.generation}: shredded on 2026-11-22 without a log",
        f"bucket key {second.bucket_id}#{second.generation}: wrapped under master key version 5",
    )


def test_a_rotated_archive_still_agrees(archive: tuple[Path, Components]) -> None:
    data_dir, _ = archive
    assert runner.invoke(app, ["keys", "rotate-master", "--data-dir", str(data_dir)]).exit_code == 0
    result = deep(data_dir)
    assert result.exit_code == 0, result.output


def test_an_imported_chat_agrees_with_its_log(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    initialise(data_dir)
    chat = "WhatsApp Chat mit +49 151 23456789"
    export = tmp_path / f"{chat}.zip"
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "chat_export"
    with zipfile.ZipFile(export, "w") as archive:
        archive.writestr(f"{chat}.txt", (fixtures / "android-de-24h.txt").read_bytes())
        archive.writestr("IMG-20240313-WA0001.jpg", b"\xff\xd8 photo")
    args = ["import", "whatsapp-export", str(export), "--business-name", "Weber"]
    imported = runner.invoke(app, [*args, "--data-dir", str(data_dir)])
    assert imported.exit_code == 0, imported.output
    result = deep(data_dir)
    assert result.exit_code == 0, result.output
    assert "OK: 10 messages, 1 media" in result.output


def send(components: Components, payload: bytes, sealed_again: bytes | None = None) -> None:
    """A sent message whose log entry holds the payload sealed once more, as the outbox
    worker wrote them before entry and row shared one ciphertext."""
    with components.writer() as uow:
        contact = uow.sending.ensure_contact("4915123456789", NOW)
        platform_id, _ = uow.sending.add_outbound_message(
            contact, "106540352242922", "wamid.sent-1", "text", "Hallo", payload, NOW, "accepted"
        )
        sealed = uow.personal.seal_bytes(contact.subject_id, sealed_again or payload, NOW)
        entry = uow.personal.entry(
            "message.outbound",
            contact.subject_id,
            NOW,
            platform_id_hash=platform_id,
            content=sealed,
            type="text",
        )
        append(uow.log, [entry], NOW)
        uow.commit()


def test_a_sent_message_sealed_twice_is_opened_to_compare(
    archive: tuple[Path, Components],
) -> None:
    data_dir, components = archive
    send(components, b'{"type": "text", "text": {"body": "Hallo"}}')
    result = deep(data_dir)
    assert result.exit_code == 0, result.output
    assert "1 messages sealed twice were opened to compare" in result.output


def test_a_sent_message_whose_payload_differs_from_its_entry_is_named(
    archive: tuple[Path, Components],
) -> None:
    data_dir, components = archive
    send(components, b'{"text": "Hallo"}', sealed_again=b'{"text": "Tschuess"}')
    named(data_dir, "message 3 (entry", "sealed content differs")
