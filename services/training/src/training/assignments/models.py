"""Assignment and progress tables."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field

from kit.db import UtcDateTime, str_enum, utcnow
from training.db import Base


class ClosedReason(StrEnum):
    """Why an assignment closed without being completed; a closed one is never overdue."""

    # A material revision of the module replaced the version it was on.
    SUPERSEDED = "superseded"
    # The person left the organisation (or the assignment's target).
    LEFT = "left"


class Assignment(Base, table=True):
    __tablename__ = "assignments"
    __table_args__ = (
        # One assignment per renewal cycle of a module version for a person.
        UniqueConstraint("module_id", "person_id", "cycle"),
        Index("ix_assignments_person_id_created_at_id", "person_id", "created_at", "id"),
        Index("ix_assignments_created_at_id", "created_at", "id"),
        # Each filter of the assignments list reads its page off an index in the list's
        # order (issue 16); the department one also serves the completion report's groups.
        Index("ix_assignments_module_id_created_at_id", "module_id", "created_at", "id"),
        Index("ix_assignments_department_created_at_id", "department", "created_at", "id"),
        Index("ix_assignments_closed_reason_created_at_id", "closed_reason", "created_at", "id"),
        # Overdue signals walk assignments by due date.
        Index("ix_assignments_due_at_id", "due_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    module_id: uuid.UUID = Field(foreign_key="modules.id")
    person_id: uuid.UUID
    # The person's department when assigned (from the directory): reports group by it.
    department: str | None = Field(default=None, max_length=200)
    due_at: dt.datetime = Field(sa_type=UtcDateTime)
    assigned_by: uuid.UUID | None = None
    # The assignment rule that keeps this assignment true (None: a one-off assignment).
    rule_id: uuid.UUID | None = Field(default=None, foreign_key="assignment_rules.id", index=True)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    # 0 for a first assignment of this version; a renewal of the same version counts up.
    cycle: int = 0
    # The completed assignment this one renews (recertification).
    renewal_of: uuid.UUID | None = Field(default=None, index=True)
    closed_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    closed_reason: ClosedReason | None = Field(default=None, sa_type=str_enum(ClosedReason))


class ModuleProgress(Base, table=True):
    """How far one person got with one module version, whether assigned or not."""

    __tablename__ = "module_progress"
    __table_args__ = (UniqueConstraint("person_id", "module_id", "cycle"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    person_id: uuid.UUID
    module_id: uuid.UUID = Field(foreign_key="modules.id", index=True)
    # The renewal cycle (as on the assignment): a renewal starts the module afresh.
    cycle: int = 0
    started_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    read_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    completed_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
