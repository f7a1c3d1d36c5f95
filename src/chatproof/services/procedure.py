"""Keeping the procedure documentation as versions (GoBD Rz. 151 ff., § 147 (1) Nr. 1 AO):
whenever the generated text differs from the version in force, it becomes a new version that
applies from now, recorded with a log entry naming its hash, so the auditor sees which
procedure was in force on any date and that no version was changed afterwards (DESIGN
invariant 2)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from chatproof.archive.log import EntryDraft, append
from chatproof.archive.retention import start_year_for
from chatproof.domain.procedure_doc import procedure_documentation
from chatproof.domain.processing import SystemFacts, to_markdown
from chatproof.services.errors import ServiceError
from chatproof.store.database import WRITE
from chatproof.store.log import SqlAlchemyLogRepository
from chatproof.store.procedures import ProcedureVersion, SqlProcedureRepository

PROCEDURE_CLASS = "books_and_records"


class NoProcedureVersion(ServiceError):
    def __init__(self, at: datetime) -> None:
        super().__init__(
            f"no procedure documentation was in force on {at:%Y-%m-%d %H:%M} UTC "
            "(the first version is recorded by `chatproof procedure record` or an export)"
        )


def render(facts: SystemFacts) -> tuple[str, str]:
    """(Markdown text, its SHA-256) of the procedure documentation the facts describe."""
    text = to_markdown(procedure_documentation(facts))
    return text, hashlib.sha256(text.encode()).hexdigest()


def record_procedure(
    engine: Engine, facts: SystemFacts, actor: str, now: datetime, tz: ZoneInfo
) -> tuple[ProcedureVersion, bool]:
    """The version in force after this call, and whether it is new."""
    text, digest = render(facts)
    with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        repository = SqlProcedureRepository(conn)
        current = repository.in_force(now, facts.language)
        if current is not None and current.sha256 == digest:
            return current, False
        entry = EntryDraft(
            kind="procedure.version",
            at=now,
            retention_class=PROCEDURE_CLASS,
            start_year=start_year_for(now, tz),
            attributes={"sha256": digest, "language": facts.language, "actor": actor},
        )
        (index,) = append(SqlAlchemyLogRepository(conn), [entry], now)
        version_id = repository.add(now, actor, facts.language, digest, text, index)
    return ProcedureVersion(version_id, now, actor, facts.language, digest, text, index), True


def procedure_in_force(engine: Engine, at: datetime, language: str) -> ProcedureVersion:
    """Raises:
    NoProcedureVersion: nothing was recorded before ``at``.
    """
    with engine.connect() as conn:
        found = SqlProcedureRepository(conn).in_force(at, language)
    if found is None:
        raise NoProcedureVersion(at)
    return found


def procedure_versions(engine: Engine, language: str | None = None) -> list[ProcedureVersion]:
    with engine.connect() as conn:
        return SqlProcedureRepository(conn).versions(language)


def versions_during(
    engine: Engine, start: datetime, end: datetime, language: str
) -> list[ProcedureVersion]:
    """The versions that applied at some moment of ``[start, end)``: the one in force at
    ``start`` and every later one before ``end``."""
    found = procedure_versions(engine, language)
    in_force_at_start = [v for v in found if v.valid_from <= start][-1:]
    return in_force_at_start + [v for v in found if start < v.valid_from < end]
