"""Composite indexes for the dashboard's estate view (filter column + id, and id + name).

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_systems_state_id": ["state", "id"],
    "ix_systems_risk_tier_id": ["risk_tier", "id"],
    "ix_systems_business_owner_id": ["business_owner", "id"],
    "ix_systems_technical_owner_id": ["technical_owner", "id"],
    "ix_systems_id_name": ["id", "name"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "systems", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="systems")
