"""per-person read state: each person's unread counts instead of one for the whole team

``conversations.inbound_count`` counts the inbound messages that make a conversation unread
(not reactions, edits or revocations) and only grows; ``read_states`` holds how many of them a
person has seen. People who exist now keep what the team counter showed them: everything is
read up to now (``read_baselines``) except the messages the team had not yet read.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("inbound_count", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "read_states",
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("conversation_id", _ID, nullable=False),
        sa.Column("seen_inbound", sa.Integer(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_read_states_conversation_id_conversations"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_read_states_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "conversation_id", name=op.f("pk_read_states")),
    )
    op.create_table(
        "read_baselines",
        sa.Column("user_id", _ID, autoincrement=False, nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_read_baselines_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_read_baselines")),
    )
    _fill()


def _fill() -> None:
    """Count the inbound messages so far, and give everyone who exists the team's view."""
    conn = op.get_bind()
    conn.execute(
        sa.text(
            "UPDATE conversations SET inbound_count = (SELECT count(*) FROM messages m"
            " WHERE m.conversation_id = conversations.id AND m.direction = 'inbound'"
            " AND m.type NOT IN ('reaction', 'edit', 'revoke'))"
            " WHERE message_count > 0"
        )
    )
    now = datetime.now(UTC)
    since = now.replace(tzinfo=None) if conn.dialect.name == "sqlite" else now
    conn.execute(
        sa.text(
            "INSERT INTO read_baselines (user_id, since, message_id)"
            " SELECT id, :since, (SELECT coalesce(max(id), 0) FROM messages) FROM users"
        ),
        {"since": since},
    )
    conn.execute(
        sa.text(
            "INSERT INTO read_states (user_id, conversation_id, seen_inbound, seen_at)"
            " SELECT u.id, c.id, CASE WHEN c.inbound_count > c.unread_count"
            " THEN c.inbound_count - c.unread_count ELSE 0 END, :since"
            " FROM users u CROSS JOIN conversations c WHERE c.unread_count > 0"
        ),
        {"since": since},
    )


def downgrade() -> None:
    op.drop_table("read_baselines")
    op.drop_table("read_states")
    # A plain ALTER TABLE, not batch mode's copy of the table: SQLite cannot drop the table
    # the messages' foreign keys point at.
    op.drop_column("conversations", "inbound_count")
