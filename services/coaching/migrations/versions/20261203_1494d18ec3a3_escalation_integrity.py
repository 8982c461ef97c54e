"""escalation integrity: idempotency claim tokens, incident measures

Revision ID: 1494d18ec3a3
Revises: 59ada1add74c
Create Date: 2026-12-03 07:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kit.db

revision: str = "1494d18ec3a3"
down_revision: str | Sequence[str] | None = "59ada1add74c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim", sa.String(length=36), nullable=True))
    op.create_table(
        "incident_measures",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("suspends_ambassador", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open", "closed", "withdrawn", name="measurestatus", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("updated_at", kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_incident_measures")),
    )
    with op.batch_alter_table("incident_measures", schema=None) as batch_op:
        batch_op.create_index("ix_incident_measures_person_id", ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("incident_measures", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_measures_person_id")
    op.drop_table("incident_measures")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_column("claim")
