"""The model each action record names (`actions.model`, nullable; hashed only when set).

Entries written before this revision have no model and keep their hashes: the action hash
covers `model` only when it is not NULL (`db/action_hash.py`).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("actions", sa.Column("model", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("actions") as batch:
        batch.drop_column("model")
