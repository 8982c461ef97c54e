"""Remedial training routes: parse, authorise, call the service, return."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from kit.errors import Forbidden
from kit.identity import Caller, CallerDep, Role
from kit.pagination import Page, PageParamsDep
from kit.vouched import vouched
from training.deps import API_PREFIX, SessionDep, directory_of, settings_of
from training.remedial import service
from training.remedial.schemas import RemedialBatch, RemedialCreate, RemedialRead

router = APIRouter(prefix=API_PREFIX, tags=["assignments"])


async def require_remedial_assigner(caller: CallerDep) -> Caller:
    if caller.has_role(Role.HR, Role.ADMIN) or caller.is_service("incidents"):
        return caller
    raise Forbidden("Remedial training is assigned by the incidents service (or HR).")


@router.post(
    "/remedial-training",
    response_model=RemedialBatch,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "Already assigned for this incident: the same batch."}},
)
async def assign_remedial(
    data: RemedialCreate,
    session: SessionDep,
    caller: Annotated[Caller, Depends(require_remedial_assigner)],
    request: Request,
    response: Response,
) -> RemedialBatch:
    """Assign the person the published modules that teach the clauses an incident breached
    (the incidents service, HR); once per incident, so a retry gets the same answer."""
    # The directory and the settings are taken here rather than declared as dependencies:
    # every decision sends this, and FastAPI's solving of each dependency cost more than
    # the route's own work when nothing is to be assigned (issue 16).
    settings = await settings_of(request)
    batch, created = await service.assign_remedial(
        session,
        data=data,
        directory=await directory_of(request),
        due_days=settings.remedial_due_days,
        # Only the incidents service's word spares the directory lookup; from HR the
        # record is ignored, so nobody can declare a person active who is not.
        known=vouched(data.directory_record, caller=caller, trusted="incidents"),
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return batch


@router.get("/remedial-training", response_model=Page[RemedialRead])
async def list_remedial(
    session: SessionDep,
    caller: CallerDep,
    page: PageParamsDep,
    incident_id: uuid.UUID | None = None,
    person_id: uuid.UUID | None = None,
) -> Page[RemedialRead]:
    """Remedial modules with their status, oldest first: for the incidents and coaching
    services and HR; a person reads their own (`person_id`)."""
    overseer = caller.has_role(Role.HR, Role.ADMIN) or caller.is_service("incidents", "coaching")
    if not overseer and (person_id is None or not caller.is_person(person_id)):
        raise Forbidden("You can read your own remedial training; HR can read anyone's.")
    items, next_cursor = await service.list_remedial(
        session, page=page, incident_id=incident_id, person_id=person_id
    )
    return Page(items=items, next_cursor=next_cursor)
