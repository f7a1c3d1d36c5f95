"""outbox attachments: the sealed file's blob and, once uploaded, the platform's media id

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attachment_blob", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("media_id", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("media_id")
        batch_op.drop_column("attachment_blob")
