"""Index system_credentials by credential id: who else declares a credential, without a scan.

Every registration and scope-change event asks which live systems declare its credentials;
the primary key (system_id, credential_id) cannot answer that, so each ask read the whole table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

NAME = "ix_system_credentials_credential_id_system_id"


def upgrade() -> None:
    op.create_index(NAME, "system_credentials", ["credential_id", "system_id"])


def downgrade() -> None:
    op.drop_index(NAME, table_name="system_credentials")
