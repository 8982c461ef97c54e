"""Assignment, progress and signal API models."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from kit.db import utcnow
from kit.fields import FieldInvalid, Storable, Timestamp
from training.policy.schemas import MyAcknowledgement

Department = Annotated[str, Field(min_length=1, max_length=200), Storable]


class ProgressStatus(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    OVERDUE = "overdue"
    # Closed without completion, never overdue: a material revision replaced the version,
    # or the person left.
    SUPERSEDED = "superseded"
    LEFT = "left"


class SignalReason(StrEnum):
    QUIZ_ATTEMPTS_EXHAUSTED = "quiz_attempts_exhausted"
    TRAINING_OVERDUE = "training_overdue"


class AssignmentCreate(BaseModel):
    module_id: uuid.UUID
    person_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)
    departments: list[Department] = Field(default_factory=list, max_length=50)
    due_at: Timestamp = Field(description="When the module must be completed (UTC).")

    @model_validator(mode="after")
    def _someone(self) -> AssignmentCreate:
        if not self.person_ids and not self.departments:
            raise FieldInvalid("person_ids", "give person_ids, departments or both")
        if self.due_at <= utcnow():
            raise FieldInvalid("due_at", "must be in the future")
        return self


class AssignmentRead(BaseModel):
    assignment_id: uuid.UUID
    person_id: uuid.UUID
    module_id: uuid.UUID
    module_title: str
    department: str | None
    due_at: dt.datetime
    status: ProgressStatus
    completed_at: dt.datetime | None
    closed_at: dt.datetime | None = None


class AssignmentBatchRead(BaseModel):
    module_id: uuid.UUID
    due_at: dt.datetime
    created: list[AssignmentRead]
    already_assigned: list[uuid.UUID] = Field(
        description="People who already had this module; their due date is unchanged."
    )


class ProgressAssignment(BaseModel):
    assignment_id: uuid.UUID
    module_id: uuid.UUID
    module_title: str
    due_at: dt.datetime
    status: ProgressStatus
    completed_at: dt.datetime | None
    closed_at: dt.datetime | None = None


class PersonProgress(BaseModel):
    person_id: uuid.UUID
    core_training_completed: bool = Field(
        description="Whether the person passed the social media core training."
    )
    assignments: list[ProgressAssignment]
    acknowledgement: MyAcknowledgement | None = Field(
        default=None,
        description="The person's acknowledgement of the current policy (null while none is "
        "published); `overdue` once it lapsed without a renewal.",
    )


class SignalRead(BaseModel):
    person_id: uuid.UUID
    reason: SignalReason
    module_id: uuid.UUID | None = Field(
        description="The module (null for a lapsed policy acknowledgement)."
    )
    policy_version_id: uuid.UUID | None = Field(
        default=None,
        description="The policy version whose acknowledgement lapsed without a renewal "
        "(reason `training_overdue`, no module).",
    )
    detail: str
    since: dt.datetime
