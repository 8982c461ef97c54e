"""Assignments, progress and signals. Routes call these; nothing here knows about HTTP."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    and_,
    func,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from kit.db import flush_unless_duplicate, utcnow
from kit.pagination import PageParams, decode_cursor, encode_cursor, paginate
from training import events
from training.assignments.models import Assignment, ClosedReason, ModuleProgress
from training.assignments.schemas import (
    AssignmentBatchRead,
    AssignmentCreate,
    AssignmentRead,
    PersonProgress,
    ProgressAssignment,
    ProgressStatus,
)
from training.directory import Directory, DirectoryPerson
from training.errors import AssignmentNotFound, ModuleNotFound, ModuleNotPublished, UnknownPeople
from training.modules.models import Module, ModuleStatus
from training.policy.service import acknowledgement_of, published_version

# -- progress -------------------------------------------------------------------------------


CLOSED_STATUS = {
    ClosedReason.SUPERSEDED: ProgressStatus.SUPERSEDED,
    ClosedReason.LEFT: ProgressStatus.LEFT,
}


def status_of(
    *,
    due_at: dt.datetime,
    progress: ModuleProgress | None,
    now: dt.datetime,
    closed_reason: ClosedReason | None = None,
) -> ProgressStatus:
    """Completed beats overdue: a late completion still counts as done. A closed
    assignment is never overdue."""
    if progress is not None and progress.completed_at is not None:
        return ProgressStatus.COMPLETED
    if closed_reason is not None:
        return CLOSED_STATUS[closed_reason]
    if due_at < now:
        return ProgressStatus.OVERDUE
    if progress is not None:
        return ProgressStatus.IN_PROGRESS
    return ProgressStatus.NOT_STARTED


async def current_cycle(
    session: AsyncSession, *, person_id: uuid.UUID, module_id: uuid.UUID
) -> int:
    """The person's renewal cycle of the module version: that of their latest assignment
    of it (0 when never renewed, or not assigned)."""
    cycle = await session.scalar(
        select(func.max(Assignment.cycle)).where(
            col(Assignment.person_id) == person_id, col(Assignment.module_id) == module_id
        )
    )
    return cycle or 0


async def record_progress(
    session: AsyncSession,
    *,
    person_id: uuid.UUID,
    module_id: uuid.UUID,
    cycle: int | None = None,
    read: bool = False,
    completed: bool = False,
) -> ModuleProgress:
    """Note that the person started (and maybe read or completed) a module in its current
    renewal cycle (or ``cycle``); first times are kept, so repeating an action changes
    nothing."""
    if cycle is None:
        cycle = await current_cycle(session, person_id=person_id, module_id=module_id)
    progress = await _progress_row(session, person_id=person_id, module_id=module_id, cycle=cycle)
    if progress is None:
        progress = ModuleProgress(person_id=person_id, module_id=module_id, cycle=cycle)
        if not await flush_unless_duplicate(session, progress):
            # The same person did something else in the module at the same moment.
            progress = await _progress_row(
                session, person_id=person_id, module_id=module_id, cycle=cycle
            )
            assert progress is not None
    now = utcnow()
    if read and progress.read_at is None:
        progress.read_at = now
    if completed and progress.completed_at is None:
        progress.completed_at = now
    session.add(progress)
    await session.flush()
    return progress


async def _progress_row(
    session: AsyncSession, *, person_id: uuid.UUID, module_id: uuid.UUID, cycle: int
) -> ModuleProgress | None:
    return await session.scalar(
        select(ModuleProgress).where(
            col(ModuleProgress.person_id) == person_id,
            col(ModuleProgress.module_id) == module_id,
            col(ModuleProgress.cycle) == cycle,
        )
    )


def progress_join() -> Any:
    """An assignment's progress: the same person, module version and renewal cycle."""
    return and_(
        col(ModuleProgress.person_id) == col(Assignment.person_id),
        col(ModuleProgress.module_id) == col(Assignment.module_id),
        col(ModuleProgress.cycle) == col(Assignment.cycle),
    )


async def person_progress(session: AsyncSession, *, person_id: uuid.UUID) -> PersonProgress:
    """Every assignment of the person with its status, and whether the core training
    (any version of a core module) is passed."""
    now = utcnow()
    rows = (
        await session.execute(
            select(Assignment, Module, ModuleProgress)
            .join(Module, col(Module.id) == col(Assignment.module_id))
            .outerjoin(ModuleProgress, progress_join())
            .where(col(Assignment.person_id) == person_id)
            .order_by(col(Assignment.due_at), col(Assignment.id))
        )
    ).all()
    core_completed = await session.scalar(
        select(func.count())
        .select_from(ModuleProgress)
        .join(Module, col(Module.id) == col(ModuleProgress.module_id))
        .where(
            col(ModuleProgress.person_id) == person_id,
            col(Module.core).is_(True),
            col(ModuleProgress.completed_at).is_not(None),
        )
    )
    version = await published_version(session)
    return PersonProgress(
        person_id=person_id,
        core_training_completed=bool(core_completed),
        acknowledgement=await acknowledgement_of(session, version=version, person_id=person_id)
        if version is not None
        else None,
        assignments=[
            ProgressAssignment(
                assignment_id=assignment.id,
                module_id=module.id,
                module_title=module.title,
                due_at=assignment.due_at,
                status=status_of(
                    due_at=assignment.due_at,
                    progress=progress,
                    now=now,
                    closed_reason=assignment.closed_reason,
                ),
                completed_at=progress.completed_at if progress else None,
                closed_at=assignment.closed_at,
            )
            for assignment, module, progress in rows
        ],
    )


# -- assignments ----------------------------------------------------------------------------


async def create_assignments(
    session: AsyncSession,
    *,
    data: AssignmentCreate,
    directory: Directory,
    assigned_by: uuid.UUID | None,
) -> AssignmentBatchRead:
    """Assign a published module to the people and departments given; people who already
    have it keep their assignment."""
    module = await session.get(Module, data.module_id)
    if module is None:
        raise ModuleNotFound(f"There is no module {data.module_id}.")
    if module.status is not ModuleStatus.PUBLISHED:
        raise ModuleNotPublished(
            f"Module '{module.title}' is a {module.status.value} version; "
            "only a published module can be assigned."
        )
    people = await _resolve_people(directory, data)
    existing = set(
        await session.scalars(
            select(Assignment.person_id).where(
                col(Assignment.module_id) == module.id,
                col(Assignment.person_id).in_([person.id for person in people]),
            )
        )
    )
    created = [
        Assignment(
            module_id=module.id,
            person_id=person.id,
            department=person.department,
            due_at=data.due_at,
            assigned_by=assigned_by,
        )
        for person in people
        if person.id not in existing
    ]
    session.add_all(created)
    await session.flush()
    await events.assignments_created(session, assignments=created, module_title=module.title)
    now = utcnow()
    return AssignmentBatchRead(
        module_id=module.id,
        due_at=data.due_at,
        created=[_assignment_read(a, module, None, now) for a in created],
        already_assigned=sorted(existing),
    )


async def _resolve_people(directory: Directory, data: AssignmentCreate) -> list[DirectoryPerson]:
    people: dict[uuid.UUID, DirectoryPerson] = {}
    if data.person_ids:
        found = {person.id: person for person in await directory.people(ids=data.person_ids)}
        missing = sorted(set(data.person_ids) - set(found))
        if missing:
            raise UnknownPeople(
                "These people are not active in the directory: "
                + ", ".join(str(person_id) for person_id in missing),
                extensions={"person_ids": [str(person_id) for person_id in missing]},
            )
        people.update(found)
    for department in data.departments:
        members = await directory.people(department=department)
        if not members:
            raise UnknownPeople(f"No active people in the department '{department}'.")
        people.update((person.id, person) for person in members)
    return list(people.values())


def _assignment_read(
    assignment: Assignment, module: Module, progress: ModuleProgress | None, now: dt.datetime
) -> AssignmentRead:
    return AssignmentRead(
        assignment_id=assignment.id,
        person_id=assignment.person_id,
        module_id=module.id,
        module_title=module.title,
        department=assignment.department,
        due_at=assignment.due_at,
        status=status_of(
            due_at=assignment.due_at,
            progress=progress,
            now=now,
            closed_reason=assignment.closed_reason,
        ),
        completed_at=progress.completed_at if progress else None,
        closed_at=assignment.closed_at,
    )


async def list_assignments(
    session: AsyncSession,
    *,
    page: PageParams,
    person_id: uuid.UUID | None = None,
    module_id: uuid.UUID | None = None,
    department: str | None = None,
    status: ProgressStatus | None = None,
) -> tuple[list[AssignmentRead], str | None]:
    """Assignments, oldest first, with their status; filters combine."""
    conditions = []
    if person_id is not None:
        conditions.append(col(Assignment.person_id) == person_id)
    if module_id is not None:
        conditions.append(col(Assignment.module_id) == module_id)
    if department is not None:
        conditions.append(col(Assignment.department) == department)
    if status is not None:
        conditions.append(status_condition(status, utcnow()))
    if status in ON_TIME:
        start = await _start_of_on_time(session, conditions, page)
        if start is None:
            return [], None
        page = start
    assignments, next_cursor = await paginate(
        session, select(Assignment).where(*conditions), order_by=LIST_ORDER, params=page
    )
    return await _reads(session, assignments), next_cursor


LIST_ORDER = [Assignment.created_at, Assignment.id]
# Open and not yet due: what a page of these walks past in the list's order is every open
# assignment already overdue, older than the first of them (the backlog, not the history).
ON_TIME = (ProgressStatus.IN_PROGRESS, ProgressStatus.NOT_STARTED)
# Below every id: a cursor at (created_at, NO_ID) starts at that created_at, inclusive.
NO_ID = uuid.UUID(int=0)


async def _start_of_on_time(
    session: AsyncSession, conditions: list[Any], page: PageParams
) -> PageParams | None:
    """The page starting at the oldest matching assignment when the cursor is older (or
    absent), so that the walk in the list's order skips the overdue ones before it; None
    when nothing matches.

    The oldest one comes off ``ix_assignments_open_due_at_created_at`` (the on-time ones
    by due date, the creation time in the index). ``coalesce`` keeps ``min`` from being
    answered by walking the list's own index in creation order until the first match,
    which SQLite and PostgreSQL would otherwise choose, and which is the walk this avoids.
    """
    created_at = col(Assignment.created_at)
    oldest = await session.scalar(
        select(func.min(func.coalesce(created_at, created_at))).where(*conditions)
    )
    if oldest is None:
        return None
    if page.cursor and decode_cursor(page.cursor, LIST_ORDER)[0] >= oldest:
        return page
    return PageParams(limit=page.limit, cursor=encode_cursor([oldest, NO_ID]))


def status_condition(status: ProgressStatus, now: dt.datetime) -> Any:
    """The SQL twin of :func:`status_of`, on the assignment's own row (its copy of the
    progress): each status is a condition the indexes of its filter hold
    (``models.COMPLETED``, ``models.OPEN``, the closed reason's)."""
    if status is ProgressStatus.COMPLETED:
        return col(Assignment.completed_at).is_not(None)
    not_completed = col(Assignment.completed_at).is_(None)
    for reason, closed_status in CLOSED_STATUS.items():
        if status is closed_status:
            return and_(not_completed, col(Assignment.closed_reason) == reason)
    still_open = and_(not_completed, col(Assignment.closed_at).is_(None))
    if status is ProgressStatus.OVERDUE:
        return and_(still_open, col(Assignment.due_at) < now)
    on_time = col(Assignment.due_at) >= now
    started = col(Assignment.started_at)
    if status is ProgressStatus.IN_PROGRESS:
        return and_(still_open, started.is_not(None), on_time)
    return and_(still_open, started.is_(None), on_time)


async def _reads(session: AsyncSession, assignments: Sequence[Assignment]) -> list[AssignmentRead]:
    """Module titles and progress for a page of assignments, in two queries."""
    if not assignments:
        return []
    modules = {
        module.id: module
        for module in await session.scalars(
            select(Module).where(col(Module.id).in_({a.module_id for a in assignments}))
        )
    }
    # Each assignment's own progress, by the whole unique key (person, module, cycle),
    # joined from the page's assignments by id: one probe per row. A row-value IN is a
    # scan of the whole table on SQLite, and one IN list per column let SQLite probe by
    # person and module only and read every renewal of the pair (a person with many
    # cycles: thousands of rows for a page).
    progress = {
        (row.person_id, row.module_id, row.cycle): row
        for row in await session.scalars(
            select(ModuleProgress)
            .join(Assignment, progress_join())
            .where(col(Assignment.id).in_([a.id for a in assignments]))
        )
    }
    now = utcnow()
    return [
        _assignment_read(
            a, modules[a.module_id], progress.get((a.person_id, a.module_id, a.cycle)), now
        )
        for a in assignments
    ]


async def get_assignment(session: AsyncSession, *, assignment_id: uuid.UUID) -> AssignmentRead:
    assignment = await session.get(Assignment, assignment_id)
    if assignment is None:
        raise AssignmentNotFound(f"There is no assignment {assignment_id}.")
    [read] = await _reads(session, [assignment])
    return read


# -- revisions ------------------------------------------------------------------------------


async def carry_over_to_revision(
    session: AsyncSession, *, revision: Module, retired_ids: Sequence[uuid.UUID]
) -> None:
    """What publishing a revision does to the assignments of the versions it replaces.

    Non-material: each open assignment moves to the new version with its progress (quiz
    attempts stay with the version they were taken on); completions stay valid.
    Material: open assignments close as superseded, completions stay on record, and
    everyone the module is assigned to (leavers aside) gets the new version, due
    ``material_due_days`` after publication.
    """
    if not retired_ids:
        return
    now = utcnow()
    rows = (
        await session.execute(
            select(Assignment, ModuleProgress)
            .outerjoin(ModuleProgress, progress_join())
            .where(col(Assignment.module_id).in_(retired_ids))
            .order_by(col(Assignment.created_at), col(Assignment.id))
        )
    ).all()
    open_rows = [
        (assignment, progress)
        for assignment, progress in rows
        if assignment.closed_at is None and (progress is None or progress.completed_at is None)
    ]
    if not revision.material:
        for assignment, progress in open_rows:
            assignment.module_id = revision.id
            session.add(assignment)
            if progress is not None:
                progress.module_id = revision.id
                session.add(progress)
        await session.flush()
        return
    for assignment, _ in open_rows:
        assignment.closed_at = now
        assignment.closed_reason = ClosedReason.SUPERSEDED
        session.add(assignment)
    latest: dict[uuid.UUID, Assignment] = {}
    for assignment, _ in rows:
        if assignment.closed_reason is not ClosedReason.LEFT:
            latest[assignment.person_id] = assignment
    due_at = now + dt.timedelta(days=revision.material_due_days)
    renewed = [
        Assignment(
            module_id=revision.id,
            person_id=person_id,
            department=previous.department,
            due_at=due_at,
            assigned_by=revision.created_by,
            rule_id=previous.rule_id,
        )
        for person_id, previous in latest.items()
    ]
    session.add_all(renewed)
    await session.flush()
    await events.assignments_created(session, assignments=renewed, module_title=revision.title)
