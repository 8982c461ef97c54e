"""candidates by source: the proposed engagements of one source in the list's order, for
the candidates of one reason (issue 16)

Revision ID: 3e9b7d1f5a28
Revises: 0ca87add0112
Create Date: 2026-12-03 21:35:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3e9b7d1f5a28"
down_revision: str | Sequence[str] | None = "0ca87add0112"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_engagements_status_source_created_at_id",
        "engagements",
        ["status", "source", "created_at", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_engagements_status_source_created_at_id", table_name="engagements")
