"""scim displayName as sent

Revision ID: 0f3979da4679
Revises: 5d3e9a7b1c42
Create Date: 2026-12-03 14:35:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0f3979da4679"
down_revision: str | Sequence[str] | None = "5d3e9a7b1c42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "scim_display_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
            )
        )
    # What SCIM returned until now: the directory's display name.
    op.execute("UPDATE people SET scim_display_name = display_name")


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): rebuilding ``people`` in batch mode
    # would break the foreign keys other tables hold on it.
    op.drop_column("people", "scim_display_name")
