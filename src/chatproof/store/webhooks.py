"""Writes what webhooks carried: deliveries, quarantine, contacts, conversations, messages,
statuses and platform events — many requests' worth in one transaction (group commit).

Duplicates are decided by unique keys in the database (message hash, status hash + status,
event key), so a redelivered webhook is stored once however it races (DESIGN invariant 1).
"""

from __future__ import annotations

import hashlib
import uuid
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Integer, and_, bindparam, case, or_, select, tuple_, update

from chatproof.archive.pseudonyms import Pseudonymizer
from chatproof.domain.delivery import DeliveryState, advance, parse_state
from chatproof.domain.messages import Direction, Message, WebhookBatch
from chatproof.store import tables as t
from chatproof.store._sql import chunks, insert_ignoring_duplicates
from chatproof.store.personal import SYSTEM_SUBJECT, PersonalContent


@dataclass(frozen=True)
class SaveCounts:
    messages: int = 0
    duplicate_messages: int = 0
    statuses: int = 0
    duplicate_statuses: int = 0
    events: int = 0
    duplicate_events: int = 0


class WebhookRepository(ABC):
    """Contract: every method MUST write within the caller's transaction and MUST NOT commit."""

    @abstractmethod
    def add_deliveries(self, bodies: Sequence[bytes], received_at: datetime) -> list[int]:
        """Store each raw body verbatim; ids in the order given."""

    @abstractmethod
    def quarantine(self, body: bytes, reason: str, path: str, received_at: datetime) -> int: ...

    @abstractmethod
    def save(
        self, batches: Sequence[tuple[int, WebhookBatch]], received_at: datetime
    ) -> SaveCounts: ...


class SqlAlchemyWebhookRepository(WebhookRepository):
    def __init__(
        self, conn: Connection, personal: PersonalContent, pseudonyms: Pseudonymizer
    ) -> None:
        self.conn = conn
        self.personal = personal
        self.pseudonyms = pseudonyms

    def add_deliveries(self, bodies: Sequence[bytes], received_at: datetime) -> list[int]:
        if not bodies:
            return []
        rows = [
            {
                "received_at": received_at,
                "body_sha256": hashlib.sha256(body).hexdigest(),
                "body": self.personal.seal_bytes(SYSTEM_SUBJECT, body),
            }
            for body in bodies
        ]
        stmt = t.webhook_deliveries.insert().returning(
            t.webhook_deliveries.c.id, sort_by_parameter_order=True
        )
        return [row.id for row in self.conn.execute(stmt, rows)]

    def quarantine(self, body: bytes, reason: str, path: str, received_at: datetime) -> int:
        stmt = t.quarantine.insert().values(
            received_at=received_at,
            reason=reason,
            path=path,
            body_sha256=hashlib.sha256(body).hexdigest(),
            body=self.personal.seal_bytes(SYSTEM_SUBJECT, body),
        )
        return self.conn.execute(stmt).inserted_primary_key[0]

    def save(
        self, batches: Sequence[tuple[int, WebhookBatch]], received_at: datetime
    ) -> SaveCounts:
        people = self._ensure_contacts(batches, received_at)
        new_messages, dup_messages = self._add_messages(batches, people, received_at)
        new_statuses, dup_statuses = self._add_statuses(batches, received_at)
        new_events, dup_events = self._add_events(batches, people, received_at)
        return SaveCounts(
            new_messages, dup_messages, new_statuses, dup_statuses, new_events, dup_events
        )

    def _hash_wamid(self, wamid: str) -> str:
        return self.pseudonyms.hash("wamid", wamid)

    def _ensure_contacts(
        self, batches: Sequence[tuple[int, WebhookBatch]], now: datetime
    ) -> dict[str, tuple[int, str]]:
        """(contact id, subject id) per wa_id mentioned, creating contacts as needed."""
        profiles: dict[str, tuple[str, str]] = {}
        for _, batch in batches:
            for message in batch.messages:
                profiles.setdefault(message.customer_wa_id, ("", ""))
            for event in batch.events:
                if event.customer_wa_id:
                    profiles.setdefault(event.customer_wa_id, ("", ""))
            for contact in batch.contacts:
                profiles[contact.wa_id] = (contact.name, contact.user_id)
        if not profiles:
            return {}
        by_hash = {self.pseudonyms.hash("wa_id", wa_id): wa_id for wa_id in profiles}
        found = self._contacts_by_hash(list(by_hash))
        missing = [h for h in by_hash if h not in found]
        if missing:
            rows = []
            for h in missing:
                subject = str(uuid.uuid4())
                name, user_id = profiles[by_hash[h]]
                rows.append(
                    {
                        "subject_id": subject,
                        "wa_id_hash": h,
                        "wa_id": self.personal.seal_bytes(subject, by_hash[h].encode()),
                        "name": self.personal.seal_text(subject, name),
                        "user_id": self.personal.seal_text(subject, user_id),
                        "first_seen_at": now,
                        "updated_at": now,
                    }
                )
            stmt = insert_ignoring_duplicates(self.conn, t.contacts, "wa_id_hash")
            self.conn.execute(stmt, rows)
            created = set(missing)
            found.update(self._contacts_by_hash(missing))
        else:
            created = set()
        renamed = [
            {
                "cid": found[h][0],
                "name": self.personal.seal_text(found[h][1], profiles[wa_id][0]),
                "now": now,
            }
            for h, wa_id in by_hash.items()
            if profiles[wa_id][0] and h not in created
        ]
        if renamed:
            stmt = (
                update(t.contacts)
                .where(t.contacts.c.id == bindparam("cid"))
                .values(name=bindparam("name"), updated_at=bindparam("now"))
            )
            self.conn.execute(stmt, renamed)
        return {wa_id: found[h] for h, wa_id in by_hash.items()}

    def _contacts_by_hash(self, hashes: list[str]) -> dict[str, tuple[int, str]]:
        c = t.contacts.c
        found: dict[str, tuple[int, str]] = {}
        for part in chunks(hashes):
            query = select(c.wa_id_hash, c.id, c.subject_id).where(c.wa_id_hash.in_(part))
            for row in self.conn.execute(query):
                found[row.wa_id_hash] = (row.id, row.subject_id)
        return found

    def _ensure_conversations(
        self, keys: Iterable[tuple[int, str]], now: datetime
    ) -> dict[tuple[int, str], int]:
        wanted = set(keys)
        found = self._conversations(wanted)
        missing = wanted - set(found)
        if missing:
            rows = [
                {
                    "contact_id": contact_id,
                    "business_number_id": number_id,
                    "status": "open",
                    "created_at": now,
                    "last_message_at": now,
                    "message_count": 0,
                    "unread_count": 0,
                }
                for contact_id, number_id in missing
            ]
            stmt = insert_ignoring_duplicates(
                self.conn, t.conversations, "contact_id", "business_number_id"
            )
            self.conn.execute(stmt, rows)
            found.update(self._conversations(missing))
        return found

    def _conversations(self, keys: set[tuple[int, str]]) -> dict[tuple[int, str], int]:
        c = t.conversations.c
        found: dict[tuple[int, str], int] = {}
        for part in chunks(sorted(keys)):
            query = select(c.id, c.contact_id, c.business_number_id).where(
                tuple_(c.contact_id, c.business_number_id).in_(part)
            )
            for row in self.conn.execute(query):
                found[(row.contact_id, row.business_number_id)] = row.id
        return found

    def _add_messages(
        self,
        batches: Sequence[tuple[int, WebhookBatch]],
        people: dict[str, tuple[int, str]],
        now: datetime,
    ) -> tuple[int, int]:
        unique: dict[str, tuple[int, Message]] = {}
        total = 0
        for delivery_id, batch in batches:
            for message in batch.messages:
                total += 1
                unique.setdefault(self._hash_wamid(message.platform_id), (delivery_id, message))
        if not unique:
            return 0, 0
        conversation_ids = self._ensure_conversations(
            {(people[m.customer_wa_id][0], m.business_number_id) for _, m in unique.values()},
            now,
        )
        rows = []
        for h, (delivery_id, m) in unique.items():
            contact_id, subject = people[m.customer_wa_id]
            outbound = m.direction is Direction.OUTBOUND
            rows.append(
                {
                    "conversation_id": conversation_ids[(contact_id, m.business_number_id)],
                    "delivery_id": delivery_id,
                    "platform_id_hash": h,
                    "platform_id": self.personal.seal_bytes(subject, m.platform_id.encode()),
                    "direction": m.direction.value,
                    "type": m.type[:32],
                    "sent_at": m.sent_at,
                    "received_at": now,
                    "text": self.personal.seal_text(subject, m.text),
                    "raw": self.personal.seal_bytes(subject, m.raw),
                    "context_hash": self._hash_wamid(m.context_id) if m.context_id else None,
                    "related_hash": self._hash_wamid(m.related_id) if m.related_id else None,
                    "state": DeliveryState.SENT.value if outbound else None,
                    "state_at": m.sent_at if outbound else None,
                    "error_code": m.errors[0].code if m.errors else None,
                    "error_title": m.errors[0].title if m.errors else None,
                    "media_id": m.media.media_id if m.media else None,
                    "media_mime_type": m.media.mime_type[:128] if m.media else None,
                    "media_sha256": m.media.sha256[:128] if m.media else None,
                    "media_filename": (
                        self.personal.seal_text(subject, m.media.filename) if m.media else None
                    ),
                    "media_state": "pending" if m.media else None,
                    "media_next_attempt_at": now if m.media else None,
                }
            )
        stmt = insert_ignoring_duplicates(self.conn, t.messages, "platform_id_hash").returning(
            t.messages.c.platform_id_hash
        )
        inserted = {row.platform_id_hash for row in self.conn.execute(stmt, rows)}
        fresh = [unique[h][1] for h in inserted]
        self._update_conversations(fresh, people, conversation_ids)
        self._mark_edits_and_revokes(fresh)
        self._apply_stored_statuses([h for h in inserted if unique[h][1].direction == "outbound"])
        return len(inserted), total - len(inserted)

    def _update_conversations(
        self,
        fresh: list[Message],
        people: dict[str, tuple[int, str]],
        conversation_ids: dict[tuple[int, str], int],
    ) -> None:
        stats: dict[int, dict] = defaultdict(
            lambda: {"n": 0, "unread": 0, "last": None, "inb": None}
        )
        for m in fresh:
            cid = conversation_ids[(people[m.customer_wa_id][0], m.business_number_id)]
            s = stats[cid]
            s["n"] += 1
            s["last"] = max(s["last"] or m.sent_at, m.sent_at)
            if m.direction is Direction.INBOUND and m.type not in ("reaction", "edit", "revoke"):
                s["unread"] += 1
            if m.direction is Direction.INBOUND:
                s["inb"] = max(s["inb"] or m.sent_at, m.sent_at)
        c = t.conversations.c
        last = bindparam("last", type_=t.Moment)
        inb = bindparam("inb", type_=t.Moment)
        stmt = (
            update(t.conversations)
            .where(c.id == bindparam("cid"))
            .values(
                message_count=c.message_count + bindparam("n"),
                unread_count=c.unread_count + bindparam("unread"),
                last_message_at=case(
                    (or_(c.message_count == 0, c.last_message_at < last), last),
                    else_=c.last_message_at,
                ),
                last_inbound_at=case(
                    (
                        and_(
                            inb.is_not(None),
                            or_(c.last_inbound_at.is_(None), c.last_inbound_at < inb),
                        ),
                        inb,
                    ),
                    else_=c.last_inbound_at,
                ),
                status=case((bindparam("unread") > 0, "open"), else_=c.status),
            )
        )
        params = [{"cid": cid, **s} for cid, s in stats.items()]
        if params:
            self.conn.execute(stmt, params)

    def _mark_edits_and_revokes(self, fresh: list[Message]) -> None:
        for kind, column in (("edit", "edited_at"), ("revoke", "revoked_at")):
            params = [
                {"target": self._hash_wamid(m.related_id), "at": m.sent_at}
                for m in fresh
                if m.type == kind and m.related_id
            ]
            if params:
                stmt = (
                    update(t.messages)
                    .where(t.messages.c.platform_id_hash == bindparam("target"))
                    .values({column: bindparam("at")})
                )
                self.conn.execute(stmt, params)

    def _add_statuses(
        self, batches: Sequence[tuple[int, WebhookBatch]], now: datetime
    ) -> tuple[int, int]:
        unique: dict[tuple[str, str], dict] = {}
        total = 0
        for delivery_id, batch in batches:
            for s in batch.statuses:
                total += 1
                key = (self._hash_wamid(s.platform_id), s.status.lower()[:32])
                unique.setdefault(
                    key,
                    {
                        "platform_id_hash": key[0],
                        "status": key[1],
                        "at": s.at,
                        "received_at": now,
                        "delivery_id": delivery_id,
                        "error_code": s.errors[0].code if s.errors else None,
                        "raw": self.personal.seal_bytes(SYSTEM_SUBJECT, s.raw),
                        "_title": s.errors[0].title if s.errors else None,
                    },
                )
        if not unique:
            return 0, 0
        stmt = insert_ignoring_duplicates(
            self.conn, t.statuses, "platform_id_hash", "status"
        ).returning(t.statuses.c.platform_id_hash)
        rows = [{k: v for k, v in row.items() if not k.startswith("_")} for row in unique.values()]
        inserted = [row.platform_id_hash for row in self.conn.execute(stmt, rows)]
        self._apply_stored_statuses(sorted(set(inserted)))
        return len(inserted), total - len(inserted)

    def _apply_stored_statuses(self, hashes: list[str]) -> None:
        """Fold every stored status of these messages into their delivery state; statuses
        that arrived before their message are applied once it exists."""
        if not hashes:
            return
        m, s = t.messages.c, t.statuses.c
        current: dict[str, tuple[int, str | None]] = {}
        reports: dict[str, list] = defaultdict(list)
        for part in chunks(hashes):
            for row in self.conn.execute(
                select(m.id, m.platform_id_hash, m.state).where(m.platform_id_hash.in_(part))
            ):
                current[row.platform_id_hash] = (row.id, row.state)
            for row in self.conn.execute(
                select(s.platform_id_hash, s.status, s.at, s.error_code, s.raw).where(
                    s.platform_id_hash.in_([h for h in part if h in current])
                )
            ):
                reports[row.platform_id_hash].append(row)
        changes = []
        for h, (message_id, stored) in current.items():
            state = DeliveryState(stored) if stored else None
            at = error_code = None
            for report in sorted(reports[h], key=lambda r: r.at):
                reported = parse_state(report.status)
                if reported is None:
                    continue
                moved = advance(state, reported)
                if moved is not None:
                    state, at = moved, report.at
                    error_code = report.error_code
            if at is not None and state is not None:
                changes.append(
                    {"mid": message_id, "state": state.value, "at": at, "code": error_code}
                )
        if changes:
            code = bindparam("code", type_=Integer)
            stmt = (
                update(t.messages)
                .where(m.id == bindparam("mid"))
                .values(
                    state=bindparam("state"),
                    state_at=bindparam("at"),
                    error_code=case((code.is_not(None), code), else_=m.error_code),
                )
            )
            self.conn.execute(stmt, changes)

    def _add_events(
        self,
        batches: Sequence[tuple[int, WebhookBatch]],
        people: dict[str, tuple[int, str]],
        now: datetime,
    ) -> tuple[int, int]:
        rows: dict[str, dict] = {}
        total = 0
        for delivery_id, batch in batches:
            for e in batch.events:
                total += 1
                person = people.get(e.customer_wa_id)
                subject = person[1] if person else SYSTEM_SUBJECT
                rows.setdefault(
                    e.key,
                    {
                        "event_key": e.key,
                        "field": e.field[:64],
                        "kind": e.kind[:64],
                        "contact_id": person[0] if person else None,
                        "business_number_id": e.business_number_id[:64],
                        "at": e.at,
                        "received_at": now,
                        "delivery_id": delivery_id,
                        "raw": self.personal.seal_bytes(subject, e.raw),
                    },
                )
        if not rows:
            return 0, 0
        stmt = insert_ignoring_duplicates(self.conn, t.platform_events, "event_key").returning(
            t.platform_events.c.id
        )
        inserted = len(self.conn.execute(stmt, list(rows.values())).all())
        return inserted, total - inserted
