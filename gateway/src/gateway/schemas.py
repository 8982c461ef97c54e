"""Gateway API models (requests and responses)."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field


class PersonRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    external_id: str | None
    user_name: str
    display_name: str
    given_name: str | None
    family_name: str | None
    email: str | None
    active: bool
    department: str | None
    title: str | None
    manager_id: uuid.UUID | None
    locale: str | None
    deactivated_at: dt.datetime | None = Field(
        default=None, description="When the person was deactivated (left); `null` if active."
    )


class ManagerSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    display_name: str
    active: bool


class PersonDetail(PersonRead):
    manager: ManagerSummary | None = Field(
        default=None,
        description="The person's manager (`manager_id`), so that a caller who needs both "
        "asks once.",
    )


class Me(PersonRead):
    roles: list[str]
