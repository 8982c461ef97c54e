"""Remedial training API models."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field

from kit.fields import Timestamp
from kit.vouched import DirectoryRecord
from training.assignments.schemas import ProgressStatus
from training.policy.schemas import ClauseNumber


class RemedialCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    incident_id: uuid.UUID = Field(description="The incident; asking again changes nothing.")
    person_id: uuid.UUID
    clause_numbers: list[ClauseNumber] = Field(
        min_length=1, max_length=50, description="The policy clauses the incident breached."
    )
    due_at: Timestamp | None = Field(
        default=None,
        description="When the modules must be completed (default: "
        "`TRAINING_REMEDIAL_DUE_DAYS` from now).",
    )
    directory_record: DirectoryRecord | None = Field(
        default=None,
        description="The person as the directory answered the incidents service moments "
        "ago: taken in place of training's own directory lookup when the caller is the "
        "incidents service (`service:incidents`), ignored for anyone else.",
    )


class RemedialRead(BaseModel):
    incident_id: uuid.UUID
    person_id: uuid.UUID
    module_id: uuid.UUID
    module_title: str
    clause_numbers: list[str] = Field(description="The breached clauses this module teaches.")
    assignment_id: uuid.UUID
    due_at: dt.datetime
    status: ProgressStatus
    completed_at: dt.datetime | None
    created_at: dt.datetime


class RemedialBatch(BaseModel):
    incident_id: uuid.UUID
    items: list[RemedialRead]
    uncovered_clauses: list[str] = Field(
        description="Breached clauses no published module teaches (write one)."
    )
