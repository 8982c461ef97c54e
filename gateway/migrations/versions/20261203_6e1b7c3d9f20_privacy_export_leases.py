"""privacy exports: leased, resumable after a crash

Revision ID: 6e1b7c3d9f20
Revises: 0f3979da4679
Create Date: 2026-12-03 14:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kit.db

revision: str = "6e1b7c3d9f20"
down_revision: str | Sequence[str] | None = "0f3979da4679"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("privacy_exports", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("next_attempt_at", kit.db.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("leased_until", kit.db.UtcDateTime(timezone=True), nullable=True)
        )
    exports = sa.table(
        "privacy_exports",
        sa.column("created_at", kit.db.UtcDateTime(timezone=True)),
        sa.column("next_attempt_at", kit.db.UtcDateTime(timezone=True)),
    )
    # Exports left unfinished before this are due at once (and resumed).
    op.execute(exports.update().values(next_attempt_at=exports.c.created_at))
    with op.batch_alter_table("privacy_exports", schema=None) as batch_op:
        batch_op.alter_column(
            "next_attempt_at", existing_type=kit.db.UtcDateTime(timezone=True), nullable=False
        )
        batch_op.create_index(
            batch_op.f("ix_privacy_exports_next_attempt_at"), ["next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("privacy_exports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_privacy_exports_next_attempt_at"))
        batch_op.drop_column("leased_until")
        batch_op.drop_column("next_attempt_at")
