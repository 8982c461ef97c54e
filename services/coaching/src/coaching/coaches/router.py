"""Coach routes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from coaching.coaches import service
from coaching.deps import CallerDep, SessionDep
from coaching.schemas import CoachCreate, CoachRead
from kit.identity import Caller, Role, require_roles
from kit.pagination import Page, PageParamsDep

router = APIRouter(tags=["coaches"])

HrOrAdmin = Annotated[Caller, Depends(require_roles(Role.HR, Role.ADMIN))]


@router.get("/coaches", response_model=Page[CoachRead])
async def list_coaches(
    session: SessionDep,
    caller: CallerDep,
    page: PageParamsDep,
    available: Annotated[
        bool, Query(description="Only coaches with a free slot (below their capacity).")
    ] = False,
) -> Page[CoachRead]:
    """Active coaches with their open load, oldest first."""
    loads, next_cursor = await service.list_coaches(session, page=page, available_only=available)
    return Page(items=[load.read() for load in loads], next_cursor=next_cursor)


@router.get("/coaches/{coach_id}", response_model=CoachRead)
async def get_coach(coach_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> CoachRead:
    """One coach with their open load."""
    return await service.get_coach(session, coach_id)


@router.post(
    "/coaches",
    response_model=CoachRead,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "The person is already a coach."}},
)
async def create_coach(session: SessionDep, caller: HrOrAdmin, data: CoachCreate) -> CoachRead:
    """Make a person a coach (HR or admin). Honours `Idempotency-Key`."""
    coach = await service.create_coach(session, data=data)
    return service.CoachLoad(coach, 0).read()
