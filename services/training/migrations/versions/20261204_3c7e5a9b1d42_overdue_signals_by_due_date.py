"""overdue signals by due date: training's signals read the open assignments past their due
date in the signals' order (due date, person, module) off an index of their own, a page at a
time, instead of sorting all of them (issue 16)

Revision ID: 3c7e5a9b1d42
Revises: 88438334c2ea
Create Date: 2026-12-04 04:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c7e5a9b1d42"
down_revision: str | Sequence[str] | None = "88438334c2ea"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in training.assignments.models (a migration does not import the app's models).
OPEN = "completed_at IS NULL AND closed_at IS NULL"


def upgrade() -> None:
    op.create_index(
        "ix_assignments_open_due_at_person_id_module_id",
        "assignments",
        ["due_at", "person_id", "module_id", "started_at"],
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_assignments_open_due_at_person_id_module_id", table_name="assignments")
