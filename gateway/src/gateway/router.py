"""The gateway's own HTTP routes: parse, authorise, call the service, return."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import StringConstraints

from gateway import service
from gateway.deps import DirectoryReaderDep, GroupRolesDep, SessionDep, UserDep
from gateway.schemas import (
    ManagerSummary,
    Me,
    PeopleLookup,
    PeopleLookupRead,
    PersonDetail,
    PersonRead,
)
from kit.identity import Role
from kit.pagination import MAX_LIMIT, Page, PageParamsDep

MAX_GROUPS = 20

router = APIRouter(prefix="/api/v1", tags=["directory"])


@router.get("/me", response_model=Me)
async def get_me(session: SessionDep, caller: UserDep) -> Me:
    """The signed-in person, with the roles the services will see."""
    assert caller.person_id is not None
    person = await service.get_person(session, person_id=caller.person_id)
    return Me.model_validate(
        {**PersonRead.model_validate(person).model_dump(), "roles": sorted(caller.roles)}
    )


@router.get("/directory/people", response_model=Page[PersonRead])
async def list_people(
    session: SessionDep,
    caller: DirectoryReaderDep,
    page: PageParamsDep,
    group_roles: GroupRolesDep,
    department: Annotated[str | None, Query(description="Exact department name.")] = None,
    manager_id: Annotated[uuid.UUID | None, Query(description="Direct reports of.")] = None,
    active: Annotated[bool | None, Query(description="Only active (or deactivated).")] = None,
    ids: Annotated[
        list[uuid.UUID],
        Query(
            alias="id",
            max_length=MAX_LIMIT,
            description=f"Bulk lookup: repeat `id` (at most {MAX_LIMIT}); unknown ids "
            "are left out.",
        ),
    ] = [],  # noqa: B006 (FastAPI copies parameter defaults per request)
    roles: Annotated[
        list[Role],
        Query(
            alias="role",
            max_length=len(Role),
            description="People holding any of these roles (repeatable): `manager` = has "
            "active direct reports; `hr`, `legal`, `coach`, `policy_owner`, `privacy`, `admin` = "
            "member of a group mapped to the role (`GATEWAY_GROUP_ROLES`); `employee` = everyone.",
        ),
    ] = [],  # noqa: B006
    groups: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=200)]],
        Query(
            alias="group",
            max_length=MAX_GROUPS,
            description=f"Members of any of these groups, by exact display name (repeatable, "
            f"at most {MAX_GROUPS}); an unknown group has no members.",
        ),
    ] = [],  # noqa: B006
) -> Page[PersonRead]:
    """People of the directory, filtered, oldest entry first (keyset-paginated)."""
    filters = service.PeopleFilter(
        department=department,
        manager_id=manager_id,
        active=active,
        ids=ids,
        roles=roles,
        groups=groups,
    )
    people, next_cursor = await service.list_people(
        session, filters=filters, page=page, group_roles=group_roles
    )
    return Page(items=[PersonRead.model_validate(p) for p in people], next_cursor=next_cursor)


@router.post("/directory/lookup", response_model=PeopleLookupRead)
async def lookup_people(
    data: PeopleLookup, session: SessionDep, caller: DirectoryReaderDep
) -> PeopleLookupRead:
    """Many people by id in one call (a replay's or a report's thousands): a brief of each,
    in id order; unknown ids are left out. Reads nothing else and changes nothing."""
    return PeopleLookupRead(items=await service.lookup_people(session, ids=data.ids))


@router.get("/directory/people/{person_id}", response_model=PersonDetail)
async def get_person(
    person_id: uuid.UUID, session: SessionDep, caller: DirectoryReaderDep
) -> PersonDetail:
    """One person of the directory (active or not), with their manager's name."""
    person, manager = await service.get_person_and_manager(session, person_id=person_id)
    return PersonDetail.model_validate(
        {
            **PersonRead.model_validate(person).model_dump(),
            "manager": ManagerSummary.model_validate(manager) if manager else None,
        }
    )
