"""Policy API models."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kit.fields import Flag, Storable, Text, Timestamp
from training.policy.models import VersionStatus

ClauseNumber = Annotated[
    str,
    Field(
        pattern=r"^\d{1,3}(\.\d{1,3}){0,3}$",
        max_length=16,
        examples=["2.1"],
        description="Dotted clause number, e.g. `2.1`.",
    ),
    Storable,
]


class ClauseIn(BaseModel):
    number: ClauseNumber
    title: Text = Field(min_length=1, max_length=200)
    body: Text = Field(min_length=1, max_length=5000)


class ClauseRead(BaseModel):
    number: str
    title: str
    body: str


def _unique_numbers(clauses: list[ClauseIn] | None) -> list[ClauseIn] | None:
    if clauses is None:
        return None
    numbers = [clause.number for clause in clauses]
    duplicates = sorted({number for number in numbers if numbers.count(number) > 1})
    if duplicates:
        raise ValueError(f"clause numbers must be unique; repeated: {', '.join(duplicates)}")
    return clauses


class PolicyVersionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body_markdown: Text = Field(min_length=1, max_length=100_000)
    requires_acknowledgement: Flag = True
    effective_at: Timestamp | None = Field(
        default=None, description="When the version takes effect; the publish time if empty."
    )
    clauses: list[ClauseIn] = Field(default_factory=list, max_length=200)

    _unique = field_validator("clauses")(_unique_numbers)


class PolicyVersionUpdate(BaseModel):
    """Only the fields given change; `clauses`, when given, replaces the whole list."""

    model_config = ConfigDict(extra="forbid")

    body_markdown: Text | None = Field(default=None, min_length=1, max_length=100_000)
    requires_acknowledgement: Flag | None = None
    effective_at: Timestamp | None = None
    clauses: list[ClauseIn] | None = Field(default=None, max_length=200)

    _unique = field_validator("clauses")(_unique_numbers)


class PolicyVersionSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: int
    status: VersionStatus
    requires_acknowledgement: bool
    effective_at: dt.datetime | None
    published_at: dt.datetime | None
    retired_at: dt.datetime | None
    created_at: dt.datetime


class PolicyVersionRead(BaseModel):
    id: uuid.UUID
    policy_id: uuid.UUID
    title: str
    number: int
    status: VersionStatus
    body_markdown: str
    requires_acknowledgement: bool
    effective_at: dt.datetime | None
    published_at: dt.datetime | None
    retired_at: dt.datetime | None
    clauses: list[ClauseRead]


class AcknowledgementCreate(BaseModel):
    version_id: uuid.UUID = Field(
        description="The version you read; it must still be the current one."
    )


class AcknowledgementRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version_id: uuid.UUID
    person_id: uuid.UUID
    acknowledged_at: dt.datetime


class MyAcknowledgement(BaseModel):
    version_id: uuid.UUID
    version_number: int
    requires_acknowledgement: bool
    acknowledged_at: dt.datetime | None
