"""API tokens expire, and an issue repeated with its Idempotency-Key finds the first token.

`expires_at` (null: never, admin tokens only by default) and `idempotency_key` (the SHA-256
of the issuing admin and the key; unique, so a retried issue never creates a second token).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
KEY_INDEX = "uq_api_tokens_idempotency_key"


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", TS, nullable=True))
        batch.add_column(sa.Column("idempotency_key", sa.String(), nullable=True))
        batch.create_unique_constraint(KEY_INDEX, ["idempotency_key"])


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_constraint(KEY_INDEX, type_="unique")
        batch.drop_column("idempotency_key")
        batch.drop_column("expires_at")
