"""template review status: the settings page says pending, rejected or paused, not only "not
approved"

Templates synced before keep an empty status until the next sync fills it.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "message_templates",
        sa.Column("status", sa.String(length=32), server_default="", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("message_templates", "status")
