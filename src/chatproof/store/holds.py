"""Legal holds: while one is in place on a data subject, none of their buckets may be
shredded, neither by erasure nor by the retention job (DESIGN invariant 4)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Row, insert, select, update

from chatproof.store import tables as t
from chatproof.store.errors import NotFound


@dataclass(frozen=True, slots=True)
class LegalHold:
    id: int
    subject_id: str
    reason: str
    placed_by: str
    placed_at: datetime
    lifted_by: str | None
    lifted_at: datetime | None


class HoldRepository(ABC):
    @abstractmethod
    def place(self, subject_id: str, reason: str, by: str, at: datetime) -> int: ...

    @abstractmethod
    def lift(self, hold_id: int, by: str, at: datetime) -> LegalHold:
        """Raises NotFound unless the hold exists and is in place."""

    @abstractmethod
    def held_subjects(self) -> set[str]: ...

    @abstractmethod
    def list(self, *, include_lifted: bool = False) -> list[LegalHold]: ...


class SqlAlchemyHoldRepository(HoldRepository):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def place(self, subject_id: str, reason: str, by: str, at: datetime) -> int:
        result = self.conn.execute(
            insert(t.legal_holds).values(
                subject_id=subject_id, reason=reason, placed_by=by[:200], placed_at=at
            )
        )
        return result.inserted_primary_key[0]

    def lift(self, hold_id: int, by: str, at: datetime) -> LegalHold:
        h = t.legal_holds.c
        result = self.conn.execute(
            update(t.legal_holds)
            .where(h.id == hold_id, h.lifted_at.is_(None))
            .values(lifted_by=by[:200], lifted_at=at)
        )
        if result.rowcount == 0:
            raise NotFound("legal hold in place", hold_id)
        row = self.conn.execute(select(t.legal_holds).where(h.id == hold_id)).one()
        return _hold(row)

    def held_subjects(self) -> set[str]:
        h = t.legal_holds.c
        query = select(h.subject_id).where(h.lifted_at.is_(None)).distinct()
        return set(self.conn.execute(query).scalars())

    def list(self, *, include_lifted: bool = False) -> list[LegalHold]:
        h = t.legal_holds.c
        query = select(t.legal_holds).order_by(h.id)
        if not include_lifted:
            query = query.where(h.lifted_at.is_(None))
        return [_hold(row) for row in self.conn.execute(query)]


def _hold(row: Row) -> LegalHold:
    return LegalHold(
        id=row.id,
        subject_id=row.subject_id,
        reason=row.reason,
        placed_by=row.placed_by,
        placed_at=row.placed_at,
        lifted_by=row.lifted_by,
        lifted_at=row.lifted_at,
    )
