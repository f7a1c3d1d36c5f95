"""Recording and reading consent (GDPR Art. 7(1), UWG §7; DESIGN invariant 2).

Every opt-in and opt-out is checked for what makes it provable, appended to the ledger and
to the archive in one transaction; every withdrawal also goes onto the suppression list,
keyed by the number's keyed hash, so it outlives the erasure of the contact.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime

from chatproof.archive.blobs import BlobStore
from chatproof.archive.log import append
from chatproof.domain.consent import (
    ConsentAction,
    ConsentError,
    ConsentEvent,
    ConsentState,
    check_event,
    current_states,
)
from chatproof.services.access import record_read
from chatproof.store import NotFound, UnitOfWork
from chatproof.store.sending import ContactRef


@dataclass(frozen=True, slots=True)
class Recorded:
    contact_id: int
    log_index: int


@dataclass(frozen=True, slots=True)
class ConsentHistory:
    contact_id: int
    events: list[ConsentEvent]
    states: dict[str, ConsentState]


def record_in(uow: UnitOfWork, contact: ContactRef, event: ConsentEvent, now: datetime) -> int:
    """Append ``event`` inside ``uow``'s transaction; return its log index.

    Raises:
        ConsentError: the event lacks what would make it provable.
    """
    check_event(event)
    uow.sending.add_consent(contact.id, event, now)
    if event.action is ConsentAction.WITHDRAWN:
        uow.sending.suppress(contact.wa_id_hash, event.purpose, event.at, event.source.value)
    body = json.dumps(asdict(event), default=str, sort_keys=True).encode()
    sealed = uow.personal.seal_bytes(contact.subject_id, body, event.at)
    entry = uow.personal.entry(
        f"consent.{event.action.value}",
        contact.subject_id,
        event.at,
        content=sealed,
        purpose=event.purpose,
        source=event.source.value,
        recorded_by=event.recorded_by,
        text_version=event.text_version or None,
    )
    (index,) = append(uow.log, [entry], now)
    return index


MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
DOCUMENT_PREFIX = "document:"


def record(
    uow_factory: Callable[[], UnitOfWork],
    wa_id: str,
    event: ConsentEvent,
    now: datetime,
    *,
    document: bytes | None = None,
    blobs: BlobStore | None = None,
) -> Recorded:
    """Record a consent event for the customer with number ``wa_id`` (created if new).

    ``document`` (the signed form's scan, say) is kept sealed under the customer's key in
    ``blobs``; the proof names it, so the evidence is where the ledger is.

    Raises:
        ConsentError: the event lacks what would make it provable; nothing is written.
    """
    if document is not None:
        if not document or len(document) > MAX_DOCUMENT_BYTES:
            raise ConsentError("document", f"must be 1 byte to {MAX_DOCUMENT_BYTES} bytes")
        if blobs is None:
            raise ConsentError("document", "there is nowhere to keep it")
        plain = hashlib.sha256(document).hexdigest()
        event = replace(event, proof=f"{event.proof} sha256:{plain}".strip())
    check_event(event)
    with uow_factory() as uow:
        contact = uow.sending.ensure_contact(wa_id, now)
        if document is not None and blobs is not None:
            sealed = uow.personal.seal_bytes(contact.subject_id, document, event.at)
            event = replace(event, proof=f"{event.proof} {DOCUMENT_PREFIX}{blobs.put(sealed)}")
        index = record_in(uow, contact, event, now)
        uow.commit()
    return Recorded(contact.id, index)


def read_document(
    uow_factory: Callable[[], UnitOfWork],
    blobs: BlobStore,
    digest: str,
    actor: str,
    now: datetime,
    *,
    wa_id: str | None = None,
    contact_id: int | None = None,
) -> bytes:
    """The evidence a consent event names (``document:<digest>``); the read is logged.

    Raises:
        NotFound: no such contact, or no consent event of theirs names that document.
        ContentErased: the customer's content was erased.
    """
    with uow_factory() as uow:
        if contact_id is not None:
            contact = uow.sending.contact(contact_id)
        else:
            contact = uow.sending.contact_by_number(wa_id or "")
        named = contact is not None and any(
            f"{DOCUMENT_PREFIX}{digest}" in e.proof.split()
            for e in uow.sending.consent_events(contact.id)
        )
        if contact is None or not named:
            raise NotFound("consent document", digest)
        try:
            sealed = blobs.get(digest)
        except FileNotFoundError:
            raise NotFound("consent document", digest) from None
        data = uow.personal.unseal_bytes(contact.subject_id, sealed)
        record_read(
            uow, now, actor, "consent_document", f"contact:{contact.id}", contact.subject_id,
            document=digest,
        )  # fmt: skip
        uow.commit()
    return data


def effective_events(uow: UnitOfWork, contact: ContactRef) -> list[ConsentEvent]:
    """The contact's own history plus what the suppression list holds for the number (from
    before an erasure, say): a later opt-in still counts."""
    return [*uow.sending.consent_events(contact.id), *uow.sending.suppressions(contact.wa_id_hash)]


def history(
    uow_factory: Callable[[], UnitOfWork],
    actor: str,
    now: datetime,
    *,
    wa_id: str | None = None,
    contact_id: int | None = None,
) -> ConsentHistory:
    """A customer's consent history (by number or contact id) and the state derived from it;
    the read is logged.

    Raises:
        NotFound: no such contact.
    """
    with uow_factory() as uow:
        if contact_id is not None:
            contact = uow.sending.contact(contact_id)
        else:
            found = uow.sending.contact_by_number(wa_id or "")
            if found is None:
                raise NotFound("contact with number", "(given)")
            contact = found
        events = uow.sending.consent_events(contact.id)
        states = current_states(effective_events(uow, contact))
        record_read(uow, now, actor, "consent_history", f"contact:{contact.id}", contact.subject_id)
        uow.commit()
    return ConsentHistory(contact.id, events, states)
