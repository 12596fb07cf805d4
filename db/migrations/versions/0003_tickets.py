"""Change-request tickets (Jira or the local tracker) and the events delivered to them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("request_id", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("tracker", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("system_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("summary", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("url", sa.String(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("request_id"),
        sa.UniqueConstraint("key", name="uq_tickets_key"),
        sa.UniqueConstraint("tracker", "number", name="uq_tickets_tracker_number"),
    )
    op.create_index("ix_tickets_system_id", "tickets", ["system_id"])
    op.create_index("ix_tickets_status", "tickets", ["status"])
    op.create_table(
        "ticket_events",
        sa.Column("request_id", sa.String(), nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("request_id", "event"),
    )


def downgrade() -> None:
    op.drop_table("ticket_events")
    op.drop_index("ix_tickets_status", table_name="tickets")
    op.drop_index("ix_tickets_system_id", table_name="tickets")
    op.drop_table("tickets")
