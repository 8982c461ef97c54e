"""Assignment, progress and signal routes: parse, authorise, call the service, return."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from kit.errors import Forbidden
from kit.identity import Caller, CallerDep, Role, UserDep
from kit.pagination import Page, PageParamsDep
from training.access import may_read_records_of
from training.assignments import service, signals
from training.assignments.schemas import (
    AssignmentBatchRead,
    AssignmentCreate,
    AssignmentRead,
    PersonProgress,
    ProgressStatus,
    SignalRead,
    SignalReason,
)
from training.deps import API_PREFIX, AssignerDep, DirectoryDep, SessionDep
from training.errors import AssignmentNotFound

router = APIRouter(prefix=API_PREFIX, tags=["assignments"])


async def require_signal_reader(caller: CallerDep) -> Caller:
    if caller.has_role(Role.HR, Role.ADMIN) or caller.is_service("coaching"):
        return caller
    raise Forbidden("Training signals are for HR and the coaching service.")


SignalReaderDep = Annotated[Caller, Depends(require_signal_reader)]


@router.get("/people/{person_id}/progress", response_model=PersonProgress)
async def get_person_progress(
    person_id: uuid.UUID, session: SessionDep, caller: CallerDep, directory: DirectoryDep
) -> PersonProgress:
    """A person's assignments with their status, and whether the core training is passed.
    Readable by the person, their manager, HR and the coaching service."""
    if not await may_read_records_of(caller, person_id, directory=directory):
        raise Forbidden(
            "You can read your own progress and your direct reports'; HR can read anyone's."
        )
    return await service.person_progress(session, person_id=person_id)


@router.get("/signals", response_model=Page[SignalRead])
async def list_signals(
    session: SessionDep,
    caller: SignalReaderDep,
    directory: DirectoryDep,
    page: PageParamsDep,
    reason: Annotated[SignalReason | None, Query(description="Only this reason.")] = None,
    department: Annotated[
        str | None, Query(max_length=200, description="Only people now in this department.")
    ] = None,
) -> Page[SignalRead]:
    """People who need guidance: quiz failed at its attempt limit, training overdue
    (HR and the coaching service). Oldest first."""
    person_ids = None
    if department is not None:
        person_ids = [person.id for person in await directory.people(department=department)]
    items, next_cursor = await signals.list_signals(
        session, page=page, reason=reason, person_ids=person_ids
    )
    return Page(items=items, next_cursor=next_cursor)


@router.post(
    "/assignments",
    response_model=AssignmentBatchRead,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "The module is not published."}},
)
async def create_assignments(
    data: AssignmentCreate, session: SessionDep, caller: AssignerDep, directory: DirectoryDep
) -> AssignmentBatchRead:
    """Assign a published module to people and/or whole departments with a due date
    (policy owners, HR). Honours `Idempotency-Key`."""
    return await service.create_assignments(
        session, data=data, directory=directory, assigned_by=caller.person_id
    )


@router.get("/assignments", response_model=Page[AssignmentRead])
async def list_assignments(
    session: SessionDep,
    caller: AssignerDep,
    page: PageParamsDep,
    module_id: uuid.UUID | None = None,
    person_id: uuid.UUID | None = None,
    department: Annotated[str | None, Query(max_length=200)] = None,
    status: ProgressStatus | None = None,
) -> Page[AssignmentRead]:
    """All assignments with their status, oldest first (policy owners, HR)."""
    items, next_cursor = await service.list_assignments(
        session,
        page=page,
        module_id=module_id,
        person_id=person_id,
        department=department,
        status=status,
    )
    return Page(items=items, next_cursor=next_cursor)


@router.get("/me/assignments", response_model=Page[AssignmentRead])
async def list_my_assignments(
    session: SessionDep,
    caller: UserDep,
    page: PageParamsDep,
    status: ProgressStatus | None = None,
) -> Page[AssignmentRead]:
    """The signed-in person's assignments with their status, oldest first."""
    items, next_cursor = await service.list_assignments(
        session, page=page, person_id=caller.person_id, status=status
    )
    return Page(items=items, next_cursor=next_cursor)


@router.get("/assignments/{assignment_id}", response_model=AssignmentRead)
async def get_assignment(
    assignment_id: uuid.UUID, session: SessionDep, caller: CallerDep, directory: DirectoryDep
) -> AssignmentRead:
    """One assignment: for the assignee, their manager, policy owners and HR."""
    assignment = await service.get_assignment(session, assignment_id=assignment_id)
    if not (
        caller.has_role(Role.POLICY_OWNER)
        or await may_read_records_of(caller, assignment.person_id, directory=directory)
    ):
        raise AssignmentNotFound(f"There is no assignment {assignment_id}.")
    return assignment
