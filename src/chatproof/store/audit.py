"""The tax auditor's audit period, per auditor account (GoBD Rz. 159: data access is limited
to the audit's scope)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, delete, insert, select

from chatproof.store import tables as t


@dataclass(frozen=True, slots=True)
class AuditScope:
    user_id: int
    period_from: date
    period_to: date
    set_by: str
    set_at: datetime

    def covers(self, day: date) -> bool:
        return self.period_from <= day <= self.period_to


class AuditRepository(ABC):
    @abstractmethod
    def set_scope(self, scope: AuditScope) -> None:
        """Replace the auditor's audit period."""

    @abstractmethod
    def scope(self, user_id: int) -> AuditScope | None: ...


class SqlAlchemyAuditRepository(AuditRepository):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def set_scope(self, scope: AuditScope) -> None:
        s = t.audit_scopes.c
        self.conn.execute(delete(t.audit_scopes).where(s.user_id == scope.user_id))
        self.conn.execute(
            insert(t.audit_scopes).values(
                user_id=scope.user_id,
                period_from=scope.period_from.isoformat(),
                period_to=scope.period_to.isoformat(),
                set_by=scope.set_by[:200],
                set_at=scope.set_at,
            )
        )

    def scope(self, user_id: int) -> AuditScope | None:
        s = t.audit_scopes.c
        row = self.conn.execute(select(t.audit_scopes).where(s.user_id == user_id)).first()
        if row is None:
            return None
        return AuditScope(
            row.user_id,
            date.fromisoformat(row.period_from),
            date.fromisoformat(row.period_to),
            row.set_by,
            row.set_at,
        )
