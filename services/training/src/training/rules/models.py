"""Assignment rule tables."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import JSON, Index
from sqlmodel import Field

from kit.db import UtcDateTime, str_enum, utcnow
from training.db import Base


class TargetKind(StrEnum):
    DEPARTMENT = "department"
    GROUP = "group"
    EVERYONE = "everyone"
    PEOPLE = "people"


class AssignmentRule(Base, table=True):
    """A module (its lineage: the rule follows the module through revisions) assigned to a
    target that the directory resolves again and again."""

    __tablename__ = "assignment_rules"
    __table_args__ = (Index("ix_assignment_rules_created_at_id", "created_at", "id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    lineage_id: uuid.UUID = Field(index=True)
    target: TargetKind = Field(sa_type=str_enum(TargetKind))
    # The department or group name (exact, as in the directory) for those kinds.
    target_name: str | None = Field(default=None, max_length=200)
    # The named people, for ``people``.
    person_ids: list[str] = Field(default_factory=list, sa_type=JSON)
    # A joiner's assignment is due this many days after they joined the target.
    due_days: int
    created_by: uuid.UUID | None = None
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    ended_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)


class Leaver(Base, table=True):
    """Someone training holds data about who is no longer active in the directory, and
    when they left (the directory's ``deactivated_at``). The reconciliation records them
    and forgets a returner; retention removes their attempts and posts a period later."""

    __tablename__ = "leavers"

    person_id: uuid.UUID = Field(primary_key=True)
    left_at: dt.datetime = Field(sa_type=UtcDateTime, index=True)
    recorded_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
