"""list indexes: every incidents list filter read in its order off an index, and the open
incidents (overdue, my actions) off partial indexes, so a page costs the same at a million
rows as at ten thousand (issue 16)

Revision ID: fc5010bd0fec
Revises: fd417f25a79b
Create Date: 2026-12-03 09:59:59.059281
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "fc5010bd0fec"
down_revision: str | Sequence[str] | None = "fd417f25a79b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled exactly as ``incidents.incident.models.actionable`` renders it (see there).
ACTIONABLE = "status IN ('decided', 'in_progress')"
NEWEST_FIRST = ("status", "severity", "category", "person_id", "owner_id", "owner_role")


def upgrade() -> None:
    op.drop_index("ix_incidents_deadline_at", table_name="incidents")
    op.drop_index("ix_incidents_owner_id", table_name="incidents")
    op.drop_index("ix_incidents_status_created_at", table_name="incidents")
    for column in NEWEST_FIRST:
        op.create_index(
            f"ix_incidents_{column}_created_at_id", "incidents", [column, "created_at", "id"]
        )
    for name, column in (("created_at_id", "created_at"), ("deadline_at_id", "deadline_at")):
        op.create_index(
            f"ix_incidents_actionable_{name}",
            "incidents",
            [column, "id"],
            sqlite_where=sa.text(ACTIONABLE),
            postgresql_where=sa.text(ACTIONABLE),
        )


def downgrade() -> None:
    for name in ("created_at_id", "deadline_at_id"):
        op.drop_index(f"ix_incidents_actionable_{name}", table_name="incidents")
    for column in NEWEST_FIRST:
        op.drop_index(f"ix_incidents_{column}_created_at_id", table_name="incidents")
    op.create_index("ix_incidents_status_created_at", "incidents", ["status", "created_at"])
    op.create_index("ix_incidents_owner_id", "incidents", ["owner_id"])
    op.create_index("ix_incidents_deadline_at", "incidents", ["deadline_at"])
