"""Coaching HTTP routes: parse, authorise, call the service, return."""

from typing import Annotated

from fastapi import APIRouter, Depends, status

from coaching import service
from coaching.deps import CallerDep, SessionDep
from coaching.schemas import CoachCreate, CoachRead
from kit.identity import Caller, Role, require_roles
from kit.pagination import Page, PageParamsDep

router = APIRouter(prefix="/api/v1/coaching", tags=["coaching"])

HrOrAdmin = Annotated[Caller, Depends(require_roles(Role.HR, Role.ADMIN))]


@router.get("/coaches", response_model=Page[CoachRead])
async def list_coaches(
    session: SessionDep, caller: CallerDep, page: PageParamsDep
) -> Page[CoachRead]:
    """Active coaches, oldest first."""
    coaches, next_cursor = await service.list_coaches(session, page=page)
    return Page(items=[CoachRead.model_validate(c) for c in coaches], next_cursor=next_cursor)


@router.post(
    "/coaches",
    response_model=CoachRead,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "The person is already a coach."}},
)
async def create_coach(session: SessionDep, caller: HrOrAdmin, data: CoachCreate) -> CoachRead:
    """Make a person a coach (HR or admin). Honours `Idempotency-Key`."""
    coach = await service.create_coach(session, data=data)
    return CoachRead.model_validate(coach)
