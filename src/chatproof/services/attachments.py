"""Files sent with a reply: sealed into the blob store when the gate accepts the message, read
back by the outbox worker to upload them (DESIGN invariants 2, 3 and 4).

An attachment is sealed the way a received file is (``services.media``): compressed where
that helps, under the contact's key in the conversation's retention class, stored by the
SHA-256 of the ciphertext, so the address says nothing about the file once it is shredded.
Its log entry holds the address, type and size in clear and the file name and the file's own
SHA-256 sealed: a file name is personal data, and a hash of a known document identifies it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from chatproof.archive.blobs import BlobStore
from chatproof.archive.log import append
from chatproof.domain.attachments import Attachment
from chatproof.services.media import pack, unpack
from chatproof.store import UnitOfWork
from chatproof.store.sending import ContactRef

ENTRY_KIND = "attachment.stored"


@dataclass(frozen=True, slots=True)
class StoredAttachment:
    blob: str
    retention_class: str | None
    """The conversation's class when it was reclassified, else None (the default)."""


def store_in(
    uow: UnitOfWork,
    blobs: BlobStore,
    contact: ContactRef,
    attachment: Attachment,
    business_number_id: str,
    now: datetime,
) -> StoredAttachment:
    """Seal the file and put it into the blob store; the caller archives it with
    ``archive_in`` once its outbox row exists, in the same transaction. Should that
    transaction roll back, the sealed blob stays unreferenced: it reveals nothing, and the
    same file sent again is stored at a new address (a new data key), so nothing leaks."""
    retention_class = uow.sending.retention_class_of(contact.id, business_number_id)
    (sealed,) = uow.personal.seal_fields(
        contact.subject_id, [pack(attachment.content)], now, retention_class
    )
    assert sealed is not None
    return StoredAttachment(blobs.put(sealed), retention_class)


def archive_in(
    uow: UnitOfWork,
    contact: ContactRef,
    attachment: Attachment,
    stored: StoredAttachment,
    now: datetime,
    *,
    outbox_id: int,
) -> None:
    """The log entry of an accepted attachment."""
    private = json.dumps({"filename": attachment.filename, "sha256": attachment.sha256})
    (content,) = uow.personal.seal_fields(
        contact.subject_id, [private], now, stored.retention_class
    )
    entry = uow.personal.entry(
        ENTRY_KIND,
        contact.subject_id,
        now,
        content=content,
        retention_class=stored.retention_class,
        blob=stored.blob,
        mime_type=attachment.mime_type,
        media_type=attachment.kind.value,
        size=attachment.size,
        outbox=outbox_id,
    )
    append(uow.log, [entry], now)


def describe(attachment: Attachment, blob: str) -> dict[str, object]:
    """What the outbox's sealed document keeps about the file, for the worker."""
    return {
        "blob": blob,
        "kind": attachment.kind.value,
        "mime_type": attachment.mime_type,
        "filename": attachment.filename,
        "sha256": attachment.sha256,
        "size": attachment.size,
    }


def read_in(uow: UnitOfWork, blobs: BlobStore, subject_id: str, blob: str) -> bytes:
    """The file behind an outbox row, opened.

    Raises:
        BlobIntegrityError, FileNotFoundError: the blob is damaged or missing.
        ContentErased: the contact was erased meanwhile.
    """
    return unpack(uow.personal.unseal_bytes(subject_id, blobs.get(blob)))
