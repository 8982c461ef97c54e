"""assignment status columns: the progress's started_at and completed_at on the assignment
row, and partial indexes for the status filters (issue 16)

Revision ID: 5b1e7c2d9a40
Revises: 7c3e1d9a5b20
Create Date: 2026-12-03 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kit.db

revision: str = "5b1e7c2d9a40"
down_revision: str | Sequence[str] | None = "7c3e1d9a5b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in training.assignments.models (a migration does not import the app's models).
COMPLETED = "completed_at IS NOT NULL"
OPEN = "completed_at IS NULL AND closed_at IS NULL"
PROGRESS_OF_ASSIGNMENT = """
    FROM module_progress AS p
    WHERE p.person_id = assignments.person_id AND p.module_id = assignments.module_id
      AND p.cycle = assignments.cycle"""


def upgrade() -> None:
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("started_at", kit.db.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("completed_at", kit.db.UtcDateTime(timezone=True), nullable=True)
        )
    # Every assignment that has progress takes it; one statement, the rows not in Python.
    op.execute(
        f"""UPDATE assignments SET
            started_at = (SELECT p.started_at {PROGRESS_OF_ASSIGNMENT}),
            completed_at = (SELECT p.completed_at {PROGRESS_OF_ASSIGNMENT})
        WHERE EXISTS (SELECT 1 {PROGRESS_OF_ASSIGNMENT})"""
    )
    op.create_index(
        "ix_assignments_completed_created_at_id",
        "assignments",
        ["created_at", "id"],
        sqlite_where=sa.text(COMPLETED),
        postgresql_where=sa.text(COMPLETED),
    )
    op.create_index(
        "ix_assignments_open_created_at_id",
        "assignments",
        ["created_at", "id", "due_at", "started_at"],
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_assignments_open_created_at_id", table_name="assignments")
    op.drop_index("ix_assignments_completed_created_at_id", table_name="assignments")
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_column("completed_at")
        batch_op.drop_column("started_at")
