"""Versions of the procedure documentation in SQL: only ever appended, each with the moment
from which it applied (GoBD Rz. 151 ff., § 147 (1) Nr. 1 AO; DESIGN invariant 3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select

from chatproof.store import tables as t


@dataclass(frozen=True)
class ProcedureVersion:
    id: int
    valid_from: datetime
    created_by: str
    language: str
    sha256: str
    text: str
    log_index: int | None


class SqlProcedureRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(
        self,
        valid_from: datetime,
        created_by: str,
        language: str,
        sha256: str,
        text: str,
        log_index: int | None,
    ) -> int:
        result = self.conn.execute(
            insert(t.procedure_versions).values(
                valid_from=valid_from,
                created_by=created_by[:200],
                language=language,
                sha256=sha256,
                text=text,
                log_index=log_index,
            )
        )
        return int(result.inserted_primary_key[0])

    def in_force(self, at: datetime, language: str) -> ProcedureVersion | None:
        """The newest version of ``language`` that applied from ``at`` or earlier."""
        p = t.procedure_versions.c
        query = (
            select(t.procedure_versions)
            .where(p.valid_from <= at, p.language == language)
            .order_by(p.valid_from.desc(), p.id.desc())
            .limit(1)
        )
        row = self.conn.execute(query).first()
        return _version(row) if row else None

    def versions(self, language: str | None = None) -> list[ProcedureVersion]:
        """Every version, oldest first."""
        p = t.procedure_versions.c
        query = select(t.procedure_versions).order_by(p.valid_from, p.id)
        if language:
            query = query.where(p.language == language)
        return [_version(row) for row in self.conn.execute(query)]


def _version(row: object) -> ProcedureVersion:
    return ProcedureVersion(
        id=row.id,  # type: ignore[attr-defined]
        valid_from=row.valid_from,  # type: ignore[attr-defined]
        created_by=row.created_by,  # type: ignore[attr-defined]
        language=row.language,  # type: ignore[attr-defined]
        sha256=row.sha256,  # type: ignore[attr-defined]
        text=row.text,  # type: ignore[attr-defined]
        log_index=row.log_index,  # type: ignore[attr-defined]
    )
