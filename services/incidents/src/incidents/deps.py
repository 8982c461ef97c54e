"""Dependencies the incidents routes share."""

from collections.abc import Awaitable, Callable
from typing import Annotated

import httpx
from fastapi import Depends, Request

from incidents.config import IncidentsSettings
from incidents.decision.service import Outside
from incidents.decision.upstream import UpstreamUnavailable, group_members
from incidents.decision.worker import Worker
from incidents.errors import DirectoryUnavailable
from kit.db import Database, SessionDep, database_of
from kit.identity import Caller, CallerDep, Role, require_roles


async def worker_of(request: Request) -> Worker:
    worker: Worker = request.app.state.worker
    return worker


async def outside_of(request: Request) -> Outside:
    """The gateway client (calls to coaching and the directory) and the retry schedule."""
    worker: Worker = request.app.state.worker
    return worker.outside


async def settings_of(request: Request) -> IncidentsSettings:
    settings: IncidentsSettings = request.app.state.settings
    return settings


IsMember = Callable[[str], Awaitable[bool]]


async def membership_of(request: Request, caller: CallerDep) -> IsMember:
    """Whether the caller is an active member of a directory group, asked of the directory
    when a route needs it (a works council approving the policy)."""
    gateway: httpx.AsyncClient = request.app.state.gateway

    async def is_member(group: str) -> bool:
        if caller.person_id is None:
            return False
        try:
            members = await group_members(gateway, group)
        except UpstreamUnavailable as exc:
            raise DirectoryUnavailable(
                f"Cannot ask the directory who is in the group {group} now; try again shortly."
            ) from exc
        return any(member.id == caller.person_id for member in members)

    return is_member


# The routes that decide an incident call coaching and the directory, which must not
# happen inside a write transaction (SessionDep holds one for the whole request: on SQLite
# the database-wide write lock). They take the database and open short transactions
# around those calls themselves (see ``incidents.decision.service.decide``).
DatabaseDep = Annotated[Database, Depends(database_of)]
WorkerDep = Annotated[Worker, Depends(worker_of)]
OutsideDep = Annotated[Outside, Depends(outside_of)]
SettingsDep = Annotated[IncidentsSettings, Depends(settings_of)]
MembershipDep = Annotated[IsMember, Depends(membership_of)]
HrDep = Annotated[Caller, Depends(require_roles(Role.HR))]
PolicyReaderDep = Annotated[Caller, Depends(require_roles(Role.HR, Role.LEGAL, Role.POLICY_OWNER))]

__all__ = [
    "CallerDep",
    "DatabaseDep",
    "HrDep",
    "IsMember",
    "MembershipDep",
    "OutsideDep",
    "PolicyReaderDep",
    "SessionDep",
    "SettingsDep",
    "WorkerDep",
]
