"""API client request and response bodies."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from kit.fields import Storable


class Scope(StrEnum):
    """What an API client may do: each opens the routes ``gateway.access.SCOPE_ROUTES``
    lists (``scim``: ``/scim/v2``) and nothing else."""

    SCIM = "scim"
    DIRECTORY_READ = "directory:read"
    REPORTS_READ = "reports:read"


class ApiClientCreate(BaseModel):
    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Storable
    ]
    scopes: list[Scope] = Field(min_length=1, description="At least one scope.")


class ApiClientRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    scopes: list[Scope]
    created_by: uuid.UUID
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @field_validator("scopes", mode="before")
    @classmethod
    def _split_stored_scopes(cls, value: object) -> object:
        return value.split() if isinstance(value, str) else value


class ApiClientCreated(ApiClientRead):
    secret: str = Field(
        description="Send as `Authorization: Bearer <secret>`. Shown only in this response: "
        "it is stored hashed and cannot be read again."
    )
