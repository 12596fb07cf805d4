"""The estate's urgency order (each system's nearest deadline as an indexed sortable key) and
an indexed flag for the exceptions page (systems that ever had a waiver).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from domain.contracts import SystemView
from domain.deadlines import NO_DEADLINE, next_deadline, urgency_key

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_systems_urgency_id": [
        *("urgency", "id", "name", "overdue_since", "exception_expires_at"),
        *("business_owner", "technical_owner"),
    ],
    "ix_systems_state_urgency_id": ["state", "urgency", "id"],
    "ix_systems_risk_tier_urgency_id": ["risk_tier", "urgency", "id"],
    "ix_systems_has_exceptions_id": ["has_exceptions", "id"],
}


def upgrade() -> None:
    with op.batch_alter_table("systems") as batch:
        batch.add_column(
            sa.Column(
                "urgency", sa.BigInteger(), nullable=False, server_default=str(NO_DEADLINE)
            )
        )
        batch.add_column(sa.Column("next_deadline", sa.String(), nullable=True))
        batch.add_column(
            sa.Column("has_exceptions", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    _backfill()
    for name, columns in INDEXES.items():
        op.create_index(name, "systems", columns)


def _backfill() -> None:
    """Key and flag every stored view by the same rules the projection writes with."""
    conn = op.get_bind()
    systems = sa.table(
        "systems",
        sa.column("id", sa.String()),
        sa.column("view_json", sa.Text()),
        sa.column("urgency", sa.BigInteger()),
        sa.column("next_deadline", sa.String()),
        sa.column("has_exceptions", sa.Boolean()),
    )
    rows = conn.execute(sa.select(systems.c.id, systems.c.view_json)).all()
    for system_id, text in rows:
        view = SystemView.model_validate_json(text)
        deadline = next_deadline(view)
        if deadline is None and not view.exceptions:
            continue
        conn.execute(
            systems.update()
            .where(systems.c.id == system_id)
            .values(
                urgency=urgency_key(deadline),
                next_deadline=deadline.what if deadline else None,
                has_exceptions=bool(view.exceptions),
            )
        )


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="systems")
    with op.batch_alter_table("systems") as batch:
        batch.drop_column("has_exceptions")
        batch.drop_column("next_deadline")
        batch.drop_column("urgency")
