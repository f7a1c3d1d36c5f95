"""imported chat exports: provenance per import, and which messages each import added

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "conversation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.LargeBinary(), nullable=False),
        sa.Column("format", sa.String(length=64), nullable=False),
        sa.Column("confidence_pct", sa.SmallInteger(), nullable=False),
        sa.Column("importer_version", sa.String(length=32), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("imported_by", sa.String(length=200), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("messages_read", sa.Integer(), server_default="0", nullable=False),
        sa.Column("messages_added", sa.Integer(), server_default="0", nullable=False),
        sa.Column("bad_lines", sa.Integer(), server_default="0", nullable=False),
        sa.Column("media_stored", sa.Integer(), server_default="0", nullable=False),
        sa.Column("media_missing", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_imports_conversation_id_conversations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imports")),
    )
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_imports_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_imports_file_sha256"), ["file_sha256"], unique=False)

    op.create_table(
        "imported_messages",
        sa.Column(
            "message_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "import_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"], ["imports.id"], name=op.f("fk_imported_messages_import_id_imports")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_imported_messages_message_id_messages")
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_imported_messages")),
    )
    with op.batch_alter_table("imported_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_imported_messages_import_id"), ["import_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("imported_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_imported_messages_import_id"))

    op.drop_table("imported_messages")
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_imports_file_sha256"))
        batch_op.drop_index(batch_op.f("ix_imports_conversation_id"))

    op.drop_table("imports")
