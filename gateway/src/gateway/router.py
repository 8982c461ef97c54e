"""The gateway's own HTTP routes: parse, authorise, call the service, return; and the
short path of a service's person lookup (:class:`PersonLookupShortcut`)."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query
from pydantic import StringConstraints
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from gateway import service
from gateway.access import service_may_call
from gateway.deps import DirectoryReaderDep, GroupRolesDep, SessionDep, UserDep
from gateway.edge import ServiceShortcut, refusal
from gateway.schemas import (
    Me,
    PeopleLookup,
    PeopleLookupRead,
    PersonDetail,
    PersonRead,
)
from kit.db import Database
from kit.errors import DomainError
from kit.identity import Caller, Role, bearer_token
from kit.pagination import MAX_LIMIT, Page, PageParamsDep

if TYPE_CHECKING:
    from gateway.auth import Authenticator

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
    return await service.get_person_detail(session, person_id=person_id)


PERSON_ROUTE = "/api/v1/directory/people/{person_id}"
PERSON_PREFIX = PERSON_ROUTE.removesuffix("{person_id}")


class PersonLookupShortcut(ServiceShortcut):
    """``GET /api/v1/directory/people/{id}`` from a service, the short way: the request id,
    log line, metrics and body limit (``kit.runtime.edge_middleware``), then the same
    statement and answer as :func:`get_person`. Every decision of the incidents service
    asks it once, and the public edge, the router and FastAPI's dependencies were most of
    the gateway's CPU for it, as for the event intake (``IntakeShortcut``); a service
    principal is neither throttled nor rate limited and has no scopes.

    Taken only with an internal token the gateway has verified before, still valid, of a
    service that may read the directory, a person id in its canonical form, and no
    ``Origin`` (CORS answers those); anything else goes the long way and is answered
    there as before, the 403s, 401s and 422s included."""

    route_label = PERSON_ROUTE

    def _service(self, scope: Scope) -> Caller | None:
        """The service principal of a request the short path can answer, if it is one."""
        if scope["type"] != "http" or scope["method"] != "GET":
            return None
        if _canonical_id(scope["path"]) is None:
            return None
        if any(name == b"origin" for name, _ in scope["headers"]):
            return None
        token = bearer_token(scope)
        authenticator: Authenticator | None = getattr(self.state, "authenticator", None)
        if token is None or authenticator is None:
            return None
        caller = authenticator.known_service(token)
        if caller is None or not service_may_call(caller, "directory"):
            return None
        return caller

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        person_id = _canonical_id(scope["path"])
        assert person_id is not None  # checked before the short path was taken
        database: Database = self.state.database
        response: Response
        try:
            async with database.transaction(write=False) as session:
                detail = await service.get_person_detail(session, person_id=person_id)
            # The loop turn kit.db.request_session gives every route's answer.
            await asyncio.sleep(0)
            response = Response(detail.model_dump_json(), media_type="application/json")
        except DomainError as error:
            response = refusal(error, scope)
        await response(scope, receive, send)


def _canonical_id(path: str) -> uuid.UUID | None:
    """The person id of ``/api/v1/directory/people/{id}`` when written as ``str(uuid)``
    writes it (other spellings, which the route also reads, go the long way)."""
    if not path.startswith(PERSON_PREFIX):
        return None
    text = path[len(PERSON_PREFIX) :]
    if len(text) != 36:
        return None
    try:
        person_id = uuid.UUID(text)
    except ValueError:
        return None
    return person_id if str(person_id) == text else None
