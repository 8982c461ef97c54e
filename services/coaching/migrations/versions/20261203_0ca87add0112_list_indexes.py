"""list indexes: every filter of the engagements list, and the candidates, read in their
order off an index, so a page costs the same at a million rows as at ten thousand (issue 16)

Revision ID: 0ca87add0112
Revises: 7c1e0f5a9b2d
Create Date: 2026-12-03 13:26:05.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0ca87add0112"
down_revision: str | Sequence[str] | None = "7c1e0f5a9b2d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEWEST_FIRST = ("status", "coach_id", "track")


def upgrade() -> None:
    # (status, source, created_at) cannot give the candidates' order across two sources;
    # (status, created_at, id) does, and serves the status filter too.
    op.drop_index("ix_engagements_status_source_created_at", table_name="engagements")
    for column in NEWEST_FIRST:
        op.create_index(
            f"ix_engagements_{column}_created_at_id", "engagements", [column, "created_at", "id"]
        )


def downgrade() -> None:
    for column in NEWEST_FIRST:
        op.drop_index(f"ix_engagements_{column}_created_at_id", table_name="engagements")
    op.create_index(
        "ix_engagements_status_source_created_at",
        "engagements",
        ["status", "source", "created_at", "id"],
    )
