"""The quarantine as the admin sees it: signed bodies chatproof could not understand, kept
verbatim with the reason and the offending field until someone resolves them (invariant 6)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select, update

from chatproof.store import tables as t
from chatproof.store.errors import NotFound


@dataclass(frozen=True, slots=True)
class QuarantinedBody:
    id: int
    received_at: datetime
    reason: str
    path: str
    size: int
    body_sha256: str
    resolved_at: datetime | None
    resolved_by: str


class QuarantineRepository(ABC):
    @abstractmethod
    def list(self, *, include_resolved: bool, limit: int) -> list[QuarantinedBody]: ...

    @abstractmethod
    def unresolved_count(self) -> int: ...

    @abstractmethod
    def resolve(self, quarantine_id: int, by: str, at: datetime) -> None:
        """Raises NotFound."""


class SqlAlchemyQuarantineRepository(QuarantineRepository):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def list(self, *, include_resolved: bool, limit: int) -> list[QuarantinedBody]:
        q = t.quarantine.c
        query = select(
            q.id,
            q.received_at,
            q.reason,
            q.path,
            q.body_size.label("size"),
            q.body_sha256,
            q.resolved_at,
            q.resolved_by,
        ).order_by(q.id.desc())
        if not include_resolved:
            query = query.where(q.resolved_at.is_(None))
        return [
            QuarantinedBody(
                id=row.id,
                received_at=row.received_at,
                reason=row.reason,
                path=row.path,
                size=row.size,
                body_sha256=row.body_sha256,
                resolved_at=row.resolved_at,
                resolved_by=row.resolved_by or "",
            )
            for row in self.conn.execute(query.limit(limit))
        ]

    def unresolved_count(self) -> int:
        query = select(func.count()).where(t.quarantine.c.resolved_at.is_(None))
        return self.conn.execute(query).scalar_one()

    def resolve(self, quarantine_id: int, by: str, at: datetime) -> None:
        result = self.conn.execute(
            update(t.quarantine)
            .where(t.quarantine.c.id == quarantine_id, t.quarantine.c.resolved_at.is_(None))
            .values(resolved_at=at, resolved_by=by[:200])
        )
        if result.rowcount == 0:
            raise NotFound("unresolved quarantine entry", quarantine_id)
