"""Report API models."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field

from training.policy.schemas import AcknowledgementStatus

ACKNOWLEDGED = "Valid acknowledgements (renewal due or not)."
RENEWAL_DUE = "Of the acknowledged, those asked to renew before their acknowledgement lapses."
PENDING = "Never acknowledged this version."
OVERDUE = "Acknowledgement lapsed without a renewal (recertification)."


class DepartmentAcknowledgements(BaseModel):
    department: str | None
    people: int = Field(description="acknowledged + pending + overdue.")
    acknowledged: int = Field(description=ACKNOWLEDGED)
    renewal_due: int = Field(description=RENEWAL_DUE)
    pending: int = Field(description=PENDING)
    overdue: int = Field(description=OVERDUE)


class AcknowledgementReport(BaseModel):
    version_id: uuid.UUID
    version_number: int
    acknowledged: int = Field(description=ACKNOWLEDGED)
    renewal_due: int = Field(description=RENEWAL_DUE)
    pending: int = Field(description=PENDING)
    overdue: int = Field(description=OVERDUE)
    departments: list[DepartmentAcknowledgements]


class PersonAcknowledgement(BaseModel):
    person_id: uuid.UUID
    display_name: str
    department: str | None
    status: AcknowledgementStatus
    acknowledged_at: dt.datetime | None = Field(description="The latest acknowledgement.")
    expires_at: dt.datetime | None = Field(description="When it lapses (null: never).")


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


class EffectGroup(BaseModel):
    group: str | None = Field(description="The training status, or the department.")
    people: int
    incidents: int
    per_100_people: float | None = Field(description="null when the group has nobody.")


class EffectQuarter(BaseModel):
    quarter: str = Field(examples=["2026-Q3"])
    starts_at: dt.datetime
    by_training_status: list[EffectGroup] = Field(
        description="`completed`, `assigned`, `overdue`, `not_assigned` at the quarter's start."
    )
    by_department: list[EffectGroup]


class RepeatRate(BaseModel):
    incidents: int
    repeated: int
    rate: float | None = Field(description="repeated / incidents (null without incidents).")


class RepeatRates(BaseModel):
    after_completed_coaching: RepeatRate
    without_completed_coaching: RepeatRate


class RemedialTiming(BaseModel):
    incidents_with_remedial_training: int
    completed: int = Field(description="Incidents whose remedial modules are all completed.")
    median_days: float | None
    mean_days: float | None


class EffectReport(BaseModel):
    """See the README's "Programme effect" for every definition."""

    quarters: list[EffectQuarter]
    repeat_incidents: RepeatRates
    remedial_training: RemedialTiming
