"""people: when each was deactivated (training's retention of leavers reads it)

Revision ID: 5d3e9a7b1c42
Revises: 2b69b181d2b4
Create Date: 2026-12-03 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kit.db

revision: str = "5d3e9a7b1c42"
down_revision: str | Sequence[str] | None = "2b69b181d2b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("deactivated_at", kit.db.UtcDateTime(timezone=True), nullable=True)
        )
    # People already inactive: the best date there is, their SCIM delete or last change.
    people = sa.table(
        "people",
        sa.column("active", sa.Boolean()),
        sa.column("deleted_at", kit.db.UtcDateTime(timezone=True)),
        sa.column("updated_at", kit.db.UtcDateTime(timezone=True)),
        sa.column("deactivated_at", kit.db.UtcDateTime(timezone=True)),
    )
    op.execute(
        people.update()
        .where(people.c.active == sa.false())
        .values(deactivated_at=sa.func.coalesce(people.c.deleted_at, people.c.updated_at))
    )


def downgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("deactivated_at")
