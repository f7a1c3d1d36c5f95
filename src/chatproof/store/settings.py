"""Operational settings kept in the database (business hours, holidays, automatic texts), and
the log entries that record their changes (issue 5; DESIGN invariant 2).

Values are JSON; JSON ``null`` means "what chatproof.toml says". Rows are never deleted and
each change raises the key's version by one, so the sum of all versions only grows: another
process compares it to tell cheaply whether anything changed.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from chatproof.store import tables as t


@dataclass(frozen=True, slots=True)
class StoredSetting:
    key: str
    value: Any
    """The stored value; None when the key was set back to the file's value."""
    version: int
    changed_by: str
    changed_at: datetime


class SettingsRepository(ABC):
    """Contract: ``put`` MUST only succeed for the version it was given, so two writers
    cannot both think they replaced the same version; ``revision`` MUST grow with every
    ``put``."""

    @abstractmethod
    def all(self) -> dict[str, StoredSetting]: ...

    @abstractmethod
    def get(self, key: str, *, for_update: bool = False) -> StoredSetting | None: ...

    @abstractmethod
    def put(self, key: str, value: Any, version: int, by: str, at: datetime) -> bool:
        """Store ``value`` as ``version`` (1 for a new key); False if the key's version was
        no longer ``version - 1``."""

    @abstractmethod
    def revision(self) -> int: ...

    @abstractmethod
    def recent_entries(self, kinds: Sequence[str], limit: int) -> list[tuple[int, bytes]]:
        """The newest log entries of ``kinds``, newest first, as (index, leaf)."""

    @abstractmethod
    def platform_events_after(self, position: int | None, field: str) -> tuple[int, int]:
        """The newest platform event's id, and how many events of ``field`` came after
        ``position`` (none asked for when ``position`` is None)."""


class SqlAlchemySettingsRepository(SettingsRepository):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def all(self) -> dict[str, StoredSetting]:
        rows = self.conn.execute(select(t.operational_settings))
        return {r.key: _setting(r) for r in rows}

    def get(self, key: str, *, for_update: bool = False) -> StoredSetting | None:
        s = t.operational_settings
        query = select(s).where(s.c.key == key)
        if for_update:
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        return _setting(row) if row is not None else None

    def put(self, key: str, value: Any, version: int, by: str, at: datetime) -> bool:
        s = t.operational_settings
        values = {
            "value": json.dumps(value, ensure_ascii=False),
            "version": version,
            "changed_by": by[:200],
            "changed_at": at,
        }
        if version == 1:
            # Two first saves of one key at once: the later insert fails on the primary key,
            # inside a savepoint, so the caller can report the conflict and roll back.
            try:
                with self.conn.begin_nested():
                    self.conn.execute(insert(s).values(key=key, **values))
            except IntegrityError:
                return False
            return True
        done = self.conn.execute(
            update(s).where(s.c.key == key, s.c.version == version - 1).values(**values)
        )
        return done.rowcount == 1

    def revision(self) -> int:
        found = self.conn.execute(select(func.sum(t.operational_settings.c.version))).scalar()
        return int(found or 0)

    def recent_entries(self, kinds: Sequence[str], limit: int) -> list[tuple[int, bytes]]:
        e = t.log_entries.c
        query = (
            select(e.idx, e.leaf).where(e.kind.in_(list(kinds))).order_by(e.idx.desc()).limit(limit)
        )
        return [(r.idx, bytes(r.leaf)) for r in self.conn.execute(query)]

    def platform_events_after(self, position: int | None, field: str) -> tuple[int, int]:
        e = t.platform_events.c
        latest = int(self.conn.execute(select(func.max(e.id))).scalar() or 0)
        if position is None or latest <= position:
            return latest, 0
        # Only the ids after ``position`` are looked at, through the primary key.
        count = select(func.count()).where(e.id > position, e.id <= latest, e.field == field)
        return latest, int(self.conn.execute(count).scalar() or 0)


def _setting(row: Any) -> StoredSetting:
    return StoredSetting(
        row.key, json.loads(row.value), int(row.version), row.changed_by, row.changed_at
    )
