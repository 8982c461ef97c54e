"""access audit and leavers (retention of the data of people who left)

Revision ID: 9a4f2c6e8b13
Revises: 31940de0bf48
Create Date: 2026-12-03 14:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kit.db

revision: str = "9a4f2c6e8b13"
down_revision: str | Sequence[str] | None = "31940de0bf48"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("actor_person_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.Column("route", sa.String(length=300), nullable=False),
        sa.Column("request_id", sa.String(length=200), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_entries")),
    )
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_entries_actor_person_id_seq", ["actor_person_id", "seq"], unique=False
        )
        batch_op.create_index("ix_audit_entries_at", ["at"], unique=False)
        batch_op.create_index("ix_audit_entries_object_id_seq", ["object_id", "seq"], unique=False)
        batch_op.create_index("ix_audit_entries_person_id_seq", ["person_id", "seq"], unique=False)

    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "leavers",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("left_at", kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_leavers")),
    )
    with op.batch_alter_table("leavers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_leavers_left_at"), ["left_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("leavers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leavers_left_at"))
    op.drop_table("leavers")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entries_person_id_seq")
        batch_op.drop_index("ix_audit_entries_object_id_seq")
        batch_op.drop_index("ix_audit_entries_at")
        batch_op.drop_index("ix_audit_entries_actor_person_id_seq")
    op.drop_table("audit_entries")
