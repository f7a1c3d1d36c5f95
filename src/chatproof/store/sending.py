"""Storage for lawful sending: consent events, the suppression list, the outbox, broadcasts,
and the small bookkeeping of the after-ingest processor (its cursors and which automation
went to whom when).

Consent events are only inserted, never updated (DESIGN invariant 2: the state is derived).
Outbox rows move through ``queued → in_flight → sent | failed | unknown`` (or ``refused``
when the gate says no at send time); a row is marked in flight in its own committed
transaction before its request leaves, which is what makes sending at most once.
"""

from __future__ import annotations

import json
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select, update

from chatproof.archive.pseudonyms import Pseudonymizer
from chatproof.domain.consent import ConsentAction, ConsentEvent, ConsentSource
from chatproof.domain.delivery import DeliveryState, advance, parse_state
from chatproof.domain.policy import TemplateCategory
from chatproof.domain.templates import TemplateSpec
from chatproof.store import tables as t
from chatproof.store._sql import insert_ignoring_duplicates
from chatproof.store.errors import NotFound
from chatproof.store.personal import PersonalContent

ACTIVE = ("in_flight", "sent", "unknown")
"""Outbox states whose message may have reached the customer."""


@dataclass(frozen=True, slots=True)
class ContactRef:
    id: int
    subject_id: str
    wa_id_hash: str
    wa_id: str
    """The number in clear, or "" once the contact's content was erased."""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    idempotency_key: str
    contact_id: int
    broadcast_id: int | None
    purpose: str
    kind: str
    template_name: str | None
    template_language: str | None
    template_category: str | None
    payload: bytes
    origin: str
    actor: str
    state: str
    delivery: str | None
    business_initiated: bool
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    platform_id_hash: str | None
    rule_id: str | None
    error_code: int | None
    reason: str | None
    attachment_blob: str | None = None
    """The sealed file of an attachment, by its content address."""
    media_id: str | None = None
    """The platform's id of the uploaded attachment, so a retry does not upload it again."""


@dataclass(frozen=True, slots=True)
class OutboundMedia:
    """The attachment of a sent message, shown in its thread like a received one."""

    media_id: str
    blob: str
    mime_type: str
    filename: str


@dataclass(frozen=True, slots=True)
class BroadcastRow:
    id: int
    name: str
    template_name: str
    template_language: str
    purpose: str
    body_params: str
    state: str
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class InboundRow:
    id: int
    contact_id: int
    subject_id: str
    conversation_id: int
    type: str
    text: bytes | None
    raw: bytes
    sent_at: datetime
    received_at: datetime
    from_webhook: bool = True
    """False for what the business sent and for imported chat history: nothing to react to."""


@dataclass(frozen=True, slots=True)
class StatusRow:
    id: int
    platform_id_hash: str
    status: str
    at: datetime
    error_code: int | None
    raw: bytes
    received_at: datetime


@dataclass(frozen=True, slots=True)
class EventRow:
    id: int
    kind: str
    contact_id: int | None
    at: datetime | None
    received_at: datetime


class SendingRepository(ABC):
    """Contract: every method MUST work within the caller's transaction and MUST NOT commit.
    Consent events MUST only ever be inserted."""

    @abstractmethod
    def ensure_contact(self, wa_id: str, now: datetime) -> ContactRef: ...

    @abstractmethod
    def contact(self, contact_id: int) -> ContactRef:
        """Raises NotFound."""

    @abstractmethod
    def contact_by_number(self, wa_id: str) -> ContactRef | None: ...

    @abstractmethod
    def add_consent(self, contact_id: int, event: ConsentEvent, now: datetime) -> int: ...

    @abstractmethod
    def consent_events(self, contact_id: int) -> list[ConsentEvent]: ...

    @abstractmethod
    def suppress(self, number_hash: str, purpose: str, at: datetime, source: str) -> None: ...

    @abstractmethod
    def suppressions(self, number_hash: str) -> list[ConsentEvent]:
        """The list's entries for a number, as withdrawals."""

    @abstractmethod
    def contacts_with_consent_events(self, purpose: str, label: str | None = None) -> list[int]:
        """Contacts with a consent history for ``purpose``; with ``label``, only those with
        a conversation carrying that label."""

    @abstractmethod
    def last_imported_at(self, contact_id: int) -> datetime | None:
        """The newest message from imported chat history (it opens no window)."""

    @abstractmethod
    def last_inbound_at(self, contact_id: int) -> datetime | None:
        """The newest message the customer sent through a webhook (imports do not count)."""

    @abstractmethod
    def is_shredded(self, subject_id: str) -> bool: ...

    @abstractmethod
    def reached_since(self, since: datetime, contact_id: int) -> tuple[int, bool]:
        """Unique customers messaged outside a window since ``since``; is ``contact_id`` one."""

    @abstractmethod
    def add_outbox(self, **values: Any) -> int: ...

    @abstractmethod
    def outbox(self, outbox_id: int) -> OutboxRow:
        """Raises NotFound."""

    @abstractmethod
    def outbox_by_key(self, key: str) -> OutboxRow | None: ...

    @abstractmethod
    def outbox_by_platform_id(self, platform_id_hash: str) -> OutboxRow | None: ...

    @abstractmethod
    def due_outbox(self, now: datetime, limit: int) -> list[OutboxRow]:
        """Queued rows ready to send (an attachment only once it is uploaded)."""

    @abstractmethod
    def outbox_to_upload(self, now: datetime, limit: int) -> list[OutboxRow]:
        """Queued rows whose attachment still has to be uploaded."""

    @abstractmethod
    def retention_class_of(self, contact_id: int, business_number_id: str) -> str | None:
        """The class of the contact's conversation when it was reclassified, else None."""

    @abstractmethod
    def outbox_in_state(self, state: str, limit: int = 10_000) -> list[OutboxRow]: ...

    @abstractmethod
    def update_outbox(self, outbox_id: int, expected: tuple[str, ...], **values: Any) -> bool:
        """Change a row only while it is in one of the ``expected`` states."""

    @abstractmethod
    def add_broadcast(self, **values: Any) -> int: ...

    @abstractmethod
    def broadcast(self, broadcast_id: int) -> BroadcastRow:
        """Raises NotFound."""

    @abstractmethod
    def set_broadcast_state(self, broadcast_id: int, state: str, now: datetime) -> None: ...

    @abstractmethod
    def broadcast_outbox(self, broadcast_id: int) -> list[OutboxRow]: ...

    @abstractmethod
    def cursor(self, name: str) -> int: ...

    @abstractmethod
    def set_cursor(self, name: str, position: int) -> None: ...

    @abstractmethod
    def mark(self, contact_id: int, kind: str) -> datetime | None: ...

    @abstractmethod
    def set_mark(self, contact_id: int, kind: str, at: datetime) -> None: ...

    @abstractmethod
    def inbound_after(self, position: int, limit: int) -> list[InboundRow]:
        """Every message after ``position``; ``from_webhook`` marks those a customer sent."""

    @abstractmethod
    def statuses_after(self, position: int, limit: int) -> list[StatusRow]: ...

    @abstractmethod
    def events_after(self, position: int, limit: int) -> list[EventRow]: ...

    @abstractmethod
    def latest_ids(self) -> tuple[int, int, int]:
        """The newest message, status and platform event ids."""

    @abstractmethod
    def replace_templates(self, templates: list[TemplateSpec], now: datetime) -> None:
        """The synced catalogue becomes exactly ``templates``."""

    @abstractmethod
    def templates(self) -> list[TemplateSpec]: ...

    @abstractmethod
    def add_outbound_message(
        self,
        contact: ContactRef,
        business_number_id: str,
        wamid: str,
        message_type: str,
        text: str,
        raw: bytes,
        at: datetime,
        state: str,
        media: OutboundMedia | None = None,
    ) -> tuple[str, bytes]:
        """Show a sent message in its conversation; returns the wamid's keyed hash and the
        sealed request (the content of its log entry)."""

    @abstractmethod
    def advance_message(
        self, platform_id_hash: str, state: str, at: datetime, code: int | None
    ) -> None: ...


class SqlAlchemySendingRepository(SendingRepository):
    def __init__(
        self, conn: Connection, personal: PersonalContent, pseudonyms: Pseudonymizer
    ) -> None:
        self.conn = conn
        self.personal = personal
        self.pseudonyms = pseudonyms

    # contacts

    def _ref(self, row: Any) -> ContactRef:
        wa_id = self.personal.read_text(row.subject_id, row.wa_id).text
        return ContactRef(row.id, row.subject_id, row.wa_id_hash, wa_id)

    def ensure_contact(self, wa_id: str, now: datetime) -> ContactRef:
        found = self.contact_by_number(wa_id)
        if found is not None:
            return found
        subject = str(uuid.uuid4())
        self.personal.prepare([(subject, now)])
        stmt = insert_ignoring_duplicates(self.conn, t.contacts, "wa_id_hash").values(
            subject_id=subject,
            wa_id_hash=self.pseudonyms.hash("wa_id", wa_id),
            wa_id=self.personal.seal_text(subject, wa_id, now),
            first_seen_at=now,
            updated_at=now,
        )
        self.conn.execute(stmt)
        c = t.contacts.c
        row = self.conn.execute(
            select(c.id, c.subject_id, c.wa_id_hash, c.wa_id).where(
                c.wa_id_hash == self.pseudonyms.hash("wa_id", wa_id)
            )
        ).one()
        if row.subject_id == subject:
            # Sealed in this transaction: its data key is written only at commit.
            return ContactRef(row.id, subject, row.wa_id_hash, wa_id)
        return self._ref(row)

    def contact(self, contact_id: int) -> ContactRef:
        c = t.contacts.c
        row = self.conn.execute(
            select(c.id, c.subject_id, c.wa_id_hash, c.wa_id).where(c.id == contact_id)
        ).first()
        if row is None:
            raise NotFound("contact", contact_id)
        return self._ref(row)

    def contact_by_number(self, wa_id: str) -> ContactRef | None:
        c = t.contacts.c
        row = self.conn.execute(
            select(c.id, c.subject_id, c.wa_id_hash, c.wa_id).where(
                c.wa_id_hash == self.pseudonyms.hash("wa_id", wa_id)
            )
        ).first()
        return self._ref(row) if row is not None else None

    # consent

    def add_consent(self, contact_id: int, event: ConsentEvent, now: datetime) -> int:
        result = self.conn.execute(
            t.consent_events.insert().values(
                contact_id=contact_id,
                purpose=event.purpose,
                action=event.action.value,
                source=event.source.value,
                at=event.at,
                recorded_by=event.recorded_by[:200],
                text=event.text,
                text_version=event.text_version[:64],
                proof=event.proof,
                recorded_at=now,
            )
        )
        return int(result.inserted_primary_key[0])

    def consent_events(self, contact_id: int) -> list[ConsentEvent]:
        e = t.consent_events.c
        rows = self.conn.execute(
            select(t.consent_events).where(e.contact_id == contact_id).order_by(e.at, e.id)
        )
        return [
            ConsentEvent(
                r.purpose,
                ConsentAction(r.action),
                ConsentSource(r.source),
                r.at,
                r.recorded_by,
                r.text,
                r.text_version,
                r.proof,
            )
            for r in rows
        ]

    def suppress(self, number_hash: str, purpose: str, at: datetime, source: str) -> None:
        s = t.suppressions.c
        existing = self.conn.execute(
            select(s.at).where(s.number_hash == number_hash, s.purpose == purpose)
        ).first()
        if existing is None:
            self.conn.execute(
                t.suppressions.insert().values(
                    number_hash=number_hash, purpose=purpose, at=at, source=source
                )
            )
        elif existing.at < at:
            self.conn.execute(
                update(t.suppressions)
                .where(s.number_hash == number_hash, s.purpose == purpose)
                .values(at=at, source=source)
            )

    def suppressions(self, number_hash: str) -> list[ConsentEvent]:
        s = t.suppressions.c
        rows = self.conn.execute(select(t.suppressions).where(s.number_hash == number_hash))
        return [
            ConsentEvent(
                r.purpose,
                ConsentAction.WITHDRAWN,
                ConsentSource(r.source),
                r.at,
                "suppression list",
            )
            for r in rows
        ]

    def contacts_with_consent_events(self, purpose: str, label: str | None = None) -> list[int]:
        e = t.consent_events.c
        query = select(e.contact_id).where(e.purpose == purpose)
        if label is not None:
            c, cl, lb = t.conversations.c, t.conversation_labels.c, t.labels.c
            labelled = (
                select(c.contact_id)
                .join(t.conversation_labels, cl.conversation_id == c.id)
                .join(t.labels, lb.id == cl.label_id)
                .where(lb.name == label)
            )
            query = query.where(e.contact_id.in_(labelled))
        rows = self.conn.execute(query.distinct().order_by(e.contact_id))
        return [r.contact_id for r in rows]

    def last_imported_at(self, contact_id: int) -> datetime | None:
        m, c = t.messages.c, t.conversations.c
        return self.conn.execute(
            select(func.max(m.sent_at))
            .join(t.conversations, c.id == m.conversation_id)
            .where(
                c.contact_id == contact_id,
                m.direction == "inbound",
                m.delivery_id.is_(None),
            )
        ).scalar()

    def last_inbound_at(self, contact_id: int) -> datetime | None:
        m, c = t.messages.c, t.conversations.c
        return self.conn.execute(
            select(func.max(m.sent_at))
            .join(t.conversations, c.id == m.conversation_id)
            .where(
                c.contact_id == contact_id,
                m.direction == "inbound",
                m.delivery_id.is_not(None),
            )
        ).scalar()

    def is_shredded(self, subject_id: str) -> bool:
        b = t.bucket_keys.c
        row = self.conn.execute(
            select(func.count(), func.count(b.shredded_at)).where(b.subject_id == subject_id)
        ).one()
        return row[0] > 0 and row[0] == row[1]

    def reached_since(self, since: datetime, contact_id: int) -> tuple[int, bool]:
        o = t.outbox.c
        recent = and_(
            o.business_initiated == 1,
            o.state.in_(ACTIVE),
            func.coalesce(o.sent_at, o.updated_at) >= since,
        )
        count = self.conn.execute(select(func.count(o.contact_id.distinct())).where(recent))
        counted = self.conn.execute(
            select(o.id).where(recent, o.contact_id == contact_id).limit(1)
        ).first()
        return int(count.scalar() or 0), counted is not None

    # outbox

    def add_outbox(self, **values: Any) -> int:
        result = self.conn.execute(t.outbox.insert().values(**values))
        return int(result.inserted_primary_key[0])

    @staticmethod
    def _outbox(row: Any) -> OutboxRow:
        data = dict(row._mapping)
        data["business_initiated"] = bool(data["business_initiated"])
        return OutboxRow(**data)

    def outbox(self, outbox_id: int) -> OutboxRow:
        row = self.conn.execute(select(t.outbox).where(t.outbox.c.id == outbox_id)).first()
        if row is None:
            raise NotFound("outbox message", outbox_id)
        return self._outbox(row)

    def outbox_by_key(self, key: str) -> OutboxRow | None:
        row = self.conn.execute(select(t.outbox).where(t.outbox.c.idempotency_key == key)).first()
        return self._outbox(row) if row is not None else None

    def outbox_by_platform_id(self, platform_id_hash: str) -> OutboxRow | None:
        row = self.conn.execute(
            select(t.outbox).where(t.outbox.c.platform_id_hash == platform_id_hash)
        ).first()
        return self._outbox(row) if row is not None else None

    def due_outbox(self, now: datetime, limit: int) -> list[OutboxRow]:
        o, b = t.outbox.c, t.broadcasts.c
        paused = select(b.id).where(b.state != "running")
        query = (
            select(t.outbox)
            .where(
                o.state == "queued",
                or_(o.next_attempt_at.is_(None), o.next_attempt_at <= now),
                or_(o.broadcast_id.is_(None), o.broadcast_id.not_in(paused)),
                or_(o.attachment_blob.is_(None), o.media_id.is_not(None)),
            )
            .order_by(o.next_attempt_at, o.id)
            .limit(limit)
        )
        return [self._outbox(r) for r in self.conn.execute(query)]

    def outbox_to_upload(self, now: datetime, limit: int) -> list[OutboxRow]:
        o = t.outbox.c
        query = (
            select(t.outbox)
            .where(
                o.state == "queued",
                o.attachment_blob.is_not(None),
                o.media_id.is_(None),
                or_(o.next_attempt_at.is_(None), o.next_attempt_at <= now),
            )
            .order_by(o.next_attempt_at, o.id)
            .limit(limit)
        )
        return [self._outbox(r) for r in self.conn.execute(query)]

    def retention_class_of(self, contact_id: int, business_number_id: str) -> str | None:
        c = t.conversations.c
        return self.conn.execute(
            select(c.retention_class).where(
                c.contact_id == contact_id, c.business_number_id == business_number_id
            )
        ).scalar()

    def outbox_in_state(self, state: str, limit: int = 10_000) -> list[OutboxRow]:
        o = t.outbox.c
        query = select(t.outbox).where(o.state == state).order_by(o.id).limit(limit)
        return [self._outbox(r) for r in self.conn.execute(query)]

    def update_outbox(self, outbox_id: int, expected: tuple[str, ...], **values: Any) -> bool:
        o = t.outbox.c
        result = self.conn.execute(
            update(t.outbox).where(o.id == outbox_id, o.state.in_(expected)).values(**values)
        )
        return result.rowcount == 1

    # broadcasts

    def add_broadcast(self, **values: Any) -> int:
        result = self.conn.execute(t.broadcasts.insert().values(**values))
        return int(result.inserted_primary_key[0])

    def broadcast(self, broadcast_id: int) -> BroadcastRow:
        row = self.conn.execute(
            select(t.broadcasts).where(t.broadcasts.c.id == broadcast_id)
        ).first()
        if row is None:
            raise NotFound("broadcast", broadcast_id)
        return BroadcastRow(**row._mapping)

    def set_broadcast_state(self, broadcast_id: int, state: str, now: datetime) -> None:
        self.conn.execute(
            update(t.broadcasts)
            .where(t.broadcasts.c.id == broadcast_id)
            .values(state=state, updated_at=now)
        )

    def broadcast_outbox(self, broadcast_id: int) -> list[OutboxRow]:
        o = t.outbox.c
        rows = self.conn.execute(
            select(t.outbox).where(o.broadcast_id == broadcast_id).order_by(o.id)
        )
        return [self._outbox(r) for r in rows]

    # after-ingest bookkeeping

    def cursor(self, name: str) -> int:
        r = t.reaction_cursors.c
        found = self.conn.execute(select(r.position).where(r.name == name)).scalar()
        return int(found) if found is not None else 0

    def set_cursor(self, name: str, position: int) -> None:
        r = t.reaction_cursors.c
        changed = self.conn.execute(
            update(t.reaction_cursors).where(r.name == name).values(position=position)
        )
        if changed.rowcount == 0:
            self.conn.execute(t.reaction_cursors.insert().values(name=name, position=position))

    def mark(self, contact_id: int, kind: str) -> datetime | None:
        a = t.automation_marks.c
        return self.conn.execute(
            select(a.at).where(a.contact_id == contact_id, a.kind == kind)
        ).scalar()

    def set_mark(self, contact_id: int, kind: str, at: datetime) -> None:
        a = t.automation_marks.c
        changed = self.conn.execute(
            update(t.automation_marks)
            .where(a.contact_id == contact_id, a.kind == kind)
            .values(at=at)
        )
        if changed.rowcount == 0:
            self.conn.execute(
                t.automation_marks.insert().values(contact_id=contact_id, kind=kind, at=at)
            )

    def inbound_after(self, position: int, limit: int) -> list[InboundRow]:
        m, c, p = t.messages.c, t.conversations.c, t.contacts.c
        query = (
            select(
                m.id,
                c.contact_id,
                p.subject_id,
                m.conversation_id,
                m.type,
                m.text,
                m.raw,
                m.sent_at,
                m.received_at,
                m.direction,
                m.delivery_id,
            )
            .join(t.conversations, c.id == m.conversation_id)
            .join(t.contacts, p.id == c.contact_id)
            .where(m.id > position)
            .order_by(m.id)
            .limit(limit)
        )
        found = []
        for r in self.conn.execute(query):
            values = dict(r._mapping)
            direction, delivery = values.pop("direction"), values.pop("delivery_id")
            values["from_webhook"] = direction == "inbound" and delivery is not None
            found.append(InboundRow(**values))
        return found

    def statuses_after(self, position: int, limit: int) -> list[StatusRow]:
        s = t.statuses.c
        query = (
            select(s.id, s.platform_id_hash, s.status, s.at, s.error_code, s.raw, s.received_at)
            .where(s.id > position)
            .order_by(s.id)
            .limit(limit)
        )
        return [StatusRow(**r._mapping) for r in self.conn.execute(query)]

    def events_after(self, position: int, limit: int) -> list[EventRow]:
        e = t.platform_events.c
        query = (
            select(e.id, e.kind, e.contact_id, e.at, e.received_at)
            .where(e.id > position)
            .order_by(e.id)
            .limit(limit)
        )
        return [EventRow(**r._mapping) for r in self.conn.execute(query)]

    def latest_ids(self) -> tuple[int, int, int]:
        found = []
        for table in (t.messages, t.statuses, t.platform_events):
            found.append(int(self.conn.execute(select(func.max(table.c.id))).scalar() or 0))
        return found[0], found[1], found[2]

    # synced templates

    def replace_templates(self, templates: list[TemplateSpec], now: datetime) -> None:
        self.conn.execute(t.message_templates.delete())
        if templates:
            self.conn.execute(
                t.message_templates.insert(),
                [
                    {
                        "name": spec.name,
                        "language": spec.language,
                        "category": spec.category.value,
                        "approved": 1 if spec.approved else 0,
                        "status": spec.status,
                        "body_params": spec.body_params,
                        "header_params": spec.header_params,
                        "text": spec.text,
                        "buttons": json.dumps(list(spec.buttons)),
                        "synced_at": now,
                    }
                    for spec in templates
                ],
            )

    def templates(self) -> list[TemplateSpec]:
        m = t.message_templates.c
        rows = self.conn.execute(select(t.message_templates).order_by(m.name, m.language))
        return [
            TemplateSpec(
                name=r.name,
                language=r.language,
                category=TemplateCategory(r.category),
                approved=bool(r.approved),
                status=r.status,
                body_params=r.body_params,
                header_params=r.header_params,
                text=r.text,
                buttons=tuple(json.loads(r.buttons)),
            )
            for r in rows
        ]

    # the inbox projection of what was sent

    def add_outbound_message(
        self,
        contact: ContactRef,
        business_number_id: str,
        wamid: str,
        message_type: str,
        text: str,
        raw: bytes,
        at: datetime,
        state: str,
        media: OutboundMedia | None = None,
    ) -> tuple[str, bytes]:
        c = t.conversations.c
        key = {"contact_id": contact.id, "business_number_id": business_number_id}
        self.conn.execute(
            insert_ignoring_duplicates(
                self.conn, t.conversations, "contact_id", "business_number_id"
            ).values(**key, status="open", created_at=at, last_message_at=at)
        )
        conversation_id = self.conn.execute(
            select(c.id).where(
                c.contact_id == contact.id, c.business_number_id == business_number_id
            )
        ).scalar_one()
        platform_hash = self.pseudonyms.hash("wamid", wamid)
        # The file name shares the data key of the request, as every field of a row does.
        sealed_wamid, sealed_text, sealed_raw, sealed_filename = self.personal.seal_fields(
            contact.subject_id, [wamid, text, raw, media.filename if media else None], at
        )
        assert sealed_raw is not None
        media_columns: dict[str, Any] = {}
        if media is not None:
            media_columns = {
                "media_id": media.media_id[:128],
                "media_mime_type": media.mime_type[:128],
                "media_filename": sealed_filename,
                "media_state": "stored",
                "media_blob": media.blob,
            }
        self.conn.execute(
            insert_ignoring_duplicates(self.conn, t.messages, "platform_id_hash").values(
                conversation_id=conversation_id,
                platform_id_hash=platform_hash,
                platform_id=sealed_wamid,
                direction="outbound",
                type=message_type[:32],
                sent_at=at,
                received_at=at,
                text=sealed_text,
                raw=sealed_raw,
                state=state,
                state_at=at,
                **media_columns,
            )
        )
        self.conn.execute(
            update(t.conversations)
            .where(c.id == conversation_id)
            .values(
                message_count=c.message_count + 1,
                last_message_at=case((c.last_message_at < at, at), else_=c.last_message_at),
            )
        )
        return platform_hash, sealed_raw

    def advance_message(
        self, platform_id_hash: str, state: str, at: datetime, code: int | None
    ) -> None:
        m = t.messages.c
        row = self.conn.execute(
            select(m.id, m.state).where(m.platform_id_hash == platform_id_hash)
        ).first()
        reported = parse_state(state)
        if row is None or reported is None:
            return
        moved = advance(DeliveryState(row.state) if row.state else None, reported)
        if moved is None:
            return
        values: dict[str, Any] = {"state": moved.value, "state_at": at}
        if code is not None:
            values["error_code"] = code
        self.conn.execute(update(t.messages).where(m.id == row.id).values(**values))
