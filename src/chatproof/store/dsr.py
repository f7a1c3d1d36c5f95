"""Data-subject requests and restrictions of processing, as rows (GDPR Art. 12-21).

The requests are the DPO's register; the restrictions decide who is hidden from agents and
never messaged (Art. 18). Both name the person only by pseudonymous subject id (DESIGN
invariant 3). Also the reads a report about one person needs that no other repository offers:
their log entries of given kinds and their access-log rows.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from chatproof.domain.access_report import MediaItem, MessageItem
from chatproof.domain.dsr import DataSubjectRequest, RequestKind
from chatproof.store import tables as t
from chatproof.store._sql import chunks
from chatproof.store.errors import NotFound
from chatproof.store.keys import SqlAlchemyKeyRepository
from chatproof.store.personal import PersonalContent


@dataclass(frozen=True, slots=True)
class Restriction:
    id: int
    subject_id: str
    reason: str
    request_id: int | None
    placed_by: str
    placed_at: datetime
    lifted_by: str | None = None
    lifted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoredMessage:
    item: MessageItem
    blob: str
    """The media blob's address, "" without one."""
    retention_class: str


@dataclass(frozen=True, slots=True)
class AccessRow:
    at: datetime
    actor: str
    action: str
    target: str


class DsrRepository(ABC):
    @abstractmethod
    def add(self, request: DataSubjectRequest) -> int: ...

    @abstractmethod
    def get(self, request_id: int) -> DataSubjectRequest:
        """Raises NotFound."""

    @abstractmethod
    def save(self, request: DataSubjectRequest) -> None:
        """Write back the deadline, extension and closing of an existing request."""

    @abstractmethod
    def list(self, *, open_only: bool, subject_id: str | None = None) -> list[DataSubjectRequest]:
        """Earliest deadline first."""

    @abstractmethod
    def restrict(
        self, subject_id: str, reason: str, by: str, at: datetime, request_id: int | None
    ) -> int: ...

    @abstractmethod
    def lift(self, restriction_id: int, by: str, at: datetime) -> Restriction:
        """Raises NotFound unless the restriction is in place."""

    @abstractmethod
    def restrictions(self, subject_id: str | None = None) -> list[Restriction]:
        """The restrictions in place, oldest first."""

    @abstractmethod
    def contacts_of(self, subject_ids: Sequence[str]) -> dict[str, int]:
        """The contact id of each of ``subject_ids`` that has a contact."""

    @abstractmethod
    def restricted_subjects(self) -> set[str]: ...

    @abstractmethod
    def is_restricted(self, subject_id: str) -> bool: ...

    @abstractmethod
    def contact_details(self, contact_id: int) -> tuple[bytes | None, datetime]:
        """The sealed profile name and the first contact. Raises NotFound."""

    @abstractmethod
    def conversations_of(self, contact_id: int) -> list[int]: ...

    @abstractmethod
    def messages_of(self, conversation_ids: Sequence[int], subject_id: str) -> list[StoredMessage]:
        """Every message of these conversations, opened, oldest first, with its media blob
        and retention class; media items carry no file path or hash yet."""

    @abstractmethod
    def entries_about(self, subject_id: str, kinds: Sequence[str]) -> list[tuple[int, bytes]]:
        """(index, leaf) of every log entry of ``kinds`` about ``subject_id``, in order."""

    @abstractmethod
    def accesses(self, targets: Sequence[str]) -> list[AccessRow]:
        """Access-log rows naming any of ``targets``, oldest first."""


class SqlAlchemyDsrRepository(DsrRepository):
    def __init__(
        self, conn: Connection, personal: PersonalContent, keys: SqlAlchemyKeyRepository
    ) -> None:
        self.conn = conn
        self.personal = personal
        self.keys = keys

    def add(self, request: DataSubjectRequest) -> int:
        values = _values(request)
        result = self.conn.execute(insert(t.data_subject_requests).values(**values))
        return result.inserted_primary_key[0]

    def get(self, request_id: int) -> DataSubjectRequest:
        r = t.data_subject_requests.c
        row = self.conn.execute(select(t.data_subject_requests).where(r.id == request_id)).first()
        if row is None:
            raise NotFound("data-subject request", request_id)
        return _request(row)

    def save(self, request: DataSubjectRequest) -> None:
        r = t.data_subject_requests.c
        self.conn.execute(
            update(t.data_subject_requests)
            .where(r.id == request.id)
            .values(
                due_on=request.due_on.isoformat(),
                extended_months=request.extended_months,
                extension_reason=request.extension_reason,
                closed_at=request.closed_at,
                outcome=request.outcome,
            )
        )

    def list(self, *, open_only: bool, subject_id: str | None = None) -> list[DataSubjectRequest]:
        r = t.data_subject_requests.c
        query = select(t.data_subject_requests).order_by(r.due_on, r.id)
        if open_only:
            query = query.where(r.closed_at.is_(None))
        if subject_id:
            query = query.where(r.subject_id == subject_id)
        return [_request(row) for row in self.conn.execute(query)]

    def restrict(
        self, subject_id: str, reason: str, by: str, at: datetime, request_id: int | None
    ) -> int:
        result = self.conn.execute(
            insert(t.restrictions).values(
                subject_id=subject_id,
                reason=reason,
                request_id=request_id,
                placed_by=by[:200],
                placed_at=at,
            )
        )
        return result.inserted_primary_key[0]

    def lift(self, restriction_id: int, by: str, at: datetime) -> Restriction:
        r = t.restrictions.c
        result = self.conn.execute(
            update(t.restrictions)
            .where(r.id == restriction_id, r.lifted_at.is_(None))
            .values(lifted_by=by[:200], lifted_at=at)
        )
        if result.rowcount == 0:
            raise NotFound("restriction in place", restriction_id)
        row = self.conn.execute(select(t.restrictions).where(r.id == restriction_id)).one()
        return _restriction(row)

    def restrictions(self, subject_id: str | None = None) -> list[Restriction]:
        r = t.restrictions.c
        query = select(t.restrictions).where(r.lifted_at.is_(None)).order_by(r.id)
        if subject_id:
            query = query.where(r.subject_id == subject_id)
        return [_restriction(row) for row in self.conn.execute(query)]

    def restricted_subjects(self) -> set[str]:
        r = t.restrictions.c
        query = select(r.subject_id).where(r.lifted_at.is_(None)).distinct()
        return set(self.conn.execute(query).scalars())

    def contacts_of(self, subject_ids: Sequence[str]) -> dict[str, int]:
        c = t.contacts.c
        found: dict[str, int] = {}
        for part in chunks(list(subject_ids)):
            query = select(c.subject_id, c.id).where(c.subject_id.in_(part))
            found.update((subject, int(contact)) for subject, contact in self.conn.execute(query))
        return found

    def is_restricted(self, subject_id: str) -> bool:
        r = t.restrictions.c
        query = select(r.id).where(r.subject_id == subject_id, r.lifted_at.is_(None)).limit(1)
        return self.conn.execute(query).first() is not None

    def contact_details(self, contact_id: int) -> tuple[bytes | None, datetime]:
        c = t.contacts.c
        row = self.conn.execute(select(c.name, c.first_seen_at).where(c.id == contact_id)).first()
        if row is None:
            raise NotFound("contact", contact_id)
        return (bytes(row.name) if row.name is not None else None), row.first_seen_at

    def conversations_of(self, contact_id: int) -> list[int]:
        c = t.conversations.c
        query = select(c.id).where(c.contact_id == contact_id).order_by(c.id)
        return list(self.conn.execute(query).scalars())

    def messages_of(self, conversation_ids: Sequence[int], subject_id: str) -> list[StoredMessage]:
        if not conversation_ids:
            return []
        m = t.messages.c
        query = (
            select(
                m.id,
                m.conversation_id,
                m.direction,
                m.type,
                m.sent_at,
                m.state,
                m.state_at,
                m.text,
                m.platform_id,
                m.media_id,
                m.media_mime_type,
                m.media_filename,
                m.media_blob,
            )
            .where(m.conversation_id.in_(list(conversation_ids)))
            .order_by(m.sent_at, m.id)
        )
        rows = list(self.conn.execute(query))
        found: list[StoredMessage] = []
        for part in chunks(rows, 2000):
            self.personal.prefetch(
                [v for r in part for v in (r.text, r.platform_id, r.media_filename) if v]
            )
            for r in part:
                text = self.personal.read_text(subject_id, r.text)
                media = None
                if r.media_id:
                    name = self.personal.read_text(subject_id, r.media_filename).text
                    media = MediaItem(r.media_mime_type or "", name, "", "")
                item = MessageItem(
                    conversation_id=r.conversation_id,
                    id=r.id,
                    direction=r.direction,
                    type=r.type,
                    sent_at=r.sent_at,
                    status=r.state or "",
                    status_at=r.state_at,
                    text=text.text,
                    erased=text.erased_at is not None,
                    media=media,
                )
                found.append(
                    StoredMessage(item, r.media_blob or "", self._class_of(r.text or r.platform_id))
                )
        return found

    def _class_of(self, sealed: bytes) -> str:
        bucket = self.keys.bucket_of_sealed(sealed)
        return bucket.retention_class if bucket else ""

    def entries_about(self, subject_id: str, kinds: Sequence[str]) -> list[tuple[int, bytes]]:
        e = t.log_entries.c
        query = (
            select(e.idx, e.leaf)
            .where(e.subject_id == subject_id, e.kind.in_(list(kinds)))
            .order_by(e.idx)
        )
        return [(row.idx, bytes(row.leaf)) for row in self.conn.execute(query)]

    def accesses(self, targets: Sequence[str]) -> list[AccessRow]:
        if not targets:
            return []
        a = t.access_log.c
        query = (
            select(a.at, a.actor, a.action, a.target)
            .where(or_(a.target.in_(list(targets))))
            .order_by(a.id)
        )
        return [AccessRow(r.at, r.actor, r.action, r.target) for r in self.conn.execute(query)]


def _values(request: DataSubjectRequest) -> dict[str, Any]:
    return {
        "kind": request.kind.value,
        "subject_id": request.subject_id,
        "contact_id": request.contact_id,
        "received_on": request.received_on.isoformat(),
        "identity_check": request.identity_check,
        "due_on": request.due_on.isoformat(),
        "extended_months": request.extended_months,
        "extension_reason": request.extension_reason,
        "recorded_by": request.recorded_by[:200],
        "recorded_at": request.recorded_at,
        "closed_at": request.closed_at,
        "outcome": request.outcome,
    }


def _request(row: Any) -> DataSubjectRequest:
    return DataSubjectRequest(
        id=row.id,
        kind=RequestKind(row.kind),
        subject_id=row.subject_id,
        contact_id=row.contact_id,
        received_on=date.fromisoformat(row.received_on),
        identity_check=row.identity_check,
        due_on=date.fromisoformat(row.due_on),
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
        extended_months=row.extended_months,
        extension_reason=row.extension_reason,
        closed_at=row.closed_at,
        outcome=row.outcome,
    )


def _restriction(row: Any) -> Restriction:
    return Restriction(
        id=row.id,
        subject_id=row.subject_id,
        reason=row.reason,
        request_id=row.request_id,
        placed_by=row.placed_by,
        placed_at=row.placed_at,
        lifted_by=row.lifted_by,
        lifted_at=row.lifted_at,
    )
