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

from chatproof.archive.log import LogRepository, StoredEntry
from chatproof.archive.tree_head import SignedTreeHead, TreeHead
from chatproof.archive.verify import WitnessedRoot
from chatproof.archive.witness import WitnessReceipt
from chatproof.store import tables as t
from chatproof.store._sql import MomentBinder, driver_sql
from chatproof.store.errors import StoreError

_STATE_ID = 1
_SQL = {
    "node": "SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?",
    "nodes": "INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)",
    "entries": "INSERT INTO log_entries (idx, leaf, kind, subject_id, platform_id_hash, "
    "appended_at) VALUES (?, ?, ?, ?, ?, ?)",
    "recorded_leaves": "SELECT e.idx, e.leaf, n.hash FROM log_entries AS e"
    " LEFT OUTER JOIN merkle_nodes AS n ON n.level = 0 AND n.idx = e.idx"
    " WHERE e.idx > ? ORDER BY e.idx LIMIT ?",
}


class SqlAlchemyLogRepository(LogRepository):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        # Complete subtrees never change: a node read once in this transaction stays valid.
        self._nodes: dict[tuple[int, int], bytes] = {}
        self._sql = {name: driver_sql(conn, text) for name, text in _SQL.items()}
        self._moment = MomentBinder(conn)

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
        found = self.conn.exec_driver_sql(self._sql["node"], (level, index)).scalar()
        if found is None:
            raise StoreError(f"merkle node ({level}, {index}) is missing")
        value = self._nodes[level, index] = bytes(found)
        return value

    def add_entries(self, entries: Sequence[StoredEntry], at: datetime) -> None:
        if not entries:
            return
        appended_at = self._moment(at)
        self.conn.exec_driver_sql(
            self._sql["entries"],
            [
                (e.index, e.leaf, e.kind, e.subject_id, e.platform_id_hash, appended_at)
                for e in entries
            ],
        )

    def add_nodes(self, nodes: Sequence[tuple[int, int, bytes]]) -> None:
        if nodes:
            self.conn.exec_driver_sql(self._sql["nodes"], list(nodes))

    def entry(self, index: int) -> StoredEntry | None:
        e = t.log_entries.c
        row = self.conn.execute(select(t.log_entries).where(e.idx == index)).first()
        if row is None:
            return None
        return StoredEntry(row.idx, bytes(row.leaf), row.kind, row.subject_id, row.platform_id_hash)

    def find_by_platform_id(self, platform_id_hash: str) -> list[int]:
        e = t.log_entries.c
        query = select(e.idx).where(e.platform_id_hash == platform_id_hash).order_by(e.idx)
        return list(self.conn.execute(query).scalars())

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

    def iter_recorded_leaves(
        self, batch: int = 10_000
    ) -> Iterator[tuple[int, bytes, bytes | None]]:
        after = -1
        while True:
            rows = self.conn.exec_driver_sql(self._sql["recorded_leaves"], (after, batch)).all()
            if not rows:
                return
            for idx, leaf, recorded in rows:
                yield idx, bytes(leaf), bytes(recorded) if recorded is not None else None
            after = rows[-1][0]

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
