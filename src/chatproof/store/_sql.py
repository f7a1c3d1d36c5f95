"""Dialect helpers shared by the repositories."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from itertools import chain
from typing import Any

from sqlalchemy import Connection, CursorResult, Dialect, Row, Table
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


def encode_cursor(at: datetime, conversation_id: int) -> str:
    """A page cursor for lists ordered by time and id: opaque to clients, checked on return."""
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{conversation_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """Raises ValueError for a cursor this server did not hand out."""
    try:
        at, _, conversation_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(at), int(conversation_id)
    except (ValueError, UnicodeDecodeError):
        raise ValueError(f"cursor {cursor!r} is not one this server handed out") from None


def driver_sql(conn: Connection, text: str) -> str:
    """SQL written with ``?`` marks, in the connection's driver's own parameter style: the hot
    paths send plain SQL to the driver and skip SQLAlchemy's per-row parameter handling."""
    return text if conn.dialect.paramstyle == "qmark" else text.replace("?", "%s")


class MomentBinder:
    """Binds datetimes as the ``Moment`` column type does, for SQL sent to the driver
    directly; a group's rows mostly share a handful of timestamps, so results are cached, up
    to ``MAX_CACHED`` of them (an import binds a new one per message, for as long as it runs)."""

    MAX_CACHED = 4096

    def __init__(self, dialect: Dialect) -> None:
        self._bind = Moment.dialect_impl(dialect).bind_processor(dialect)
        if dialect.name == "sqlite":
            self._bind = _sqlite_moment
        self._cache: dict[datetime, Any] = {}

    def __call__(self, value: datetime | None) -> Any:
        """Raises:
        StatementError: ``value`` is a naive datetime.
        """
        if value is None or self._bind is None:
            return value
        bound = self._cache.get(value)
        if bound is None:
            if len(self._cache) >= self.MAX_CACHED:
                self._cache.clear()
            try:
                bound = self._cache[value] = self._bind(value)
            except ValueError as exc:
                raise StatementError(str(exc), None, None, exc) from None
        return bound

    def whole_second(self, utc: datetime, iso: str) -> Any:
        """What ``self`` binds for ``utc``, a naive UTC time of whole seconds whose plain
        ``isoformat()`` is ``iso``: on SQLite that text rearranged, elsewhere uncached. An
        import binds a new time per message, which the cache only slows."""
        if self._bind is _sqlite_moment:
            return f"{iso[:10]} {iso[11:]}.000000"
        moment = utc.replace(tzinfo=UTC)
        return self._bind(moment) if self._bind else moment


def _sqlite_moment(value: datetime) -> str:
    """What ``Moment`` binds on SQLite (UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``; a test holds the
    two equal) in a fifth of the time: an import binds one per message."""
    if value.tzinfo is None:
        raise ValueError("naive datetime; chatproof stores only aware UTC times")
    utc = value.astimezone(UTC)
    text = utc.isoformat(" ")
    return text[:26] if utc.microsecond else f"{text[:19]}.000000"


MAX_PARAMETERS = 30_000
"""Bound values per statement, below SQLite's (32,766) and PostgreSQL's (65,535) limits."""


class Statements:
    """SQL that SQLite and PostgreSQL both accept, each statement one driver call with
    positional parameters (written ``?``; PostgreSQL's driver gets ``%s``).

    Where rows come by the thousand (an import's message rows, log entries, data keys), blobs
    are handed over as ``bytearray``: the sqlite3 module binds one as it is, but looks for an
    adapter for every ``bytes`` value (and every ``None``) first, which takes longer than the
    copy."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._mark = driver_sql(conn, "?")
        self._quote = conn.dialect.identifier_preparer.quote
        self.moment = MomentBinder(conn.dialect)

    def insert(
        self,
        table: Table,
        columns: Sequence[str],
        rows: Sequence[tuple],
        *,
        conflict: Sequence[str] = (),
        returning: Sequence[str] = (),
    ) -> list[Row]:
        """``INSERT … VALUES (…), (…) [ON CONFLICT (…) DO NOTHING] [RETURNING …]``: the
        database, not a read-then-write race, decides what is a duplicate."""
        found: list[Row] = []
        for result in self._insert(table, columns, rows, conflict, returning):
            if returning:
                found.extend(result.all())
        return found

    def insert_counted(
        self,
        table: Table,
        columns: Sequence[str],
        rows: Sequence[tuple],
        *,
        conflict: Sequence[str] = (),
    ) -> int:
        """``insert`` without ``RETURNING``, which costs SQLite a fifth more: how many rows
        were inserted."""
        return sum(result.rowcount for result in self._insert(table, columns, rows, conflict, ()))

    def _insert(
        self,
        table: Table,
        columns: Sequence[str],
        rows: Sequence[tuple],
        conflict: Sequence[str],
        returning: Sequence[str],
    ) -> Iterator[CursorResult[Any]]:
        quote = self._quote
        head = f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, columns))}) VALUES "
        tail = ""
        if conflict:
            tail += f" ON CONFLICT ({', '.join(map(quote, conflict))}) DO NOTHING"
        if returning:
            tail += f" RETURNING {', '.join(map(quote, returning))}"
        one = "(" + ", ".join([self._mark] * len(columns)) + ")"
        for part in chunks(list(rows), max(1, MAX_PARAMETERS // len(columns))):
            text = head + ", ".join([one] * len(part)) + tail
            yield self.conn.exec_driver_sql(text, tuple(chain.from_iterable(part)))

    def select_in(self, query: str, column: str, values: Sequence[Any]) -> list[Row]:
        """Rows of ``query WHERE column IN (values)``."""
        found: list[Row] = []
        for part in chunks(list(values)):
            marks = ", ".join([self._mark] * len(part))
            text = f"{query} WHERE {self._quote(column)} IN ({marks})"
            found.extend(self.conn.exec_driver_sql(text, tuple(part)).all())
        return found

    def update_many(self, text: str, rows: list[tuple]) -> None:
        """One statement (with ``?`` marks) executed for each parameter tuple."""
        self.conn.exec_driver_sql(driver_sql(self.conn, text), rows)
