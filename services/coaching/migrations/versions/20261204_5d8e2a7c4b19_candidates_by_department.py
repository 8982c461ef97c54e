"""candidates by department: the proposed engagements of the department's people by one
index, for the candidates' department filter (issue 16)

Revision ID: 5d8e2a7c4b19
Revises: 3e9b7d1f5a28
Create Date: 2026-12-04 00:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5d8e2a7c4b19"
down_revision: str | Sequence[str] | None = "3e9b7d1f5a28"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_engagements_coachee_id_status_created_at_id",
        "engagements",
        ["coachee_id", "status", "created_at", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_engagements_coachee_id_status_created_at_id", table_name="engagements")
