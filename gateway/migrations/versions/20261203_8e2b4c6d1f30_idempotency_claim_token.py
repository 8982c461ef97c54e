"""idempotency_keys.claim: the claim token kit.idempotency now keeps (as every service has)

Revision ID: 8e2b4c6d1f30
Revises: 9a897a1a3947
Create Date: 2026-12-03 08:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8e2b4c6d1f30"
down_revision: str | Sequence[str] | None = "9a897a1a3947"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_column("claim")
