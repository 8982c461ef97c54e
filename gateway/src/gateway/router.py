"""The gateway's own HTTP routes: parse, authorise, call the service, return."""

import uuid

from fastapi import APIRouter

from gateway import service
from gateway.deps import CallerDep, SessionDep, UserDep
from gateway.schemas import Me, PersonRead

router = APIRouter(prefix="/api/v1", tags=["directory"])


@router.get("/me", response_model=Me)
async def get_me(session: SessionDep, caller: UserDep) -> Me:
    """The signed-in person, with the roles the services will see."""
    assert caller.person_id is not None
    person = await service.get_person(session, person_id=caller.person_id)
    return Me.model_validate(
        {**PersonRead.model_validate(person).model_dump(), "roles": sorted(caller.roles)}
    )


@router.get("/directory/people/{person_id}", response_model=PersonRead)
async def get_person(person_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> PersonRead:
    """One person of the directory (active or not)."""
    return PersonRead.model_validate(await service.get_person(session, person_id=person_id))
