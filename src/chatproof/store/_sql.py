"""Dialect helpers shared by the repositories."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import StatementError

from chatproof.store.tables import Moment


def insert_ignoring_duplicates(conn: Connection, table: Table, *index: str) -> Any:
    """``INSERT … ON CONFLICT (index) DO NOTHING`` for the connection's dialect: the database,
    not a read-then-write race, decides what is a duplicate (DESIGN invariant 1)."""
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing(index_elements=list(index))


def chunks(items: list[Any], size: int = 500) -> list[list[Any]]:
    """Split ``items`` so that ``IN (…)`` lists stay under every backend's parameter limit."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def driver_sql(conn: Connection, text: str) -> str:
    """SQL written with ``?`` marks, in the connection's driver's own parameter style: the hot
    paths send plain SQL to the driver and skip SQLAlchemy's per-row parameter handling."""
    return text if conn.dialect.paramstyle == "qmark" else text.replace("?", "%s")


class MomentBinder:
    """Binds datetimes as the ``Moment`` column type does, for SQL sent to the driver
    directly; a group's rows mostly share a handful of timestamps, so results are cached."""

    def __init__(self, conn: Connection) -> None:
        dialect = conn.dialect
        self._bind = Moment.dialect_impl(dialect).bind_processor(dialect)
        self._cache: dict[datetime, Any] = {}

    def __call__(self, value: datetime | None) -> Any:
        """Raises:
        StatementError: ``value`` is a naive datetime.
        """
        if value is None or self._bind is None:
            return value
        bound = self._cache.get(value)
        if bound is None:
            try:
                bound = self._cache[value] = self._bind(value)
            except ValueError as exc:
                raise StatementError(str(exc), None, None, exc) from None
        return bound
