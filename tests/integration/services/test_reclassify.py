"""Reclassification: an invoice sent by chat becomes a booking voucher. Its data keys move to
the new class's bucket, its sealed bytes and the log do not change, the retention job then
keeps it for the new period, and the change is a log entry."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from chatproof.archive.blobs import BlobStore
from chatproof.archive.envelope import data_key_id
from chatproof.archive.errors import ArchiveError, ContentErased
from chatproof.archive.retention import DEFAULT_RETENTION_CLASSES
from chatproof.channels.whatsapp.webhook import parse_webhook
from chatproof.services.erasure import shred_subject
from chatproof.services.errors import ReclassificationRefused
from chatproof.services.ingest import Received, ingest
from chatproof.services.media import MediaPolicy, fetch_due_media
from chatproof.services.reclassify import reclassify_conversation, reclassify_message
from chatproof.services.retention import shred_expired
from chatproof.store import NotFound, UnitOfWork
from chatproof.store.sealed_records import SealedMessage
from tests.support.databases import unseal
from tests.support.samples import sample_body

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
CLASSES = DEFAULT_RETENTION_CLASSES


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "media")


@pytest.fixture
async def chat(uow_factory: Callable[[], UnitOfWork], blobs: BlobStore) -> list[SealedMessage]:
    """A customer's text and image, the image fetched and stored."""
    for name in ("message/text", "message/image"):
        body = sample_body(name).replace(b"wamid.xyzxyz", f"wamid.{name}".encode())
        ingest([Received(body, parse_webhook(body))], uow_factory, NOW)

    async def download(media_id: str, sha256: str) -> bytes:
        return b"scan of invoice 17"

    await fetch_due_media(uow_factory, download, blobs, MediaPolicy(), NOW)
    with uow_factory() as uow:
        return list(uow.sealed.all_messages())


def classes_of(uow_factory: Callable[[], UnitOfWork], sealed: list[bytes]) -> list[str]:
    with uow_factory() as uow:
        return [uow.keystore.bucket_of(data_key_id(s)).retention_class for s in sealed]


def sealed_parts(message: SealedMessage, blobs: BlobStore) -> list[bytes]:
    parts = [message.raw, *message.fields]
    if message.delivery_body is not None:
        parts.append(message.delivery_body)
    if message.media_blob:
        parts.append(blobs.get(message.media_blob))
    return parts


def leaves(uow_factory: Callable[[], UnitOfWork]) -> list[bytes]:
    with uow_factory() as uow:
        return [leaf for _, leaf in uow.log.iter_leaves()]


def test_a_message_moves_with_its_body_and_media(
    uow_factory: Callable[[], UnitOfWork], blobs: BlobStore, chat: list[SealedMessage]
) -> None:
    text, image = chat
    image_parts = sealed_parts(image, blobs)
    assert len(image_parts) >= 3 and image.media_state == "stored"
    before = leaves(uow_factory)
    with uow_factory() as uow:
        readable = [unseal(uow, part) for part in image_parts]

    done = reclassify_message(
        uow_factory,
        blobs,
        image.id,
        "booking_voucher",
        reason="Rechnung 17 als Foto geschickt",
        by="user:7",
        now=NOW,
        tz=BERLIN,
        classes=CLASSES,
    )

    assert (done.target, done.retention_class, done.before) == (
        f"message:{image.id}",
        "booking_voucher",
        {"business_letter": 3},
    )
    assert set(classes_of(uow_factory, image_parts)) == {"booking_voucher"}
    assert set(classes_of(uow_factory, sealed_parts(text, blobs))) == {"business_letter"}
    with uow_factory() as uow:
        assert [unseal(uow, part) for part in image_parts] == readable
    after = leaves(uow_factory)
    assert after[: len(before)] == before and len(after) == len(before) + 1
    entry = json.loads(after[-1])
    assert entry["kind"] == "retention.reclassified"
    assert entry["subject"] == image.subject_id
    assert entry["platform_id"] == image.platform_id_hash
    assert entry["attributes"]["by"] == "user:7"
    assert entry["attributes"]["before"] == {"business_letter": 3}
    assert entry["attributes"]["after"] == "booking_voucher"
    assert len(entry["attributes"]["data_keys"]) == 3
    assert b"Rechnung" not in after[-1]
    with uow_factory() as uow:
        reason = unseal(uow, base64.b64decode(entry["content"]))
    assert reason.decode() == "Rechnung 17 als Foto geschickt"


def test_the_retention_job_keeps_a_reclassified_message_for_the_new_period(
    uow_factory: Callable[[], UnitOfWork], blobs: BlobStore, chat: list[SealedMessage]
) -> None:
    text, image = chat
    with uow_factory() as uow:
        year = uow.keystore.bucket_of(data_key_id(image.raw)).start_year
    reclassify_message(
        uow_factory,
        blobs,
        image.id,
        "booking_voucher",
        reason="invoice",
        by="u",
        now=NOW,
        tz=BERLIN,
        classes=CLASSES,
    )
    seven_years_on = datetime(year + 7, 6, 1, tzinfo=UTC)
    shredded = shred_expired(uow_factory, CLASSES, BERLIN, seven_years_on)
    assert {b.retention_class for b in shredded} == {"business_letter"}
    with uow_factory() as uow:
        assert unseal(uow, image.raw)
        with pytest.raises(ContentErased):
            unseal(uow, text.raw)


def test_a_whole_conversation_moves_and_shredded_content_is_counted(
    uow_factory: Callable[[], UnitOfWork], blobs: BlobStore, chat: list[SealedMessage]
) -> None:
    text, image = chat
    done = reclassify_conversation(
        uow_factory,
        blobs,
        text.conversation_id,
        "books_and_records",
        reason="Vertrag",
        by="u",
        now=NOW,
        tz=BERLIN,
        classes=CLASSES,
    )
    assert done.moved == 5 and done.erased == 0 and done.entry is not None
    parts = sealed_parts(text, blobs) + sealed_parts(image, blobs)
    assert set(classes_of(uow_factory, parts)) == {"books_and_records"}

    again = reclassify_conversation(
        uow_factory,
        blobs,
        text.conversation_id,
        "books_and_records",
        reason="Vertrag",
        by="u",
        now=NOW,
        tz=BERLIN,
        classes=CLASSES,
    )
    assert (again.moved, again.entry) == (0, None)

    shred_subject(
        uow_factory,
        text.subject_id,
        reason="Art. 17",
        by="dpo",
        now=NOW,
        tz=BERLIN,
        scrub=lambda: None,
    )
    erased = reclassify_conversation(
        uow_factory,
        blobs,
        text.conversation_id,
        "business_letter",
        reason="x",
        by="u",
        now=NOW,
        tz=BERLIN,
        classes=CLASSES,
    )
    assert (erased.moved, erased.erased) == (0, 5)
    with pytest.raises(ContentErased):
        reclassify_message(
            uow_factory,
            blobs,
            text.id,
            "business_letter",
            reason="x",
            by="u",
            now=NOW,
            tz=BERLIN,
            classes=CLASSES,
        )


async def test_messages_that_arrive_later_in_a_reclassified_conversation_get_its_class(
    uow_factory: Callable[[], UnitOfWork], blobs: BlobStore, chat: list[SealedMessage]
) -> None:
    text, _ = chat
    reclassify_conversation(
        uow_factory,
        blobs,
        text.conversation_id,
        "books_and_records",
        reason="Rechnungen",
        by="u",
        now=NOW,
        tz=BERLIN,
        classes=CLASSES,
    )
    before = len(leaves(uow_factory))
    for name in ("message/text", "message/image"):
        body = sample_body(name).replace(b"wamid.xyzxyz", f"wamid.later.{name}".encode())
        ingest([Received(body, parse_webhook(body))], uow_factory, NOW)

    async def download(media_id: str, sha256: str) -> bytes:
        return b"scan of invoice 18"

    await fetch_due_media(uow_factory, download, blobs, MediaPolicy(), NOW)
    with uow_factory() as uow:
        later = [m for m in uow.sealed.all_messages() if m.id not in {c.id for c in chat}]
    assert [m.conversation_id for m in later] == [text.conversation_id] * 2
    parts = [p for m in later for p in (m.raw, *m.fields)] + [blobs.get(later[1].media_blob)]
    assert set(classes_of(uow_factory, [p for p in parts if p])) == {"books_and_records"}
    kinds = {
        json.loads(leaf)["kind"]: json.loads(leaf)["retention"]["class"]
        for leaf in leaves(uow_factory)[before:]
    }
    assert kinds == {"message.inbound": "books_and_records", "media.stored": "books_and_records"}


def test_refusals_name_the_field_and_change_nothing(
    uow_factory: Callable[[], UnitOfWork], blobs: BlobStore, chat: list[SealedMessage]
) -> None:
    text, _ = chat
    before = leaves(uow_factory)
    with pytest.raises(ReclassificationRefused, match="retention_class: 'invoice'"):
        reclassify_message(
            uow_factory,
            blobs,
            text.id,
            "invoice",
            reason="x",
            by="u",
            now=NOW,
            tz=BERLIN,
            classes=CLASSES,
        )
    with pytest.raises(ReclassificationRefused, match="reason"):
        reclassify_message(
            uow_factory,
            blobs,
            text.id,
            "booking_voucher",
            reason=" ",
            by="u",
            now=NOW,
            tz=BERLIN,
            classes=CLASSES,
        )
    with pytest.raises(NotFound):
        reclassify_message(
            uow_factory,
            blobs,
            404_404,
            "booking_voucher",
            reason="x",
            by="u",
            now=NOW,
            tz=BERLIN,
            classes=CLASSES,
        )
    assert leaves(uow_factory) == before
    assert set(classes_of(uow_factory, [text.raw])) == {"business_letter"}


def test_a_missing_media_blob_is_named_and_nothing_moves(
    uow_factory: Callable[[], UnitOfWork], blobs: BlobStore, chat: list[SealedMessage]
) -> None:
    _, image = chat
    assert image.media_blob is not None
    blobs.path_for(image.media_blob).unlink()
    with pytest.raises(ArchiveError, match=f"message {image.id}: its media blob .* is missing"):
        reclassify_message(
            uow_factory,
            blobs,
            image.id,
            "booking_voucher",
            reason="x",
            by="u",
            now=NOW,
            tz=BERLIN,
            classes=CLASSES,
        )
    assert set(classes_of(uow_factory, [image.raw])) == {"business_letter"}
