"""log without secondary indexes: leaf hashes in their entries, messages know their entry

Each secondary index on the log cost a random page write per appended entry; the level-0
Merkle nodes doubled the rows written. Leaf hashes move into ``log_entries.leaf_hash``, the
log keeps no index but its order, and a message's entry is found through
``messages.log_index``. A log whose entries lack a recorded leaf hash is refused, not healed.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("log_index", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE messages SET log_index = (SELECT min(e.idx) FROM log_entries AS e"
        " WHERE e.platform_id_hash = messages.platform_id_hash AND e.kind LIKE 'message.%')"
    )
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite()
    else:
        _alter_in_place()


def _rebuild_sqlite() -> None:
    """SQLite cannot change a primary key in place: the tables are rebuilt, ``log_entries``
    keyed by its rowid, ``merkle_nodes`` without one."""
    op.create_table(
        "log_entries_new",
        sa.Column(
            "idx",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("leaf", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=True),
        sa.Column("platform_id_hash", sa.String(length=64), nullable=True),
        sa.Column("appended_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("idx", name="pk_log_entries"),
    )
    op.execute(
        "INSERT INTO log_entries_new SELECT e.idx, e.leaf, n.hash, e.kind, e.subject_id,"
        " e.platform_id_hash, e.appended_at FROM log_entries AS e"
        " JOIN merkle_nodes AS n ON n.level = 0 AND n.idx = e.idx ORDER BY e.idx"
    )
    _refuse_unrecorded_leaves(old="log_entries", new="log_entries_new")
    op.drop_table("log_entries")
    op.rename_table("log_entries_new", "log_entries")
    op.create_table(
        "merkle_nodes_new",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name="pk_merkle_nodes"),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO merkle_nodes_new SELECT level, idx, hash FROM merkle_nodes"
        " WHERE level > 0 ORDER BY level, idx"
    )
    op.drop_table("merkle_nodes")
    op.rename_table("merkle_nodes_new", "merkle_nodes")


def _alter_in_place() -> None:
    op.add_column("log_entries", sa.Column("leaf_hash", sa.LargeBinary(), nullable=True))
    op.execute(
        "UPDATE log_entries SET leaf_hash = n.hash FROM merkle_nodes AS n"
        " WHERE n.level = 0 AND n.idx = log_entries.idx"
    )
    _refuse_unrecorded_leaves()
    op.alter_column("log_entries", "leaf_hash", nullable=False)
    op.drop_index("ix_log_entries_subject_id", table_name="log_entries")
    op.drop_index("ix_log_entries_platform_id_hash", table_name="log_entries")
    op.execute("DELETE FROM merkle_nodes WHERE level = 0")


def _refuse_unrecorded_leaves(old: str = "", new: str = "") -> None:
    bind = op.get_bind()
    if old:
        count = "SELECT (SELECT count(*) FROM {}) - (SELECT count(*) FROM {})"
        missing = bind.execute(sa.text(count.format(old, new))).scalar()
    else:
        query = "SELECT count(*) FROM log_entries WHERE leaf_hash IS NULL"
        missing = bind.execute(sa.text(query)).scalar()
    if missing:
        raise RuntimeError(
            f"{missing} log entries have no recorded leaf hash; run `chatproof verify` on the "
            "previous version and restore from a backup before upgrading"
        )


def downgrade() -> None:
    op.execute(
        "INSERT INTO merkle_nodes (level, idx, hash) SELECT 0, idx, leaf_hash FROM log_entries"
    )
    with op.batch_alter_table("log_entries", schema=None) as batch_op:
        batch_op.drop_column("leaf_hash")
        batch_op.create_index(
            batch_op.f("ix_log_entries_platform_id_hash"), ["platform_id_hash"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_log_entries_subject_id"), ["subject_id"], unique=False)
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("log_index")
