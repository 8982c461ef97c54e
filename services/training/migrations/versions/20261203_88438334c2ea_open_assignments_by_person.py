"""open assignments by person: a person's overdue, in progress and not started
assignments (``/me/assignments?status=``) read off their open ones only (issue 16)

Revision ID: 88438334c2ea
Revises: 8d2f4a6c1e37
Create Date: 2026-12-03 23:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "88438334c2ea"
down_revision: str | Sequence[str] | None = "8d2f4a6c1e37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in training.assignments.models (a migration does not import the app's models).
OPEN = "completed_at IS NULL AND closed_at IS NULL"


def upgrade() -> None:
    op.create_index(
        "ix_assignments_open_person_id_created_at_id",
        "assignments",
        ["person_id", "created_at", "id", "due_at", "started_at"],
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_assignments_open_person_id_created_at_id", table_name="assignments")
