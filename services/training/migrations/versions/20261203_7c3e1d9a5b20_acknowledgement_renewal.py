"""acknowledgement renewal: a policy version's acknowledgements can expire and be renewed
(issue 19, point 3)

Revision ID: 7c3e1d9a5b20
Revises: abcc82ac9d14
Create Date: 2026-12-03 17:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kit.db

revision: str = "7c3e1d9a5b20"
down_revision: str | Sequence[str] | None = "abcc82ac9d14"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("policy_versions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("renew_acknowledgement_every_months", sa.Integer(), nullable=True)
        )

    with op.batch_alter_table("acknowledgements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cycle", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("expires_at", kit.db.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("renewal_requested_at", kit.db.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.drop_constraint(
            batch_op.f("uq_acknowledgements_version_id_person_id"), type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_acknowledgements_version_id_person_id_cycle"),
            ["version_id", "person_id", "cycle"],
        )
        batch_op.create_index(
            batch_op.f("ix_acknowledgements_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    # Renewals would break the older one-per-version rule: keep the first of each.
    op.execute("DELETE FROM acknowledgements WHERE cycle > 0")
    with op.batch_alter_table("acknowledgements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_acknowledgements_expires_at"))
        batch_op.drop_constraint(
            batch_op.f("uq_acknowledgements_version_id_person_id_cycle"), type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_acknowledgements_version_id_person_id"), ["version_id", "person_id"]
        )
        batch_op.drop_column("renewal_requested_at")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("cycle")

    with op.batch_alter_table("policy_versions", schema=None) as batch_op:
        batch_op.drop_column("renew_acknowledgement_every_months")
