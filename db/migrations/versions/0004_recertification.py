"""Recertification and exception columns on the systems projection (filters and listing).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
COLUMNS = ("recertification_due_at", "overdue_since", "exception_expires_at")


def upgrade() -> None:
    with op.batch_alter_table("systems") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, TS, nullable=True))
    for name in COLUMNS:
        op.create_index(f"ix_systems_{name}", "systems", [name])


def downgrade() -> None:
    for name in COLUMNS:
        op.drop_index(f"ix_systems_{name}", table_name="systems")
    with op.batch_alter_table("systems") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
