"""Assignment and progress tables."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, UniqueConstraint, event, text, update
from sqlalchemy import inspect as inspect_state
from sqlalchemy import select as core_select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Field, col

from kit.db import UtcDateTime, str_enum, utcnow
from training.db import Base


class ClosedReason(StrEnum):
    """Why an assignment closed without being completed; a closed one is never overdue."""

    # A material revision of the module replaced the version it was on.
    SUPERSEDED = "superseded"
    # The person left the organisation (or the assignment's target).
    LEFT = "left"


# The partial indexes' conditions, written as the status filters write them
# (assignments.service.status_condition): SQLite uses a partial index only for a query
# whose WHERE holds the index's terms.
COMPLETED = "completed_at IS NOT NULL"
OPEN = "completed_at IS NULL AND closed_at IS NULL"


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
        # The status filters (issue 16), partial so each holds only the rows it serves:
        # completed ones, and open ones (neither completed nor closed: overdue, in progress,
        # not started), the latter with the due date and start so that telling those three
        # apart needs no read of the row.
        Index(
            "ix_assignments_completed_created_at_id",
            "created_at",
            "id",
            sqlite_where=text(COMPLETED),
            postgresql_where=text(COMPLETED),
        ),
        Index(
            "ix_assignments_open_created_at_id",
            "created_at",
            "id",
            "due_at",
            "started_at",
            sqlite_where=text(OPEN),
            postgresql_where=text(OPEN),
        ),
        # A person's open ones (``/me/assignments`` with overdue, in progress or not
        # started): their person index walks every row they ever had, most completed, and
        # reads each to tell; this one holds only the open ones and tells them apart.
        Index(
            "ix_assignments_open_person_id_created_at_id",
            "person_id",
            "created_at",
            "id",
            "due_at",
            "started_at",
            sqlite_where=text(OPEN),
            postgresql_where=text(OPEN),
        ),
        # The open ones by due date: where the on-time ones (in progress, not started)
        # begin in the list's order, found without walking the overdue ones before them
        # (assignments.service._start_of_on_time).
        Index(
            "ix_assignments_open_due_at_created_at",
            "due_at",
            "created_at",
            "started_at",
            sqlite_where=text(OPEN),
            postgresql_where=text(OPEN),
        ),
        # The overdue signals (assignments.signals), in their order: due date, person,
        # module; a department's people are told apart from the index alone.
        Index(
            "ix_assignments_open_due_at_person_id_module_id",
            "due_at",
            "person_id",
            "module_id",
            "started_at",
            sqlite_where=text(OPEN),
            postgresql_where=text(OPEN),
        ),
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
    # Copies of the progress of this person, module version and cycle (ModuleProgress's
    # started_at and completed_at), kept by _mirror_progress below: the status filters
    # and their indexes need them on the assignment's own row.
    started_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    completed_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)


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


# -- the progress on the assignment row ------------------------------------------------------
#
# Kept at the ORM's flush, whatever code path writes: a new assignment takes the progress
# its person already has of the module version (someone who read a module before it was
# assigned), and progress that starts or completes is copied to its assignment. Progress
# that moves to a module revision moves with its assignment (the same values).


def _key(row: Assignment | ModuleProgress) -> tuple[uuid.UUID, uuid.UUID, int]:
    return (row.person_id, row.module_id, row.cycle)


def _progress_changed(progress: ModuleProgress) -> bool:
    state: Any = inspect_state(progress)
    return state.pending or any(
        state.attrs[name].history.has_changes() for name in ("started_at", "completed_at")
    )


def _adopt_progress(
    session: Session, assignments: list[Assignment], pending: dict[Any, ModuleProgress]
) -> None:
    keys = [_key(assignment) for assignment in assignments]
    # Five plain columns: more than SQLModel's typed select takes, so SQLAlchemy's.
    stored = session.connection().execute(
        core_select(
            col(ModuleProgress.person_id),
            col(ModuleProgress.module_id),
            col(ModuleProgress.cycle),
            col(ModuleProgress.started_at),
            col(ModuleProgress.completed_at),
        ).where(
            # Not a row-value IN of the keys: SQLite answers that by scanning the table.
            col(ModuleProgress.person_id).in_({key[0] for key in keys}),
            col(ModuleProgress.module_id).in_({key[1] for key in keys}),
            col(ModuleProgress.cycle).in_({key[2] for key in keys}),
        )
    )
    found: dict[Any, tuple[Any, Any]] = {
        (row.person_id, row.module_id, row.cycle): (row.started_at, row.completed_at)
        for row in stored
    }
    found.update({key: (p.started_at, p.completed_at) for key, p in pending.items()})
    for assignment in assignments:
        started_at, completed_at = found.get(_key(assignment), (None, None))
        assignment.started_at, assignment.completed_at = started_at, completed_at


def _copy_to_assignment(session: Session, progress: ModuleProgress) -> None:
    person_id, module_id, cycle = _key(progress)
    session.connection().execute(
        update(Assignment)
        .where(
            col(Assignment.person_id) == person_id,
            col(Assignment.module_id) == module_id,
            col(Assignment.cycle) == cycle,
        )
        .values(started_at=progress.started_at, completed_at=progress.completed_at)
        .execution_options(synchronize_session=False)
    )
    for held in session.identity_map.values():
        if isinstance(held, Assignment) and _key(held) == (person_id, module_id, cycle):
            set_committed_value(held, "started_at", progress.started_at)
            set_committed_value(held, "completed_at", progress.completed_at)


@event.listens_for(Session, "before_flush")
def _mirror_progress(session: Session, flush_context: Any, instances: Any) -> None:
    new_assignments = [row for row in session.new if isinstance(row, Assignment)]
    changed = [
        row
        for row in (*session.new, *session.dirty)
        if isinstance(row, ModuleProgress) and _progress_changed(row)
    ]
    if not new_assignments and not changed:
        return
    if new_assignments:
        _adopt_progress(session, new_assignments, {_key(p): p for p in changed})
    for progress in changed:
        _copy_to_assignment(session, progress)
