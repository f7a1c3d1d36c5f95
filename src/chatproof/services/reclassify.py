"""Reclassification: content whose purpose turns out to be another than assumed gets the
retention class of what it does (compliance reference §1.5), e.g. an invoice sent by chat
becomes a booking voucher, kept 8 years instead of 6 (DESIGN invariant 4).

Only the key store changes: each data key of the content is re-wrapped under the bucket of
the new class (same data subject, same start year), so its sealed bytes and every leaf stay as
they are. The change itself is a log entry naming who, when, the classes before and after,
the data keys moved, and the reason (sealed, since staff may name the customer in it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from chatproof.archive.blobs import BlobStore
from chatproof.archive.envelope import data_key_id
from chatproof.archive.errors import ArchiveError, ContentErased
from chatproof.archive.log import EntryDraft, append
from chatproof.archive.retention import Bucket, RetentionClass, start_year_for
from chatproof.services.errors import ReclassificationRefused
from chatproof.services.retention import COMPLIANCE_CLASS
from chatproof.store import UnitOfWork
from chatproof.store.sealed_records import SealedMessage

ENTRY_KIND = "retention.reclassified"


@dataclass(frozen=True)
class Reclassified:
    """What a reclassification did. ``before`` counts the data keys moved per former class;
    ``erased`` those that could not move because they were already shredded. ``entry`` is the
    log entry recording it, None when nothing had to move."""

    target: str
    subject_id: str
    retention_class: str
    before: dict[str, int]
    moved: int
    erased: int
    entry: int | None


def reclassify_message(
    uow_factory: Callable[[], UnitOfWork],
    blobs: BlobStore,
    message_id: int,
    retention_class: str,
    *,
    reason: str,
    by: str,
    now: datetime,
    tz: ZoneInfo,
    classes: Mapping[str, RetentionClass],
) -> Reclassified:
    """Give one message (its fields, its verbatim webhook body and its media) another class.

    Raises:
        ReclassificationRefused: unknown class or empty reason (names the field).
        NotFound: no such message.
        ContentErased: the message was already shredded.
        ArchiveError: its media blob is missing or damaged.
    """
    _check(retention_class, reason, classes)
    with uow_factory() as uow:
        message = uow.sealed.message(message_id)
        current = uow.keystore.bucket_of(data_key_id(message.raw))
        if current.shredded_at is not None:
            raise ContentErased(current.shredded_at, current.bucket_id)
        result = _move(
            uow,
            blobs,
            f"message:{message_id}",
            message.subject_id,
            [message],
            retention_class,
            reason=reason,
            by=by,
            now=now,
            tz=tz,
            platform_id_hash=message.platform_id_hash,
        )
        uow.commit()
    return result


def reclassify_conversation(
    uow_factory: Callable[[], UnitOfWork],
    blobs: BlobStore,
    conversation_id: int,
    retention_class: str,
    *,
    reason: str,
    by: str,
    now: datetime,
    tz: ZoneInfo,
    classes: Mapping[str, RetentionClass],
) -> Reclassified:
    """Give every message of a conversation so far, and every one to come, another class;
    shredded ones are counted in ``erased`` and left alone.

    Raises:
        ReclassificationRefused: unknown class or empty reason (names the field).
        NotFound: no such conversation.
    """
    _check(retention_class, reason, classes)
    with uow_factory() as uow:
        subject = uow.sealed.conversation_subject(conversation_id)
        messages: list[SealedMessage] = []
        while page := uow.sealed.messages(
            conversation_id=conversation_id, after=messages[-1].id if messages else 0
        ):
            messages.extend(page)
        result = _move(
            uow,
            blobs,
            f"conversation:{conversation_id}",
            subject,
            messages,
            retention_class,
            reason=reason,
            by=by,
            now=now,
            tz=tz,
        )
        uow.conversations.set_retention_class(conversation_id, retention_class)
        uow.commit()
    return result


def _check(retention_class: str, reason: str, classes: Mapping[str, RetentionClass]) -> None:
    if retention_class not in classes:
        known = ", ".join(sorted(classes))
        raise ReclassificationRefused(
            "retention_class", f"{retention_class!r} is not a retention class ({known})"
        )
    if not reason.strip():
        raise ReclassificationRefused("reason", "say why the class changes")


def _key_ids(
    uow: UnitOfWork, blobs: BlobStore, subject_id: str, messages: Iterable[SealedMessage]
) -> list[bytes]:
    """The data keys behind the messages: their fields, their verbatim webhook body when it
    was sealed for the same person, and their stored media."""
    found: dict[bytes, None] = {}
    for message in messages:
        for sealed in message.fields:
            found[data_key_id(sealed)] = None
        if message.delivery_body is not None:
            body_key = data_key_id(message.delivery_body)
            if uow.keystore.bucket_of(body_key).subject_id == subject_id:
                found[body_key] = None
        if message.media_state == "stored" and message.media_blob:
            try:
                found[data_key_id(blobs.get(message.media_blob))] = None
            except FileNotFoundError:
                raise ArchiveError(
                    f"message {message.id}: its media blob {message.media_blob} is missing"
                ) from None
    return list(found)


def _move(
    uow: UnitOfWork,
    blobs: BlobStore,
    target: str,
    subject_id: str,
    messages: list[SealedMessage],
    retention_class: str,
    *,
    reason: str,
    by: str,
    now: datetime,
    tz: ZoneInfo,
    platform_id_hash: str | None = None,
) -> Reclassified:
    before: Counter[str] = Counter()
    moved: list[str] = []
    erased = 0
    for key_id in _key_ids(uow, blobs, subject_id, messages):
        current = uow.keystore.bucket_of(key_id)
        if current.shredded_at is not None:
            erased += 1
            continue
        if current.retention_class == retention_class:
            continue
        uow.keystore.reclassify(key_id, Bucket(subject_id, retention_class, current.start_year))
        before[current.retention_class] += 1
        moved.append(key_id.hex())
    if not moved:
        return Reclassified(target, subject_id, retention_class, {}, 0, erased, None)
    year = start_year_for(now, tz)
    sealed_reason = uow.keystore.seal(
        subject_id, Bucket(subject_id, COMPLIANCE_CLASS, year), reason.encode()
    )
    entry = EntryDraft(
        kind=ENTRY_KIND,
        at=now,
        retention_class=COMPLIANCE_CLASS,
        start_year=year,
        subject_id=subject_id,
        platform_id_hash=platform_id_hash,
        content=sealed_reason,
        attributes={
            "target": target,
            "by": by,
            "before": dict(sorted(before.items())),
            "after": retention_class,
            "data_keys": moved,
            "erased": erased,
        },
    )
    (index,) = append(uow.log, [entry], now)
    return Reclassified(
        target=target,
        subject_id=subject_id,
        retention_class=retention_class,
        before=dict(before),
        moved=len(moved),
        erased=erased,
        entry=index,
    )
