"""Dependencies the gateway's own routes share."""

from typing import Annotated

from fastapi import Depends

from gateway.access import check_admin, check_directory_reader
from kit.db import SessionDep
from kit.identity import Caller, CallerDep, UserDep


def directory_reader(caller: CallerDep) -> Caller:
    check_directory_reader(caller)
    return caller


def admin(caller: CallerDep) -> Caller:
    check_admin(caller)
    return caller


DirectoryReaderDep = Annotated[Caller, Depends(directory_reader)]
AdminDep = Annotated[Caller, Depends(admin)]

__all__ = ["AdminDep", "CallerDep", "DirectoryReaderDep", "SessionDep", "UserDep"]
