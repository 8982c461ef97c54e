"""Policy API models."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kit.fields import FieldInvalid, Flag, Integer, Storable, Text, Timestamp
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


RENEWAL_FIELD = "renew_acknowledgement_every_months"
RENEWAL_NEEDS_ACKNOWLEDGEMENT = "needs requires_acknowledgement: only acknowledgements are renewed"
RenewalMonths = Annotated[
    Integer,
    Field(
        ge=1,
        le=120,
        description="Recertification: each acknowledgement of the version is valid this many "
        "months; a renewal is requested ahead of expiry. null: valid forever.",
    ),
]


class AcknowledgementStatus(StrEnum):
    """A person's acknowledgement of the current version."""

    NOT_REQUIRED = "not_required"
    PENDING = "pending"
    ACKNOWLEDGED = "acknowledged"
    # Still valid, and the person was asked to renew it before it lapses.
    RENEWAL_DUE = "renewal_due"
    # Lapsed without a renewal.
    OVERDUE = "overdue"


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
    renew_acknowledgement_every_months: RenewalMonths | None = Field(
        default=None,
        description="Recertification: each acknowledgement is valid this many months; a "
        "renewal is requested ahead of expiry. Omitted: the latest version's setting; null: "
        "valid forever.",
    )
    effective_at: Timestamp | None = Field(
        default=None, description="When the version takes effect; the publish time if empty."
    )
    clauses: list[ClauseIn] = Field(default_factory=list, max_length=200)

    _unique = field_validator("clauses")(_unique_numbers)

    @model_validator(mode="after")
    def _renewal_needs_acknowledgement(self) -> PolicyVersionCreate:
        if self.renew_acknowledgement_every_months and not self.requires_acknowledgement:
            raise FieldInvalid(RENEWAL_FIELD, RENEWAL_NEEDS_ACKNOWLEDGEMENT)
        return self


class PolicyVersionUpdate(BaseModel):
    """Only the fields given change; `clauses`, when given, replaces the whole list."""

    model_config = ConfigDict(extra="forbid")

    body_markdown: Text | None = Field(default=None, min_length=1, max_length=100_000)
    requires_acknowledgement: Flag | None = None
    renew_acknowledgement_every_months: RenewalMonths | None = Field(
        default=None, description="null: acknowledgements of the version never expire."
    )
    effective_at: Timestamp | None = None
    clauses: list[ClauseIn] | None = Field(default=None, max_length=200)

    _unique = field_validator("clauses")(_unique_numbers)


class PolicyVersionSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: int
    status: VersionStatus
    requires_acknowledgement: bool
    renew_acknowledgement_every_months: int | None
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
    renew_acknowledgement_every_months: int | None = Field(
        description="Each acknowledgement is valid this many months (null: forever)."
    )
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
    expires_at: dt.datetime | None = Field(
        description="When it lapses and must have been renewed (null: never)."
    )


class MyAcknowledgement(BaseModel):
    version_id: uuid.UUID
    version_number: int
    requires_acknowledgement: bool
    status: AcknowledgementStatus
    acknowledged_at: dt.datetime | None = Field(description="The latest acknowledgement.")
    expires_at: dt.datetime | None = Field(description="When the latest one lapses (null: never).")
    renewal_requested_at: dt.datetime | None = Field(
        description="When the person was asked to renew it (null: not asked)."
    )
