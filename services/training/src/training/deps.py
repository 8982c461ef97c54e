"""Dependencies the training routes share."""

from typing import Annotated

import httpx
from fastapi import Depends, Request

from kit.db import SessionDep
from kit.identity import Caller, CallerDep, Role, require_roles
from training.config import TrainingSettings
from training.directory import Directory

# Every training route lives under this prefix (the gateway forwards it unchanged).
API_PREFIX = "/api/v1/training"


async def directory_of(request: Request) -> Directory:
    """The people directory, asked through the gateway as ``service:training``."""
    client: httpx.AsyncClient = request.app.state.gateway
    return Directory(client)


async def settings_of(request: Request) -> TrainingSettings:
    settings: TrainingSettings = request.app.state.settings
    return settings


DirectoryDep = Annotated[Directory, Depends(directory_of)]
SettingsDep = Annotated[TrainingSettings, Depends(settings_of)]

# Policy owners (the communications team) author the policy and the training content.
AuthorDep = Annotated[Caller, Depends(require_roles(Role.POLICY_OWNER, Role.ADMIN))]
# Writing a quiz returns its answer key: policy owners only (see access.ANSWER_KEY_READERS).
QuizAuthorDep = Annotated[Caller, Depends(require_roles(Role.POLICY_OWNER))]
# Who assigns training to people and departments.
AssignerDep = Annotated[Caller, Depends(require_roles(Role.POLICY_OWNER, Role.HR, Role.ADMIN))]
# Who reads the organisation-wide reports: HR, policy owners, admins, and integrators'
# API clients with the reports:read scope.
REPORTS_READ_SCOPE = "reports:read"
ReportReaderDep = Annotated[
    Caller,
    Depends(require_roles(Role.HR, Role.POLICY_OWNER, Role.ADMIN, scope=REPORTS_READ_SCOPE)),
]

__all__ = [
    "API_PREFIX",
    "AssignerDep",
    "AuthorDep",
    "CallerDep",
    "DirectoryDep",
    "QuizAuthorDep",
    "ReportReaderDep",
    "SessionDep",
    "SettingsDep",
]
