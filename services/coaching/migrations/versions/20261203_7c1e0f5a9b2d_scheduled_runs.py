"""scheduled runs (the retention job's lease)

Revision ID: 7c1e0f5a9b2d
Revises: 2bf732fd6c26
Create Date: 2026-12-03 13:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kit.db

revision: str = "7c1e0f5a9b2d"
down_revision: str | Sequence[str] | None = "2bf732fd6c26"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scheduled_runs",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("next_run_at", kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("leased_until", kit.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_run_at", kit.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduled_runs")),
    )


def downgrade() -> None:
    op.drop_table("scheduled_runs")
