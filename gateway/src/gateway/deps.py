"""Dependencies the gateway's own routes share."""

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Request

from gateway.access import check_admin, check_directory_reader
from gateway.config import GatewaySettings
from kit.db import SessionDep
from kit.identity import Caller, CallerDep, UserDep


async def directory_reader(caller: CallerDep) -> Caller:
    check_directory_reader(caller)
    return caller


async def admin(caller: CallerDep) -> Caller:
    check_admin(caller)
    return caller


async def group_roles(request: Request) -> Mapping[str, str]:
    """The group -> role mapping (``GATEWAY_GROUP_ROLES``) that gives people their roles."""
    settings: GatewaySettings = request.app.state.settings
    return settings.group_roles


DirectoryReaderDep = Annotated[Caller, Depends(directory_reader)]
AdminDep = Annotated[Caller, Depends(admin)]
GroupRolesDep = Annotated[Mapping[str, str], Depends(group_roles)]

__all__ = [
    "AdminDep",
    "CallerDep",
    "DirectoryReaderDep",
    "GroupRolesDep",
    "SessionDep",
    "UserDep",
]
