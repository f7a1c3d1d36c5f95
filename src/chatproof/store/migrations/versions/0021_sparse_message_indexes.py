"""sparse message indexes: only messages with media are in the media index; the unread
related-message index goes

Every message paid for an entry in ``ix_messages_related_hash``, which no query reads (a
reply's quoted message is found by its own platform id hash), and in the media index, which
only the media worker reads, for messages that have media. Ingest and imports write one and a
half fewer index entries per message.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

MEDIA_INDEX = "ix_messages_media_state_media_next_attempt_at"
HAS_MEDIA = sa.text("media_state IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_related_hash")
        batch_op.drop_index(MEDIA_INDEX)
        batch_op.create_index(
            MEDIA_INDEX,
            ["media_state", "media_next_attempt_at"],
            unique=False,
            sqlite_where=HAS_MEDIA,
            postgresql_where=HAS_MEDIA,
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(MEDIA_INDEX)
        batch_op.create_index(MEDIA_INDEX, ["media_state", "media_next_attempt_at"], unique=False)
        batch_op.create_index("ix_messages_related_hash", ["related_hash"], unique=False)
