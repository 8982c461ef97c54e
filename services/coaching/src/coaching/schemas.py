"""Coaching API models (requests and responses)."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from coaching.models import (
    ApplicationStatus,
    EngagementStatus,
    MeasureStatus,
    Outcome,
    SessionStatus,
    Source,
    Track,
)
from kit.fields import Flag, Integer, Text, Timestamp
from kit.vouched import DirectoryRecord


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- coaches ----------------------------------------------------------------------------


class CoachCreate(Strict):
    person_id: uuid.UUID
    display_name: Text = Field(min_length=1, max_length=200)
    capacity: Integer = Field(ge=1, le=50, description="Open engagements the coach takes at once.")


class CoachRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    person_id: uuid.UUID
    display_name: str
    capacity: int
    active: bool
    created_at: dt.datetime
    open_engagements: int = Field(description="Proposed or active engagements assigned now.")
    available_slots: int = Field(description="`capacity - open_engagements`, never below 0.")


# -- engagements ------------------------------------------------------------------------


class EngagementCreate(Strict):
    coachee_id: uuid.UUID
    track: Track
    source: Source
    goals: Text = Field(min_length=1, max_length=4000)
    incident_id: uuid.UUID | None = Field(
        default=None, description="Required with source `incident`, refused otherwise."
    )
    coach_id: uuid.UUID | None = Field(
        default=None, description="Assign a coach now (HR, or a coach assigning themselves)."
    )
    directory_record: DirectoryRecord | None = Field(
        default=None,
        description="The coachee as the directory answered the incidents service moments "
        "ago: with source `incident` from the incidents service (`service:incidents`), "
        "coaching takes it as the directory's word that the coachee exists instead of asking "
        "the directory itself; from anyone else it is ignored.",
    )


class EngagementRead(BaseModel):
    """An engagement as everyone allowed to see it sees it: it never carries session notes."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    coachee_id: uuid.UUID
    coach_id: uuid.UUID | None
    track: Track
    source: Source
    incident_id: uuid.UUID | None
    goals: str
    status: EngagementStatus
    outcome: Outcome | None
    closing_note: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    completed_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    version: int


class CoachAssignment(Strict):
    coach_id: uuid.UUID


class EngagementCompletion(Strict):
    outcome: Outcome
    summary: Text | None = Field(
        default=None,
        max_length=2000,
        description="Shared with everyone who sees the engagement; keep confidential "
        "detail in session notes.",
    )


class EngagementCancellation(Strict):
    reason: Text = Field(min_length=1, max_length=2000)


# -- sessions ---------------------------------------------------------------------------


class SessionCreate(Strict):
    scheduled_at: Timestamp
    duration_minutes: Integer = Field(default=45, ge=10, le=240)


class SessionUpdate(Strict):
    """Change the status (scheduled → held, missed or cancelled) and/or the notes."""

    status: SessionStatus | None = None
    notes: Text | None = Field(default=None, max_length=20000)
    scheduled_at: Timestamp | None = Field(
        default=None, description="Reschedule; only while the session is scheduled."
    )


class SessionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    engagement_id: uuid.UUID
    scheduled_at: dt.datetime
    duration_minutes: int
    status: SessionStatus
    notes: str | None = Field(
        default=None,
        description="Confidential: only the engagement's coach and coachee receive it; "
        "always null for everyone else.",
    )
    created_at: dt.datetime
    version: int


# -- history (read by incidents) --------------------------------------------------------


class HistoryEngagement(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    track: Track
    status: EngagementStatus
    outcome: Outcome | None
    started_at: dt.datetime | None
    completed_at: dt.datetime | None
    incident_id: uuid.UUID | None


class RemedialModule(BaseModel):
    """A module training assigned after an incident, with its status now."""

    model_config = ConfigDict(extra="ignore")

    incident_id: uuid.UUID
    module_id: uuid.UUID
    module_title: str
    clause_numbers: list[str]
    due_at: dt.datetime
    status: str
    completed_at: dt.datetime | None


class History(BaseModel):
    person_id: uuid.UUID
    window_days: int
    engagements: list[HistoryEngagement] = Field(
        description="Engagements open now or created, completed or cancelled in the window, "
        "newest first."
    )
    remedial_completed_in_window: int = Field(
        description="Remedial engagements completed within the window."
    )
    remedial_active: int = Field(
        description="Remedial engagements still open (proposed or active)."
    )
    remedial_training: list[RemedialModule] | None = Field(
        default=None,
        description="With `include_training=true`: the modules training assigned after each "
        "incident, with their status and completion (asked of training).",
    )


class WindowCount(BaseModel):
    window_days: int
    remedial_completed: int = Field(description="Remedial engagements completed within the window.")


class RemedialCounts(BaseModel):
    """Only what deciding an incident needs of a person's history, for every look-back
    window it asks about, in one answer (the engagements themselves are not listed)."""

    person_id: uuid.UUID
    remedial_active: int = Field(
        description="Remedial engagements still open (proposed or active)."
    )
    windows: list[WindowCount] = Field(description="One per window asked, in that order.")


# -- ambassador program -----------------------------------------------------------------


class ApplicationCreate(Strict):
    motivation: Text = Field(min_length=20, max_length=4000)


class ApplicationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    person_id: uuid.UUID
    motivation: str
    status: ApplicationStatus
    decided_by: uuid.UUID | None
    decided_at: dt.datetime | None
    decision_reason: str | None
    created_at: dt.datetime
    version: int


class ApplicationDecision(Strict):
    reason: Text | None = Field(default=None, max_length=2000)


class Ineligibility(StrEnum):
    TRAINING_NOT_COMPLETED = "training_not_completed"
    OPEN_REMEDIAL_ENGAGEMENT = "open_remedial_engagement"
    ALREADY_APPLIED = "already_applied"


class EligibilityReason(BaseModel):
    code: Ineligibility
    detail: str


class Eligibility(BaseModel):
    person_id: uuid.UUID
    eligible: bool
    reasons: list[EligibilityReason] = Field(description="Why not, when not eligible.")


class AmbassadorStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class AmbassadorRead(BaseModel):
    person_id: uuid.UUID
    application_id: uuid.UUID
    since: dt.datetime
    status: AmbassadorStatus = Field(
        description="`suspended` while a remedial engagement is open; only policy owners "
        "and HR see suspended ambassadors."
    )


# -- candidates -------------------------------------------------------------------------


class CandidateReason(StrEnum):
    QUIZ_ATTEMPTS_EXHAUSTED = "quiz_attempts_exhausted"
    TRAINING_OVERDUE = "training_overdue"
    REMEDIAL_PROPOSED = "remedial_proposed"
    SELF_NOMINATION = "self_nomination"


class Candidate(BaseModel):
    person_id: uuid.UUID
    reason: CandidateReason
    since: dt.datetime
    detail: str
    display_name: str | None = None
    department: str | None = None
    engagement_id: uuid.UUID | None = Field(
        default=None, description="The proposed engagement, for coaching's own reasons."
    )
    module_id: uuid.UUID | None = Field(
        default=None, description="The training module, for training's reasons."
    )


class RemedialOpening(Strict):
    goals: Text = Field(min_length=1, max_length=4000)


class IncidentMeasuresPut(Strict):
    """The incident's measures as they are now (sent by the incidents service)."""

    person_id: uuid.UUID = Field(description="The person concerned.")
    suspends_ambassador: Flag = Field(
        description="The decision in force suspends the person's ambassador role."
    )
    status: MeasureStatus = Field(
        description="`open` while it is handled, `closed` once resolved as a violation, "
        "`withdrawn` when dismissed or found no violation (lifts the suspension at once and "
        "cancels the incident's remedial engagement)."
    )
    reason: Text | None = Field(
        default=None, max_length=200, description="Why it was withdrawn, for the engagement."
    )
    remedial: RemedialOpening | None = Field(
        default=None,
        description="Also open the incident's remedial engagement (`open` only), in the same "
        "transaction, as `POST /engagements` with source `incident` would: one call where "
        "a coaching decision needs both.",
    )
    directory_record: DirectoryRecord | None = Field(
        default=None,
        description="The person as the directory answered the incidents service moments "
        "ago: with `remedial`, coaching takes it as the directory's word that the coachee "
        "exists instead of asking the directory itself (as on `POST /engagements`).",
    )


class IncidentMeasuresRead(BaseModel):
    incident_id: uuid.UUID
    person_id: uuid.UUID
    suspends_ambassador: bool
    status: MeasureStatus
    ambassador_suspended: bool = Field(description="The person's ambassador role is suspended now.")
    suspension_lifted: bool = Field(description="This update lifted their suspension.")
    engagement_cancelled: bool = Field(
        description="This update cancelled the incident's remedial engagement."
    )
    engagement_id: uuid.UUID | None = Field(
        default=None, description="The remedial engagement, when `remedial` asked for it."
    )
