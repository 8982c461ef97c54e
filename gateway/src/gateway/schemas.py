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


# How many people one lookup may ask for: a replay or a report names thousands at once,
# more than a query string holds (``GET /directory/people`` takes 200 ids).
LOOKUP_MAX_IDS = 10_000


class PeopleLookup(BaseModel):
    ids: list[uuid.UUID] = Field(
        min_length=1,
        max_length=LOOKUP_MAX_IDS,
        description=f"The people to look up (at most {LOOKUP_MAX_IDS}); unknown ids are "
        "left out of the answer.",
    )


class PersonBrief(BaseModel):
    """What a report or a replay needs of many people at once."""

    id: uuid.UUID
    display_name: str
    active: bool
    department: str | None
    manager_id: uuid.UUID | None


class PeopleLookupRead(BaseModel):
    items: list[PersonBrief] = Field(description="The people found, in id order.")


class PersonDetail(PersonRead):
    manager: ManagerSummary | None = Field(
        default=None,
        description="The person's manager (`manager_id`), so that a caller who needs both "
        "asks once.",
    )


class Me(PersonRead):
    roles: list[str]
