"""escalation integrity: decisions one person at a time, conflicts of interest, idempotency
claim tokens, ambassador suspension as part of the scheme

Revision ID: 7c817acc99aa
Revises: a84cd960b93a
Create Date: 2026-12-03 06:50:18.805238
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c817acc99aa"
down_revision: str | Sequence[str] | None = "a84cd960b93a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NO = sa.false()


def upgrade() -> None:
    op.create_table(
        "person_records",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_person_records")),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_conflict", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("owner_note", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("suspends_ambassador", sa.Boolean(), nullable=False, server_default=NO)
        )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("suspends_ambassador", sa.Boolean(), nullable=False, server_default=NO)
        )
    with op.batch_alter_table("escalation_rules", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("suspends_ambassador", sa.Boolean(), nullable=False, server_default=NO)
        )
    # The default the API gives a rule: it suspends unless it only matches low severity.
    op.execute(
        "UPDATE escalation_rules SET suspends_ambassador = "
        "(CAST(severities AS TEXT) <> '[\"low\"]')"
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_column("claim")
    for table in ("escalation_rules", "incidents", "decisions"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("suspends_ambassador")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_column("owner_note")
        batch_op.drop_column("owner_conflict")
    op.drop_table("person_records")
