"""The archive log in SQL: leaves, complete-subtree hashes and signed tree heads.

Appends lock the single ``log_state`` row for the rest of the transaction (PostgreSQL:
``SELECT … FOR UPDATE``; SQLite: the writer already holds the database lock), so entry
numbers stay dense across processes (DESIGN invariant 3).

The hot statements (adding leaves and nodes, reading a node, streaming leaves for the verifier)
are plain SQL that both backends accept, one driver call each with positional parameters:
SQLAlchemy's per-row parameter and result handling cost more than the database's own work (see
docs/performance.md, "Archive"). ``appended_at`` still goes through the ``Moment`` column type's
conversion, so what is stored is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from chatproof.archive.log import EntryRow, LogRepository, StoredEntry
from chatproof.archive.merkle import root_from_leaf_hashes
from chatproof.archive.tree_head import SignedTreeHead, TreeHead
from chatproof.archive.verify import WitnessedRoot
from chatproof.archive.witness import WitnessReceipt
from chatproof.store import tables as t
from chatproof.store._sql import Statements, driver_sql
from chatproof.store.errors import StoreError

_STATE_ID = 1

STORED_FROM_LEVEL = 4
"""Nodes of levels 1 to 3 are not stored but hashed again from at most eight leaf hashes when
a proof needs one: they are seven in eight of a log's nodes, a row per entry that every append
wrote and hardly anything read."""

_ENTRY_COLUMNS = (
    "idx",
    "leaf",
    "leaf_hash",
    "kind",
    "subject_id",
    "platform_id_hash",
    "appended_at",
)

_SQL = {
    "leaf_hash": "SELECT leaf_hash FROM log_entries WHERE idx = ?",
    "leaf_hashes": "SELECT leaf_hash FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx",
    "node": "SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?",
    "nodes": "INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)",
    "recorded_leaves": "SELECT idx, leaf, leaf_hash FROM log_entries"
    " WHERE idx > ? ORDER BY idx LIMIT ?",
    "message_entry": "SELECT log_index FROM messages"
    " WHERE platform_id_hash = ? AND log_index IS NOT NULL",
    "scan_platform_id": "SELECT idx FROM log_entries WHERE platform_id_hash = ?"
    " ORDER BY idx LIMIT 1",
}


class SqlAlchemyLogRepository(LogRepository):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        # Complete subtrees never change: a node read once in this transaction stays valid.
        self._nodes: dict[tuple[int, int], bytes] = {}
        self._sql = {name: driver_sql(conn, text) for name, text in _SQL.items()}
        self._statements = Statements(conn)

    def lock_size(self) -> int:
        query = select(t.log_state.c.size).where(t.log_state.c.id == _STATE_ID)
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        size = self.conn.execute(query).scalar()
        if size is None:
            self.conn.execute(insert(t.log_state).values(id=_STATE_ID, size=0))
            return 0
        return size

    def set_size(self, size: int) -> None:
        self.conn.execute(
            update(t.log_state).where(t.log_state.c.id == _STATE_ID).values(size=size)
        )

    def size(self) -> int:
        query = select(t.log_state.c.size).where(t.log_state.c.id == _STATE_ID)
        return self.conn.execute(query).scalar() or 0

    def node(self, level: int, index: int) -> bytes:
        cached = self._nodes.get((level, index))
        if cached is not None:
            return cached
        if level == 0:
            found = self.conn.exec_driver_sql(self._sql["leaf_hash"], (index,)).scalar()
        elif level < STORED_FROM_LEVEL:
            found = self._hash_from_leaves(level, index)
        else:
            found = self.conn.exec_driver_sql(self._sql["node"], (level, index)).scalar()
        if found is None:
            raise StoreError(f"merkle node ({level}, {index}) is missing")
        value = self._nodes[level, index] = bytes(found)
        return value

    def add_entries(self, entries: Sequence[EntryRow], at: datetime) -> None:
        if not entries:
            return
        appended_at = self._statements.moment(at)
        self._statements.insert(
            t.log_entries,
            _ENTRY_COLUMNS,
            [
                (
                    index,
                    bytearray(leaf),
                    bytearray(leaf_hash),
                    kind,
                    subject_id,
                    platform_id_hash,
                    appended_at,
                )
                for index, leaf, kind, subject_id, platform_id_hash, leaf_hash in entries
            ],
        )

    def _hash_from_leaves(self, level: int, index: int) -> bytes | None:
        start = index << level
        span = (start, start + (1 << level))
        found = self.conn.exec_driver_sql(self._sql["leaf_hashes"], span).scalars().all()
        if len(found) < 1 << level:
            return None
        return root_from_leaf_hashes(bytes(value) for value in found)[1]

    def add_nodes(self, nodes: Sequence[tuple[int, int, bytes]]) -> None:
        stored = [node for node in nodes if node[0] >= STORED_FROM_LEVEL]
        if stored:
            self.conn.exec_driver_sql(self._sql["nodes"], stored)

    def entry(self, index: int) -> StoredEntry | None:
        e = t.log_entries.c
        row = self.conn.execute(select(t.log_entries).where(e.idx == index)).first()
        if row is None:
            return None
        return StoredEntry(
            row.idx,
            bytes(row.leaf),
            row.kind,
            row.subject_id,
            row.platform_id_hash,
            bytes(row.leaf_hash),
        )

    def first_by_platform_id(self, platform_id_hash: str) -> int | None:
        """A stored message's entry through its row; anything else by reading the log, which
        is slow on a large log but spares every append an index write."""
        found = self.conn.exec_driver_sql(self._sql["message_entry"], (platform_id_hash,))
        index = found.scalar()
        if index is None:
            found = self.conn.exec_driver_sql(self._sql["scan_platform_id"], (platform_id_hash,))
            index = found.scalar()
        return index

    def iter_leaves(self, start: int = 0, batch: int = 10_000) -> Iterator[tuple[int, bytes]]:
        e = t.log_entries.c
        after = start - 1
        while True:
            rows = self.conn.execute(
                select(e.idx, e.leaf).where(e.idx > after).order_by(e.idx).limit(batch)
            ).all()
            if not rows:
                return
            for idx, leaf in rows:
                yield idx, bytes(leaf)
            after = rows[-1][0]

    def recorded_leaf_batches(
        self, batch: int = 10_000
    ) -> Iterator[Sequence[tuple[int, bytes, bytes]]]:
        # The driver's own cursor: wrapping each row for SQLAlchemy cost a fifth of verifying.
        cursor = self.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            after = -1
            while True:
                cursor.execute(self._sql["recorded_leaves"], (after, batch))
                rows = cursor.fetchall()
                if not rows:
                    return
                yield rows
                after = rows[-1][0]
        finally:
            cursor.close()

    def add_head(self, sth: SignedTreeHead) -> None:
        self.conn.execute(
            insert(t.tree_heads).values(
                tree_size=sth.head.tree_size,
                root_hash=sth.head.root_hash,
                timestamp_ms=sth.head.timestamp_ms,
                signature=sth.signature,
                public_key=sth.public_key,
            )
        )

    def add_receipt(self, receipt: WitnessReceipt) -> None:
        self.conn.execute(
            insert(t.witness_receipts).values(
                witness=receipt.witness[:200],
                kind=str(receipt.kind),
                tree_size=receipt.tree_size,
                root_hash=receipt.root_hash,
                received_at_ms=receipt.received_at_ms,
                evidence=receipt.evidence,
            )
        )

    def receipts(self) -> list[WitnessedRoot]:
        r = t.witness_receipts.c
        query = select(r.witness, r.tree_size, r.root_hash).order_by(r.tree_size, r.id)
        return [
            WitnessedRoot(row.witness, row.tree_size, bytes(row.root_hash))
            for row in self.conn.execute(query)
        ]

    def heads(self) -> list[SignedTreeHead]:
        query = select(t.tree_heads).order_by(t.tree_heads.c.tree_size)
        return [_head(row) for row in self.conn.execute(query)]

    def latest_head(self) -> SignedTreeHead | None:
        query = select(t.tree_heads).order_by(t.tree_heads.c.tree_size.desc()).limit(1)
        row = self.conn.execute(query).first()
        return _head(row) if row else None


def _head(row: object) -> SignedTreeHead:
    return SignedTreeHead(
        head=TreeHead(
            tree_size=row.tree_size,  # type: ignore[attr-defined]
            root_hash=bytes(row.root_hash),  # type: ignore[attr-defined]
            timestamp_ms=row.timestamp_ms,  # type: ignore[attr-defined]
        ),
        signature=bytes(row.signature),  # type: ignore[attr-defined]
        public_key=bytes(row.public_key),  # type: ignore[attr-defined]
    )
