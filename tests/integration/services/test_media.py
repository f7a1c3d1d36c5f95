"""Background media downloads: stored by content on success, retried with backoff on
failure, given up after the configured attempts, each visible on its message."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chatproof.archive.blobs import BlobStore
from chatproof.channels.whatsapp.errors import MediaIntegrityError, Undeliverable
from chatproof.channels.whatsapp.webhook import parse_webhook
from chatproof.services.conversations import list_conversations, read_messages
from chatproof.services.ingest import Received, ingest
from chatproof.services.media import MediaPolicy, fetch_due_media, pack, read_media, unpack
from chatproof.store import UnitOfWork
from tests.support.samples import sample_body

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
POLICY = MediaPolicy(max_attempts=3, retry_base=timedelta(seconds=2))


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "media")


def media_of_only_message(uow_factory: Callable[[], UnitOfWork]):
    (conversation,) = list_conversations(uow_factory, "test", NOW).items
    (message,) = read_messages(uow_factory, "test", NOW, conversation.id)[1].items
    assert message.media is not None
    return message.media


@pytest.fixture
def image_waiting(uow_factory: Callable[[], UnitOfWork]) -> None:
    body = sample_body("message/image")
    ingest([Received(body, parse_webhook(body))], uow_factory, NOW)


@pytest.mark.usefixtures("image_waiting")
async def test_a_download_is_stored_by_its_hash(
    uow_factory: Callable[[], UnitOfWork], blobs: BlobStore
) -> None:
    asked: list[tuple[str, str]] = []

    async def download(media_id: str, sha256: str) -> bytes:
        asked.append((media_id, sha256))
        return b"jpeg bytes"

    assert await fetch_due_media(uow_factory, download, blobs, POLICY, NOW) == 1
    media = media_of_only_message(uow_factory)
    assert (media.state, media.attempts, media.error) == ("stored", 1, "")
    stored = blobs.get(media.blob)
    assert b"jpeg bytes" not in stored
    assert (
        media.blob
        == hashlib.sha256(stored).hexdigest()
        != hashlib.sha256(b"jpeg bytes").hexdigest()
    )
    (conversation,) = list_conversations(uow_factory, "test", NOW).items
    message_id = read_messages(uow_factory, "test", NOW, conversation.id)[1].items[0].id
    assert read_media(uow_factory, blobs, "dpo", NOW, message_id) == (b"jpeg bytes", "image/jpeg")
    with uow_factory() as uow:
        docs = [json.loads(leaf) for _, leaf in uow.log.iter_leaves()]
    assert [d["attributes"]["blob"] for d in docs if d["kind"] == "media.stored"] == [media.blob]
    assert docs[-1]["attributes"]["action"] == "read_media"
    assert asked[0][0] == "65463453" and asked[0][1]
    assert await fetch_due_media(uow_factory, download, blobs, POLICY, NOW) == 0


@pytest.mark.usefixtures("image_waiting")
async def test_failures_retry_with_backoff_then_give_up(
    uow_factory: Callable[[], UnitOfWork], blobs: BlobStore
) -> None:
    async def corrupt(media_id: str, sha256: str) -> bytes:
        raise MediaIntegrityError(sha256, "0" * 64)

    assert await fetch_due_media(uow_factory, corrupt, blobs, POLICY, NOW) == 1
    media = media_of_only_message(uow_factory)
    assert (media.state, media.attempts) == ("pending", 1)
    assert "hash" in media.error.lower() or "sha" in media.error.lower()

    assert (
        await fetch_due_media(uow_factory, corrupt, blobs, POLICY, NOW + timedelta(seconds=1)) == 0
    )
    assert (
        await fetch_due_media(uow_factory, corrupt, blobs, POLICY, NOW + timedelta(seconds=2)) == 1
    )
    assert media_of_only_message(uow_factory).attempts == 2
    # second retry waits 4 s after the second failure
    later = NOW + timedelta(seconds=2)
    assert (
        await fetch_due_media(uow_factory, corrupt, blobs, POLICY, later + timedelta(seconds=3))
        == 0
    )
    assert (
        await fetch_due_media(uow_factory, corrupt, blobs, POLICY, later + timedelta(seconds=4))
        == 1
    )
    media = media_of_only_message(uow_factory)
    assert (media.state, media.attempts) == ("failed", 3)
    assert await fetch_due_media(uow_factory, corrupt, blobs, POLICY, NOW + timedelta(days=1)) == 0


@pytest.mark.usefixtures("image_waiting")
async def test_platform_errors_are_recorded_in_words(
    uow_factory: Callable[[], UnitOfWork], blobs: BlobStore
) -> None:
    async def gone(media_id: str, sha256: str) -> bytes:
        raise Undeliverable("Media not found", code=131026, http_status=404)

    await fetch_due_media(uow_factory, gone, blobs, POLICY, NOW)
    assert "Media not found" in media_of_only_message(uow_factory).error


def test_backoff_doubles_and_is_capped() -> None:
    policy = MediaPolicy(max_attempts=30, retry_base=timedelta(seconds=2))
    assert policy.retry_at(NOW, 0) == NOW + timedelta(seconds=2)
    assert policy.retry_at(NOW, 3) == NOW + timedelta(seconds=16)
    assert policy.retry_at(NOW, 20) == NOW + timedelta(hours=1)
    assert policy.retry_at(NOW, 29) is None


def test_media_is_compressed_only_where_that_helps() -> None:
    text_like = b"Rechnung " * 200
    assert pack(text_like)[:1] == b"Z" and len(pack(text_like)) < len(text_like)
    noise = os.urandom(256)
    assert pack(noise)[:1] == b"R"
    assert unpack(pack(text_like)) == text_like and unpack(pack(noise)) == noise
