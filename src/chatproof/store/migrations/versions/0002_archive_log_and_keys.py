"""archive log and keys

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bucket_keys",
        sa.Column("bucket_id", sa.String(length=32), nullable=False),
        sa.Column("generation", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("retention_class", sa.String(length=40), nullable=False),
        sa.Column("start_year", sa.SmallInteger(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("master_version", sa.Integer(), nullable=False),
        sa.Column("shredded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("shred_reason", sa.Text(), nullable=True),
        sa.Column("shredded_by", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "(wrapped_key IS NULL) = (shredded_at IS NOT NULL)",
            name=op.f("ck_bucket_keys_wrapped_or_shredded"),
        ),
        sa.PrimaryKeyConstraint("bucket_id", "generation", name=op.f("pk_bucket_keys")),
    )
    with op.batch_alter_table("bucket_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bucket_keys_retention_class_start_year"),
            ["retention_class", "start_year"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_bucket_keys_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "log_entries",
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("leaf", sa.LargeBinary(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=True),
        sa.Column("platform_id_hash", sa.String(length=64), nullable=True),
        sa.Column("appended_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_log_entries")),
    )
    with op.batch_alter_table("log_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_log_entries_platform_id_hash"), ["platform_id_hash"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_log_entries_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "log_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_state")),
    )
    op.create_table(
        "merkle_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_merkle_nodes")),
    )
    op.create_table(
        "tree_heads",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_tree_heads")),
    )
    op.create_table(
        "data_keys",
        sa.Column("key_id", sa.LargeBinary(length=16), nullable=False),
        sa.Column("bucket_id", sa.String(length=32), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bucket_id", "generation"],
            ["bucket_keys.bucket_id", "bucket_keys.generation"],
            name=op.f("fk_data_keys_bucket_id_bucket_keys"),
        ),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_data_keys")),
    )
    with op.batch_alter_table("data_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_data_keys_bucket_id_generation"),
            ["bucket_id", "generation"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("data_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_keys_bucket_id_generation"))

    op.drop_table("data_keys")
    op.drop_table("tree_heads")
    op.drop_table("merkle_nodes")
    op.drop_table("log_state")
    with op.batch_alter_table("log_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_log_entries_subject_id"))
        batch_op.drop_index(batch_op.f("ix_log_entries_platform_id_hash"))

    op.drop_table("log_entries")
    with op.batch_alter_table("bucket_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bucket_keys_subject_id"))
        batch_op.drop_index(batch_op.f("ix_bucket_keys_retention_class_start_year"))

    op.drop_table("bucket_keys")
