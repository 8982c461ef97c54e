"""list indexes: every filter of the assignments list read in its order off an index, so a
page costs the same at a million rows as at ten thousand (issue 16)

Revision ID: abcc82ac9d14
Revises: 9a4f2c6e8b13
Create Date: 2026-12-03 13:26:03.892739
"""

from collections.abc import Sequence

from alembic import op

revision: str = "abcc82ac9d14"
down_revision: str | Sequence[str] | None = "9a4f2c6e8b13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLDEST_FIRST = ("module_id", "department", "closed_reason")


def upgrade() -> None:
    # The department alone would tempt a planner into reading every row of a department
    # and sorting them; the composite index serves the filter, the order and the groups.
    op.drop_index("ix_assignments_department", table_name="assignments")
    for column in OLDEST_FIRST:
        op.create_index(
            f"ix_assignments_{column}_created_at_id", "assignments", [column, "created_at", "id"]
        )


def downgrade() -> None:
    for column in OLDEST_FIRST:
        op.drop_index(f"ix_assignments_{column}_created_at_id", table_name="assignments")
    op.create_index("ix_assignments_department", "assignments", ["department"])
