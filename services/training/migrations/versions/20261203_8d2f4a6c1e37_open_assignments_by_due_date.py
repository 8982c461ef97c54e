"""open assignments by due date: where the on-time ones begin in the assignments list's
order, for the in_progress and not_started filters (issue 16)

Revision ID: 8d2f4a6c1e37
Revises: 5b1e7c2d9a40
Create Date: 2026-12-03 20:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8d2f4a6c1e37"
down_revision: str | Sequence[str] | None = "5b1e7c2d9a40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in training.assignments.models (a migration does not import the app's models).
OPEN = "completed_at IS NULL AND closed_at IS NULL"


def upgrade() -> None:
    op.create_index(
        "ix_assignments_open_due_at_created_at",
        "assignments",
        ["due_at", "created_at", "started_at"],
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_assignments_open_due_at_created_at", table_name="assignments")
