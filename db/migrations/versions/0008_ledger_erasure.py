"""Audit entries chain a digest of their content, so one entry's content can be erased.

`content_digest` is the SHA-256 of the entry's stored detail; entries written from now on are
chained over it rather than over the detail itself. Entries written before this revision keep
NULL there and stay chained over their detail (they verify as before and cannot be erased).
`erased_at`, `erased_by` and `erase_reason` say when, by whom and why an entry's content was
erased; the erasure itself is a ledger entry of its own, which verification holds them to.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = (
    ("content_digest", sa.String()),
    ("erased_at", sa.String()),
    ("erased_by", sa.String()),
    ("erase_reason", sa.Text()),
)


def upgrade() -> None:
    for name, kind in COLUMNS:
        op.add_column("audit_entries", sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_entries") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
