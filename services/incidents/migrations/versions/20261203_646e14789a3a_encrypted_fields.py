"""encrypted fields: the timeline's data is stored as an encrypted envelope (text)

Revision ID: 646e14789a3a
Revises: 8f025192aff0
Create Date: 2026-12-03 10:26:04.752357
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "646e14789a3a"
down_revision: str | Sequence[str] | None = "8f025192aff0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows stay plain JSON text, which reads as before; `python -m incidents
    # rotate-keys` encrypts them.
    with op.batch_alter_table("timeline_entries", schema=None) as batch_op:
        batch_op.alter_column(
            "data",
            existing_type=sa.JSON(),
            type_=sa.Text(),
            existing_nullable=False,
            postgresql_using="data::text",
        )


def downgrade() -> None:
    with op.batch_alter_table("timeline_entries", schema=None) as batch_op:
        batch_op.alter_column(
            "data",
            existing_type=sa.Text(),
            type_=sa.JSON(),
            existing_nullable=False,
            postgresql_using="data::json",
        )
