"""Remedial training: a decision of coaching assigns the modules that teach the clauses
the incident breached. Routes call these; nothing here knows about HTTP."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import bindparam
from sqlalchemy import select as core_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from kit.db import table_of, utcnow
from kit.pagination import PageParams, paginate
from kit.vouched import DirectoryRecord
from training import events
from training.assignments.models import Assignment, ModuleProgress
from training.assignments.service import progress_join, status_of
from training.directory import Directory
from training.errors import UnknownPeople
from training.modules.models import Module, ModuleStatus
from training.remedial.models import RemedialAssignment
from training.remedial.schemas import RemedialBatch, RemedialCreate, RemedialRead

# The statements of every remedial request (one per coaching decision), built once with
# bound parameters: building them anew each time cost about as much CPU as running them.
# The two it always sends read the tables' columns, not ORM entities: loading every
# published module as one (with its body) cost more than the rest of the request.
_MODULES = table_of(Module).c
_PUBLISHED_MODULES = (
    core_select(_MODULES.id, _MODULES.title, _MODULES.clause_numbers)
    .where(_MODULES.status == ModuleStatus.PUBLISHED)
    .order_by(_MODULES.created_at, _MODULES.id)
)
_REMEDIALS = table_of(RemedialAssignment)
_REMEDIAL_OF_INCIDENT = core_select(_REMEDIALS).where(
    _REMEDIALS.c.incident_id == bindparam("incident_id")
)
_HELD_ASSIGNMENTS = select(Assignment).where(
    col(Assignment.person_id) == bindparam("person_id"),
    col(Assignment.module_id).in_(bindparam("module_ids", expanding=True)),
)


async def assign_remedial(
    session: AsyncSession,
    *,
    data: RemedialCreate,
    directory: Directory,
    due_days: int,
    known: DirectoryRecord | None = None,
) -> tuple[RemedialBatch, bool]:
    """Assign the published modules that teach any breached clause; once per incident
    (asking again returns what was assigned). Returns the batch and whether it is new.
    ``known``: the person's directory record as a trusted caller vouched for it (the
    router decides whose word counts), used instead of asking the directory."""
    breached = set(data.clause_numbers)
    covering = [
        module
        for module in await session.execute(_PUBLISHED_MODULES)
        if breached & set(module.clause_numbers)
    ]
    taught = {number for module in covering for number in module.clause_numbers}
    uncovered = sorted(breached - taught)
    existing = (
        await session.execute(_REMEDIAL_OF_INCIDENT, {"incident_id": data.incident_id})
    ).all()
    if existing:
        return RemedialBatch(
            incident_id=data.incident_id,
            items=await remedial_reads(session, existing),
            uncovered_clauses=uncovered,
        ), False
    department = await _trainee_department(directory, person_id=data.person_id, known=known)
    due_at = data.due_at or utcnow() + dt.timedelta(days=due_days)
    held = {
        assignment.module_id: assignment
        for assignment in (
            await session.scalars(
                _HELD_ASSIGNMENTS,
                {"person_id": data.person_id, "module_ids": [module.id for module in covering]},
            )
            if covering
            else ()
        )
    }
    rows = []
    for module in covering:
        assignment = held.get(module.id)
        if assignment is None:
            assignment = Assignment(
                module_id=module.id,
                person_id=data.person_id,
                department=department,
                due_at=due_at,
            )
            await events.assignments_created(
                session, assignments=[assignment], module_title=module.title
            )
        elif assignment.closed_at is not None:
            # Closed when they left and came back without a rule covering them: reopen.
            assignment.closed_at = assignment.closed_reason = None
            assignment.due_at = due_at
        else:
            # An open assignment keeps its place and gets the earlier due date.
            assignment.due_at = min(assignment.due_at, due_at)
        session.add(assignment)
        await session.flush()
        row = RemedialAssignment(
            incident_id=data.incident_id,
            person_id=data.person_id,
            module_id=module.id,
            assignment_id=assignment.id,
            clause_numbers=sorted(breached & set(module.clause_numbers)),
        )
        session.add(row)
        rows.append(row)
    await session.flush()
    return RemedialBatch(
        incident_id=data.incident_id,
        items=await remedial_reads(session, rows),
        uncovered_clauses=uncovered,
    ), True


async def _trainee_department(
    directory: Directory, *, person_id: uuid.UUID, known: DirectoryRecord | None
) -> str | None:
    """The department of the person to train, who must be active in the directory: as
    ``known`` says, or else as the directory answers now."""
    if known is not None:
        active, department = known.active, known.department
    else:
        person = await directory.person(person_id)
        active, department = (person.active, person.department) if person else (False, None)
    if not active:
        raise UnknownPeople(
            f"{person_id} is not active in the directory: there is nobody to train.",
            extensions={"person_ids": [str(person_id)]},
        )
    return department


async def list_remedial(
    session: AsyncSession,
    *,
    page: PageParams,
    incident_id: uuid.UUID | None,
    person_id: uuid.UUID | None,
) -> tuple[list[RemedialRead], str | None]:
    statement = select(RemedialAssignment)
    if incident_id is not None:
        statement = statement.where(col(RemedialAssignment.incident_id) == incident_id)
    if person_id is not None:
        statement = statement.where(col(RemedialAssignment.person_id) == person_id)
    rows, next_cursor = await paginate(
        session,
        statement,
        order_by=[RemedialAssignment.created_at, RemedialAssignment.id],
        params=page,
    )
    return await remedial_reads(session, rows), next_cursor


class RemedialRow(Protocol):
    """What a remedial read takes of a remedial assignment: the row, or its columns."""

    @property
    def incident_id(self) -> uuid.UUID: ...
    @property
    def person_id(self) -> uuid.UUID: ...
    @property
    def assignment_id(self) -> uuid.UUID: ...
    @property
    def clause_numbers(self) -> list[str]: ...
    @property
    def created_at(self) -> dt.datetime: ...


async def remedial_reads(session: AsyncSession, rows: Sequence[RemedialRow]) -> list[RemedialRead]:
    """Each remedial module with its assignment's status, in one query."""
    if not rows:
        return []
    found = (
        await session.execute(
            select(Assignment, Module, ModuleProgress)
            .join(Module, col(Module.id) == col(Assignment.module_id))
            .outerjoin(ModuleProgress, progress_join())
            .where(col(Assignment.id).in_([row.assignment_id for row in rows]))
        )
    ).all()
    by_id = {
        assignment.id: (assignment, module, progress) for assignment, module, progress in found
    }
    now = utcnow()
    reads = []
    for row in rows:
        assignment, module, progress = by_id[row.assignment_id]
        reads.append(
            RemedialRead(
                incident_id=row.incident_id,
                person_id=row.person_id,
                module_id=module.id,
                module_title=module.title,
                clause_numbers=row.clause_numbers,
                assignment_id=assignment.id,
                due_at=assignment.due_at,
                status=status_of(
                    due_at=assignment.due_at,
                    progress=progress,
                    now=now,
                    closed_reason=assignment.closed_reason,
                ),
                completed_at=progress.completed_at if progress else None,
                created_at=row.created_at,
            )
        )
    return reads
