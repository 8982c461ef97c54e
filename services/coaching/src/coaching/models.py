"""Coaching tables. API shapes live in ``schemas.py``."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import Index, Text, text
from sqlmodel import Field

from coaching.db import Base
from kit.concurrency import Versioned
from kit.crypto import EncryptedText
from kit.db import UtcDateTime, str_enum, utcnow


class Track(StrEnum):
    AMBASSADOR = "ambassador"
    REMEDIAL = "remedial"
    DEVELOPMENT = "development"


class Source(StrEnum):
    SELF_NOMINATION = "self_nomination"
    MANAGER_REFERRAL = "manager_referral"
    INCIDENT = "incident"
    TRAINING_SIGNAL = "training_signal"


class EngagementStatus(StrEnum):
    PROPOSED = "proposed"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


OPEN_STATUSES = (EngagementStatus.PROPOSED, EngagementStatus.ACTIVE)


class Outcome(StrEnum):
    GOALS_MET = "goals_met"
    PARTIALLY_MET = "partially_met"
    GOALS_NOT_MET = "goals_not_met"


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    HELD = "held"
    MISSED = "missed"
    CANCELLED = "cancelled"


class MeasureStatus(StrEnum):
    """Where the incident behind a measure stands, as incidents last told us."""

    OPEN = "open"  # being handled
    CLOSED = "closed"  # resolved as a violation
    WITHDRAWN = "withdrawn"  # dismissed, or no violation: nothing of it holds


class ApplicationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Coach(Versioned, Base, table=True):
    __tablename__ = "coaches"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    person_id: uuid.UUID = Field(unique=True)
    display_name: str = Field(max_length=200)
    capacity: int = Field(description="How many open engagements the coach takes at once.")
    active: bool = True
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)


class Engagement(Versioned, Base, table=True):
    __tablename__ = "engagements"
    __table_args__ = (
        # History of a person (incidents waits on it) and "my engagements" as coachee.
        Index("ix_engagements_coachee_id_created_at", "coachee_id", "created_at", "id"),
        # A coach's engagements, and counting a coach's open load.
        Index("ix_engagements_coach_id_status", "coach_id", "status"),
        Index("ix_engagements_created_at_id", "created_at", "id"),
        # Each filter of the engagements list reads its page off an index in the list's
        # order (issue 16). The status one also serves the candidates (proposed engagements,
        # oldest first, their source checked row by row: any other index on the source
        # could not give the order across two sources).
        Index("ix_engagements_status_created_at_id", "status", "created_at", "id"),
        # The candidates of one reason (one source): proposed ones of that source only, in
        # order, not every proposed engagement checked row by row.
        Index("ix_engagements_status_source_created_at_id", "status", "source", "created_at", "id"),
        # The candidates of a department: the proposed engagements of its people. With the
        # person's index alone PostgreSQL ANDed it with every proposed engagement's entry
        # in the status index (17 ms at a million rows); this one holds both terms.
        Index(
            "ix_engagements_coachee_id_status_created_at_id",
            "coachee_id",
            "status",
            "created_at",
            "id",
        ),
        Index("ix_engagements_coach_id_created_at_id", "coach_id", "created_at", "id"),
        Index("ix_engagements_track_created_at_id", "track", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    coachee_id: uuid.UUID
    coach_id: uuid.UUID | None = Field(default=None, foreign_key="coaches.id")
    track: Track = Field(sa_type=str_enum(Track))
    source: Source = Field(sa_type=str_enum(Source))
    # At most one engagement per incident: the unique index is what makes a concurrent
    # second create from incidents fall back to the first engagement.
    incident_id: uuid.UUID | None = Field(default=None, unique=True)
    goals: str = Field(sa_type=Text)
    status: EngagementStatus = Field(
        default=EngagementStatus.PROPOSED, sa_type=str_enum(EngagementStatus)
    )
    outcome: Outcome | None = Field(default=None, sa_type=str_enum(Outcome))
    closing_note: str | None = Field(default=None, sa_type=Text)
    created_by: str = Field(max_length=200, description="Principal key of the creator.")
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    started_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    completed_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    cancelled_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class CoachingSession(Versioned, Base, table=True):
    __tablename__ = "coaching_sessions"
    __table_args__ = (
        Index(
            "ix_coaching_sessions_engagement_id_scheduled_at", "engagement_id", "scheduled_at", "id"
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    engagement_id: uuid.UUID = Field(foreign_key="engagements.id")
    scheduled_at: dt.datetime = Field(sa_type=UtcDateTime)
    duration_minutes: int
    status: SessionStatus = Field(default=SessionStatus.SCHEDULED, sa_type=str_enum(SessionStatus))
    # Confidential: only the engagement's coach and coachee ever receive this.
    # Encrypted at rest (kit.crypto): the raw database holds an envelope, never the notes.
    notes: str | None = Field(
        default=None, sa_type=EncryptedText("coaching", "coaching_sessions.notes")
    )
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class AmbassadorApplication(Versioned, Base, table=True):
    __tablename__ = "ambassador_applications"
    __table_args__ = (
        # One live application (pending or approved) per person, even under concurrent applies.
        Index(
            "uq_ambassador_applications_one_live",
            "person_id",
            unique=True,
            sqlite_where=text("status IN ('pending', 'approved')"),
            postgresql_where=text("status IN ('pending', 'approved')"),
        ),
        Index("ix_ambassador_applications_status_created_at", "status", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    person_id: uuid.UUID
    motivation: str = Field(sa_type=Text)
    status: ApplicationStatus = Field(
        default=ApplicationStatus.PENDING, sa_type=str_enum(ApplicationStatus)
    )
    decided_by: uuid.UUID | None = None
    decided_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    decision_reason: str | None = Field(default=None, sa_type=Text)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class IncidentMeasure(Base, table=True):
    """What an incident's decision means here, as the incidents service last told us (an
    idempotent PUT per incident). An approved ambassador is suspended while a measure of
    theirs suspends and is not withdrawn, and its incident is open or its remedial
    engagement is (see ``ambassadors.service``)."""

    __tablename__ = "incident_measures"
    __table_args__ = (Index("ix_incident_measures_person_id", "person_id"),)

    incident_id: uuid.UUID = Field(primary_key=True)
    person_id: uuid.UUID
    suspends_ambassador: bool
    status: MeasureStatus = Field(sa_type=str_enum(MeasureStatus))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
