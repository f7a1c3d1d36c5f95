"""Writes what webhooks carried: deliveries, quarantine, contacts, conversations, messages,
statuses and platform events — many requests' worth in one transaction (group commit).

Duplicates are decided by unique keys in the database (message hash, status hash + status,
event key), so a redelivered webhook is stored once however it races (DESIGN invariant 1).

The statements on the ingest path are written as SQL that SQLite and PostgreSQL both accept and
sent as one driver call per table (``Statements``): SQLAlchemy's per-row parameter handling
cost several times what the database itself did per webhook (see docs/performance.md). Values
still pass through the columns' own type conversions, so what is stored is the same.
"""

from __future__ import annotations

import hashlib
import uuid
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Integer, bindparam, case, select, update

from chatproof.archive.log import EntryDraft
from chatproof.archive.pseudonyms import Pseudonymizer
from chatproof.domain.delivery import DeliveryState, advance, parse_state
from chatproof.domain.messages import (
    Direction,
    Message,
    PlatformEvent,
    StatusUpdate,
    WebhookBatch,
)
from chatproof.store import tables as t
from chatproof.store._sql import Statements, chunks
from chatproof.store.personal import SYSTEM_SUBJECT, PersonalContent


@dataclass(frozen=True)
class SaveCounts:
    messages: int = 0
    duplicate_messages: int = 0
    statuses: int = 0
    duplicate_statuses: int = 0
    events: int = 0
    duplicate_events: int = 0
    entries: tuple[EntryDraft, ...] = ()
    """What was new, as log entries to append in the same transaction (invariant 2)."""


class WebhookRepository(ABC):
    """Contract: every method MUST write within the caller's transaction and MUST NOT commit."""

    @abstractmethod
    def quarantine(self, body: bytes, reason: str, path: str, received_at: datetime) -> EntryDraft:
        """Keep ``body`` verbatim; return the log entry that records it."""

    @abstractmethod
    def forget_derived(self, subject_id: str) -> None:
        """Drop values derived from a subject's content (before it is shredded)."""

    @abstractmethod
    def save(
        self, received: Sequence[tuple[bytes, WebhookBatch]], received_at: datetime
    ) -> SaveCounts:
        """Store each raw body verbatim and what was parsed from it."""


class SqlAlchemyWebhookRepository(WebhookRepository):
    def __init__(
        self, conn: Connection, personal: PersonalContent, pseudonyms: Pseudonymizer
    ) -> None:
        self.conn = conn
        self.personal = personal
        self.pseudonyms = pseudonyms
        self.sql = Statements(conn)

    def _add_deliveries(
        self, bodies: Sequence[tuple[bytes, str]], received_at: datetime
    ) -> list[int]:
        """Store each raw body verbatim, sealed under the subject it concerns; ids in order."""
        if not bodies:
            return []
        at = self.sql.moment(received_at)
        digests = [hashlib.sha256(body).hexdigest() for body, _ in bodies]
        rows = [
            (at, digest, self.personal.seal_bytes(subject, body, received_at))
            for digest, (body, subject) in zip(digests, bodies, strict=True)
        ]
        # Ids are matched back by body hash: neither backend promises RETURNING in VALUES
        # order. Equal bodies are the same delivery, so which gets which id does not matter.
        ids: dict[str, list[int]] = defaultdict(list)
        returned = self.sql.insert(
            t.webhook_deliveries,
            ("received_at", "body_sha256", "body"),
            rows,
            returning=("body_sha256", "id"),
        )
        for digest, delivery_id in sorted(returned, key=lambda r: r[1], reverse=True):
            ids[digest].append(delivery_id)
        return [ids[digest].pop() for digest in digests]

    def quarantine(self, body: bytes, reason: str, path: str, received_at: datetime) -> EntryDraft:
        sealed = self.personal.seal_bytes(SYSTEM_SUBJECT, body, received_at)
        stmt = t.quarantine.insert().values(
            received_at=received_at,
            reason=reason,
            path=path,
            body_sha256=hashlib.sha256(body).hexdigest(),
            body_size=len(body),
            body=sealed,
        )
        quarantine_id = self.conn.execute(stmt).inserted_primary_key[0]
        return self.personal.entry(
            "webhook.quarantined",
            SYSTEM_SUBJECT,
            received_at,
            content=sealed,
            quarantine=quarantine_id,
            reason=reason,
            path=path,
        )

    def forget_derived(self, subject_id: str) -> None:
        self.conn.execute(
            update(t.contacts).where(t.contacts.c.subject_id == subject_id).values(name_digest=None)
        )

    def save(
        self, received: Sequence[tuple[bytes, WebhookBatch]], received_at: datetime
    ) -> SaveCounts:
        people = self._ensure_contacts([b for _, b in received], received_at)
        self.personal.prepare(_sealing_times(received, people, received_at))
        ids = self._add_deliveries(
            [(body, _subject_of(batch, people)) for body, batch in received], received_at
        )
        batches = list(zip(ids, (batch for _, batch in received), strict=True))
        entries: list[EntryDraft] = []
        new_messages, dup_messages = self._add_messages(batches, people, received_at, entries)
        new_statuses, dup_statuses = self._add_statuses(batches, people, received_at, entries)
        new_events, dup_events = self._add_events(batches, people, received_at, entries)
        return SaveCounts(
            new_messages,
            dup_messages,
            new_statuses,
            dup_statuses,
            new_events,
            dup_events,
            tuple(entries),
        )

    def _hash_wamid(self, wamid: str) -> str:
        return self.pseudonyms.hash("wamid", wamid)

    def _ensure_contacts(
        self, batches: Sequence[WebhookBatch], now: datetime
    ) -> dict[str, tuple[int, str]]:
        """(contact id, subject id) per wa_id mentioned, creating contacts as needed."""
        profiles: dict[str, tuple[str, str]] = {}
        for batch in batches:
            for message in batch.messages:
                profiles.setdefault(message.customer_wa_id, ("", ""))
            for status in batch.statuses:
                if status.customer_wa_id:
                    profiles.setdefault(status.customer_wa_id, ("", ""))
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
        at = self.sql.moment(now)
        created: set[str] = set()
        if missing:
            rows = []
            subjects = {h: str(uuid.uuid4()) for h in missing}
            self.personal.prepare((subject, now) for subject in subjects.values())
            for h in missing:
                subject = subjects[h]
                name, user_id = profiles[by_hash[h]]
                sealed = self.personal.seal_fields(subject, [by_hash[h], name, user_id], now)
                rows.append((subject, h, *sealed, self._name_digest(subject, name), at, at))
            columns = ("subject_id", "wa_id_hash", "wa_id", "name", "user_id", "name_digest")
            columns += ("first_seen_at", "updated_at")
            self.sql.insert(t.contacts, columns, rows, conflict=("wa_id_hash",))
            created = set(missing)
            found.update(self._contacts_by_hash(missing))
        # Only a changed profile name is written, recognised by a keyed digest: rewriting (or
        # decrypting) every sender's name in every group cost more than the rest of ingest.
        # Erasure clears the digest: a customer who writes again after it gets the number
        # and profile sealed anew, so that the reply can be sent.
        renamed, resealed = [], []
        for h, wa_id in by_hash.items():
            name, user_id = profiles[wa_id]
            contact_id, subject, stored = found[h]
            digest = self._name_digest(subject, name)
            if not name or h in created or stored == digest:
                continue
            if stored is None:
                fields = self.personal.seal_fields(subject, [wa_id, name, user_id], now)
                resealed.append((*fields, digest, at, contact_id))
            else:
                sealed_name = self.personal.seal_text(subject, name, now)
                renamed.append((sealed_name, digest, at, contact_id))
        if renamed:
            self.sql.update_many(
                "UPDATE contacts SET name = ?, name_digest = ?, updated_at = ? WHERE id = ?",
                renamed,
            )
        if resealed:
            self.sql.update_many(
                "UPDATE contacts SET wa_id = ?, name = ?, user_id = ?, name_digest = ?,"
                " updated_at = ? WHERE id = ?",
                resealed,
            )
        return {wa_id: found[h][:2] for h, wa_id in by_hash.items()}

    def _name_digest(self, subject: str, name: str) -> str | None:
        return self.pseudonyms.hash("name", f"{subject}\x00{name}") if name else None

    def _contacts_by_hash(self, hashes: list[str]) -> dict[str, tuple[int, str, str | None]]:
        """(contact id, subject id, name digest) per wa_id hash found."""
        rows = self.sql.select_in(
            "SELECT wa_id_hash, id, subject_id, name_digest FROM contacts", "wa_id_hash", hashes
        )
        return {row[0]: (row[1], row[2], row[3]) for row in rows}

    def _ensure_conversations(
        self, keys: Iterable[tuple[int, str]], now: datetime
    ) -> dict[tuple[int, str], tuple[int, str | None]]:
        """(conversation id, retention class if reclassified) per (contact, business number),
        creating conversations as needed."""
        wanted = set(keys)
        found = self._conversations(wanted)
        missing = wanted - set(found)
        if missing:
            at = self.sql.moment(now)
            rows = [
                (contact_id, number_id, "open", at, at, 0, 0)
                for contact_id, number_id in sorted(missing)
            ]
            columns = ("contact_id", "business_number_id", "status", "created_at")
            columns += ("last_message_at", "message_count", "unread_count")
            self.sql.insert(
                t.conversations, columns, rows, conflict=("contact_id", "business_number_id")
            )
            found.update(self._conversations(missing))
        return found

    def _conversations(
        self, keys: set[tuple[int, str]]
    ) -> dict[tuple[int, str], tuple[int, str | None]]:
        """Looked up by contact alone (one index); most have one number."""
        rows = self.sql.select_in(
            "SELECT contact_id, business_number_id, id, retention_class FROM conversations",
            "contact_id",
            sorted({contact_id for contact_id, _ in keys}),
        )
        return {(row[0], row[1]): (row[2], row[3]) for row in rows if (row[0], row[1]) in keys}

    def _add_messages(
        self,
        batches: Sequence[tuple[int, WebhookBatch]],
        people: dict[str, tuple[int, str]],
        now: datetime,
        entries: list[EntryDraft],
    ) -> tuple[int, int]:
        unique: dict[str, tuple[int, Message]] = {}
        total = 0
        for delivery_id, batch in batches:
            for message in batch.messages:
                total += 1
                unique.setdefault(self._hash_wamid(message.platform_id), (delivery_id, message))
        if not unique:
            return 0, 0
        conversations = self._ensure_conversations(
            {(people[m.customer_wa_id][0], m.business_number_id) for _, m in unique.values()},
            now,
        )
        at = self.sql.moment(now)
        rows = []
        sealed_raw: dict[str, bytes] = {}
        classes: dict[str, str | None] = {}
        for h, (delivery_id, m) in unique.items():
            contact_id, subject = people[m.customer_wa_id]
            conversation_id, retention_class = conversations[(contact_id, m.business_number_id)]
            outbound = m.direction is Direction.OUTBOUND
            sent_at = self.sql.moment(m.sent_at)
            media = m.media
            wamid, text, raw, filename = self.personal.seal_fields(
                subject,
                [m.platform_id, m.text, m.raw, media.filename if media else None],
                m.sent_at,
                retention_class,
            )
            assert raw is not None
            sealed_raw[h] = raw
            classes[h] = retention_class
            rows.append(
                (
                    conversation_id,
                    delivery_id,
                    h,
                    wamid,
                    m.direction.value,
                    m.type[:32],
                    sent_at,
                    at,
                    text,
                    raw,
                    self._hash_wamid(m.context_id) if m.context_id else None,
                    self._hash_wamid(m.related_id) if m.related_id else None,
                    DeliveryState.SENT.value if outbound else None,
                    sent_at if outbound else None,
                    m.errors[0].code if m.errors else None,
                    m.errors[0].title if m.errors else None,
                    media.media_id if media else None,
                    media.mime_type[:128] if media else None,
                    media.sha256[:128] if media else None,
                    filename,
                    "pending" if media else None,
                    at if media else None,
                )
            )
        returned = self.sql.insert(
            t.messages,
            MESSAGE_COLUMNS,
            rows,
            conflict=("platform_id_hash",),
            returning=("platform_id_hash",),
        )
        inserted = {row[0] for row in returned}
        fresh = [unique[h][1] for h in inserted]
        for h in sorted(inserted, key=lambda k: unique[k][1].sent_at):
            m = unique[h][1]
            entries.append(
                self.personal.entry(
                    f"message.{m.direction.value}",
                    people[m.customer_wa_id][1],
                    m.sent_at,
                    platform_id_hash=h,
                    content=sealed_raw[h],
                    retention_class=classes[h],
                    type=m.type[:32],
                    media=m.media is not None or None,
                )
            )
        self._update_conversations(fresh, people, conversations)
        self._mark_edits_and_revokes(fresh)
        self._apply_stored_statuses([h for h in inserted if unique[h][1].direction == "outbound"])
        return len(inserted), total - len(inserted)

    def _update_conversations(
        self,
        fresh: list[Message],
        people: dict[str, tuple[int, str]],
        conversations: dict[tuple[int, str], tuple[int, str | None]],
    ) -> None:
        stats: dict[int, dict] = defaultdict(
            lambda: {"n": 0, "unread": 0, "last": None, "inb": None}
        )
        for m in fresh:
            cid = conversations[(people[m.customer_wa_id][0], m.business_number_id)][0]
            s = stats[cid]
            s["n"] += 1
            s["last"] = max(s["last"] or m.sent_at, m.sent_at)
            if m.direction is Direction.INBOUND and m.type not in ("reaction", "edit", "revoke"):
                s["unread"] += 1
            if m.direction is Direction.INBOUND:
                s["inb"] = max(s["inb"] or m.sent_at, m.sent_at)
        moment = self.sql.moment
        params = []
        for cid, s in stats.items():
            last, inb = moment(s["last"]), moment(s["inb"])
            unread = s["unread"]
            params.append((s["n"], unread, unread, last, last, inb, inb, unread, cid))
        if params:
            # Every SET expression sees the row as it was, so the increments and maxima stay
            # right when another writer (PostgreSQL) touched the conversation meanwhile. An
            # inbound time of NULL leaves last_inbound_at as it is.
            self.sql.update_many(
                "UPDATE conversations SET"
                " message_count = message_count + ?,"
                " unread_count = unread_count + ?,"
                " inbound_count = inbound_count + ?,"
                " last_message_at = CASE WHEN message_count = 0 OR last_message_at < ?"
                " THEN ? ELSE last_message_at END,"
                " last_inbound_at = CASE WHEN last_inbound_at IS NULL OR last_inbound_at < ?"
                " THEN COALESCE(?, last_inbound_at) ELSE last_inbound_at END,"
                " status = CASE WHEN ? > 0 THEN 'open' ELSE status END"
                " WHERE id = ?",
                params,
            )

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
        self,
        batches: Sequence[tuple[int, WebhookBatch]],
        people: dict[str, tuple[int, str]],
        now: datetime,
        entries: list[EntryDraft],
    ) -> tuple[int, int]:
        unique: dict[tuple[str, str], tuple] = {}
        about: dict[tuple[str, str], tuple[str, StatusUpdate]] = {}
        total = 0
        at = self.sql.moment(now)
        for delivery_id, batch in batches:
            for s in batch.statuses:
                total += 1
                key = (self._hash_wamid(s.platform_id), s.status.lower()[:32])
                if key not in unique:
                    person = people.get(s.customer_wa_id)
                    subject = person[1] if person else SYSTEM_SUBJECT
                    raw = self.personal.seal_bytes(subject, s.raw, s.at)
                    about[key] = (subject, s)
                    unique[key] = (
                        *key,
                        self.sql.moment(s.at),
                        at,
                        delivery_id,
                        s.errors[0].code if s.errors else None,
                        raw,
                    )
        if not unique:
            return 0, 0
        columns = ("platform_id_hash", "status", "at", "received_at", "delivery_id")
        returned = self.sql.insert(
            t.statuses,
            (*columns, "error_code", "raw"),
            list(unique.values()),
            conflict=("platform_id_hash", "status"),
            returning=("platform_id_hash",),
        )
        inserted = [row[0] for row in returned]
        self._apply_stored_statuses(sorted(set(inserted)))
        for key in sorted(
            (k for k in unique if k[0] in set(inserted)), key=lambda k: about[k][1].at
        ):
            subject, status = about[key]
            entries.append(
                self.personal.entry(
                    f"status.{key[1]}",
                    subject,
                    status.at,
                    platform_id_hash=key[0],
                    content=unique[key][-1],
                    error_code=status.errors[0].code if status.errors else None,
                )
            )
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
        entries: list[EntryDraft],
    ) -> tuple[int, int]:
        rows: dict[str, tuple] = {}
        about: dict[str, tuple[str, PlatformEvent]] = {}
        total = 0
        at = self.sql.moment(now)
        for delivery_id, batch in batches:
            for e in batch.events:
                total += 1
                person = people.get(e.customer_wa_id)
                subject = person[1] if person else SYSTEM_SUBJECT
                if e.key not in rows:
                    about[e.key] = (subject, e)
                    rows[e.key] = (
                        e.key,
                        e.field[:64],
                        e.kind[:64],
                        person[0] if person else None,
                        e.business_number_id[:64],
                        self.sql.moment(e.at),
                        at,
                        delivery_id,
                        self.personal.seal_bytes(subject, e.raw, e.at or now),
                    )
        if not rows:
            return 0, 0
        columns = ("event_key", "field", "kind", "contact_id", "business_number_id", "at")
        returned = self.sql.insert(
            t.platform_events,
            (*columns, "received_at", "delivery_id", "raw"),
            list(rows.values()),
            conflict=("event_key",),
            returning=("event_key",),
        )
        for (key,) in returned:
            subject, event = about[key]
            entries.append(
                self.personal.entry(
                    f"event.{event.field}",
                    subject,
                    event.at or now,
                    content=rows[key][-1],
                    event=event.kind[:64],
                )
            )
        return len(returned), total - len(returned)


MESSAGE_COLUMNS = (
    "conversation_id",
    "delivery_id",
    "platform_id_hash",
    "platform_id",
    "direction",
    "type",
    "sent_at",
    "received_at",
    "text",
    "raw",
    "context_hash",
    "related_hash",
    "state",
    "state_at",
    "error_code",
    "error_title",
    "media_id",
    "media_mime_type",
    "media_sha256",
    "media_filename",
    "media_state",
    "media_next_attempt_at",
)


def _sealing_times(
    received: Sequence[tuple[bytes, WebhookBatch]],
    people: dict[str, tuple[int, str]],
    now: datetime,
) -> Iterator[tuple[str, datetime]]:
    """(subject, time) of everything ``save`` is about to seal, so buckets are read at once."""
    for _, batch in received:
        yield _subject_of(batch, people), now
        for m in batch.messages:
            yield people[m.customer_wa_id][1], m.sent_at
        for s in batch.statuses:
            person = people.get(s.customer_wa_id)
            yield (person[1] if person else SYSTEM_SUBJECT), s.at
        for e in batch.events:
            person = people.get(e.customer_wa_id)
            yield (person[1] if person else SYSTEM_SUBJECT), e.at or now


def _subject_of(batch: WebhookBatch, people: dict[str, tuple[int, str]]) -> str:
    """The one data subject a webhook body is about, or the system subject when it concerns
    several people or none (the platform rarely batches customers)."""
    customers = {m.customer_wa_id for m in batch.messages} | {
        s.customer_wa_id for s in batch.statuses if s.customer_wa_id
    }
    customers |= {e.customer_wa_id for e in batch.events if e.customer_wa_id}
    if len(customers) == 1:
        (customer,) = customers
        if customer in people:
            return people[customer][1]
    return SYSTEM_SUBJECT
