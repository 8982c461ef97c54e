"""Report API models."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field


class DepartmentAcknowledgements(BaseModel):
    department: str | None
    people: int
    acknowledged: int
    pending: int


class AcknowledgementReport(BaseModel):
    version_id: uuid.UUID
    version_number: int
    acknowledged: int
    pending: int
    departments: list[DepartmentAcknowledgements]


class PersonAcknowledgement(BaseModel):
    person_id: uuid.UUID
    display_name: str
    department: str | None
    acknowledged_at: dt.datetime | None


class DepartmentCompletion(BaseModel):
    department: str | None
    assigned: int
    completed: int
    in_progress: int
    not_started: int
    overdue: int
    superseded: int = Field(
        description="Closed open assignments of a version a material revision replaced."
    )
    left: int = Field(description="Open assignments closed because the person left.")


class CompletionReport(BaseModel):
    module_id: uuid.UUID | None
    departments: list[DepartmentCompletion]


class QuestionStatistics(BaseModel):
    question_id: uuid.UUID
    position: int
    prompt: str
    clause_numbers: list[str]
    answered: int
    missed: int
    miss_rate: float


class QuestionReport(BaseModel):
    module_id: uuid.UUID
    submitted_attempts: int
    questions: list[QuestionStatistics]
