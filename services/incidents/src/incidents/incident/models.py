"""Incident and timeline tables."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, Text, event
from sqlmodel import Field

from incidents.db import Base
from incidents.domain import (
    Action,
    Category,
    Channel,
    IncidentStatus,
    Outcome,
    OwnerRole,
    Severity,
)
from kit.concurrency import Versioned
from kit.db import UtcDateTime, str_enum, utcnow


class Incident(Versioned, Base, table=True):
    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_created_at_id", "created_at", "id"),
        Index("ix_incidents_person_id_occurred_at", "person_id", "occurred_at"),
        Index("ix_incidents_status_created_at", "status", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    person_id: uuid.UUID
    reporter_id: uuid.UUID = Field(index=True)
    channel: Channel = Field(sa_type=str_enum(Channel))
    links: list[str] = Field(default_factory=list, sa_type=JSON)
    occurred_at: dt.datetime = Field(sa_type=UtcDateTime)
    category: Category = Field(sa_type=str_enum(Category))
    clauses: list[str] = Field(default_factory=list, sa_type=JSON)
    description: str = Field(sa_type=Text)
    severity: Severity = Field(sa_type=str_enum(Severity))
    status: IncidentStatus = Field(
        default=IncidentStatus.REPORTED, sa_type=str_enum(IncidentStatus)
    )
    outcome: Outcome | None = Field(default=None, sa_type=str_enum(Outcome))
    # The effective decision, copied from it so lists can filter and sort without a join.
    decision_id: uuid.UUID | None = None
    action: Action | None = Field(default=None, sa_type=str_enum(Action))
    owner_role: OwnerRole | None = Field(default=None, sa_type=str_enum(OwnerRole))
    owner_id: uuid.UUID | None = Field(default=None, index=True)
    deadline_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)
    remedial_engagement_id: uuid.UUID | None = None
    # The decision in force suspends the person's ambassador role (coaching is told).
    suspends_ambassador: bool = False
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    closed_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)


class TimelineKind(StrEnum):
    REPORTED = "reported"
    AWAITING_HISTORY = "awaiting_history"
    DECIDED = "decided"
    OVERRIDDEN = "overridden"
    CONTACTED = "contacted"
    STATUS_CHANGED = "status_changed"
    NOTE = "note"
    REMEDIAL_REQUESTED = "remedial_requested"
    REMEDIAL_OPENED = "remedial_opened"
    # The person's history changed after the decision; the owner should review it.
    HISTORY_CHANGED = "history_changed"
    # What coaching did about the incident: a suspension, its lifting, a cancellation.
    COACHING_MEASURES = "coaching_measures"


class TimelineEntry(Base, table=True):
    """Append-only: there is no route to change or delete an entry, and the ORM refuses to."""

    __tablename__ = "timeline_entries"
    __table_args__ = (Index("ix_timeline_entries_incident_id_seq", "incident_id", "seq"),)

    # An integer key gives the order entries were written in, even within one transaction.
    seq: int | None = Field(default=None, primary_key=True)
    incident_id: uuid.UUID = Field(foreign_key="incidents.id")
    kind: TimelineKind = Field(sa_type=str_enum(TimelineKind))
    actor: str = Field(max_length=200, description="person:<id> or service:<name>")
    actor_id: uuid.UUID | None = None
    summary: str = Field(sa_type=Text)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class TimelineIsAppendOnly(RuntimeError):
    pass


@event.listens_for(TimelineEntry, "before_update")
@event.listens_for(TimelineEntry, "before_delete")
def _refuse_changes(*_: Any) -> None:
    raise TimelineIsAppendOnly("timeline entries are never changed or deleted")
