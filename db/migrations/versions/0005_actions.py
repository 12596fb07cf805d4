"""The action ledger (hash-chained per system) and its findings.

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "actions",
        sa.Column("id", AUTO_ID, nullable=False),
        sa.Column("chain_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("record_key", sa.String(), nullable=False),
        sa.Column("at", sa.String(), nullable=False),
        sa.Column("environment", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("tool", sa.String(), nullable=True),
        sa.Column("target", sa.String(), nullable=True),
        sa.Column("credential_id", sa.String(), nullable=True),
        sa.Column("approved_by", sa.String(), nullable=True),
        sa.Column("trace_id", sa.String(), nullable=False),
        sa.Column("content_digest", sa.String(), nullable=True),
        sa.Column("content_length", sa.Integer(), nullable=True),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chain_id", "seq", name="uq_actions_chain_seq"),
        sa.UniqueConstraint("record_key", name="uq_actions_record_key"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_actions_credential_at", "actions", ["credential_id", "at"])
    op.create_index("ix_actions_chain_at", "actions", ["chain_id", "at"])
    op.create_index("ix_actions_trace", "actions", ["trace_id"])
    op.create_table(
        "action_findings",
        sa.Column("id", AUTO_ID, nullable=False),
        sa.Column("system_id", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("nhi", sa.String(), nullable=True),
        sa.Column("record_key", sa.String(), nullable=False),
        sa.Column("trace_id", sa.String(), nullable=False),
        sa.Column("credential_id", sa.String(), nullable=True),
        sa.Column("at", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("record_key", "code", name="uq_action_findings_record_code"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_action_findings_system_code", "action_findings", ["system_id", "code"])


def downgrade() -> None:
    op.drop_index("ix_action_findings_system_code", table_name="action_findings")
    op.drop_table("action_findings")
    op.drop_index("ix_actions_trace", table_name="actions")
    op.drop_index("ix_actions_chain_at", table_name="actions")
    op.drop_index("ix_actions_credential_at", table_name="actions")
    op.drop_table("actions")
