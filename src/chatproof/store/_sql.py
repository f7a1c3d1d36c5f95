"""Dialect helpers shared by the repositories."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def insert_ignoring_duplicates(conn: Connection, table: Table, *index: str) -> Any:
    """``INSERT … ON CONFLICT (index) DO NOTHING`` for the connection's dialect: the database,
    not a read-then-write race, decides what is a duplicate (DESIGN invariant 1)."""
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing(index_elements=list(index))


def chunks(items: list[Any], size: int = 500) -> list[list[Any]]:
    """Split ``items`` so that ``IN (…)`` lists stay under every backend's parameter limit."""
    return [items[i : i + size] for i in range(0, len(items), size)]
