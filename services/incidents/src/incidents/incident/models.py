"""Incident and timeline tables."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ColumnElement, Index, bindparam, event, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.sqltypes import NullType
from sqlmodel import Field, col

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
from kit.crypto import EncryptedJSON, EncryptedText
from kit.db import UtcDateTime, str_enum, utcnow

# The open incidents someone must act on, in the one spelling the partial indexes below and
# ``actionable`` share: a planner uses a partial index only for a query whose condition is
# written as the index's (SQLite compares the terms literally, values and their order).
ACTIONABLE_ORDER = (IncidentStatus.DECIDED, IncidentStatus.IN_PROGRESS)
_ACTIONABLE_SQL = text(f"status IN ({', '.join(repr(s.value) for s in ACTIONABLE_ORDER)})")


def _newest_first(name: str, *columns: str) -> Index:
    """An index for a list filtered on ``columns``, newest first (``created_at, id``): a
    page is read straight off the index, whatever the table's size."""
    return Index(f"ix_incidents_{name}_created_at_id", *columns, "created_at", "id")


def _actionable(name: str, *columns: str) -> Index:
    return Index(
        f"ix_incidents_actionable_{name}",
        *columns,
        "id",
        sqlite_where=_ACTIONABLE_SQL,
        postgresql_where=_ACTIONABLE_SQL,
    )


class Incident(Versioned, Base, table=True):
    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_created_at_id", "created_at", "id"),
        Index("ix_incidents_person_id_occurred_at", "person_id", "occurred_at"),
        _newest_first("status", "status"),
        _newest_first("severity", "severity"),
        _newest_first("category", "category"),
        _newest_first("person_id", "person_id"),
        _newest_first("owner_id", "owner_id"),
        _newest_first("owner_role", "owner_role"),
        # Overdue and "my actions" read only the open incidents, however long the history.
        _actionable("created_at_id", "created_at"),
        _actionable("deadline_at_id", "deadline_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    person_id: uuid.UUID
    reporter_id: uuid.UUID = Field(index=True)
    channel: Channel = Field(sa_type=str_enum(Channel))
    links: list[str] = Field(default_factory=list, sa_type=JSON)
    occurred_at: dt.datetime = Field(sa_type=UtcDateTime)
    category: Category = Field(sa_type=str_enum(Category))
    clauses: list[str] = Field(default_factory=list, sa_type=JSON)
    # Encrypted at rest (kit.crypto): the raw database holds an envelope, never the text.
    description: str = Field(sa_type=EncryptedText("incidents", "incidents.description"))
    severity: Severity = Field(sa_type=str_enum(Severity))
    status: IncidentStatus = Field(
        default=IncidentStatus.REPORTED, sa_type=str_enum(IncidentStatus)
    )
    outcome: Outcome | None = Field(default=None, sa_type=str_enum(Outcome))
    # The effective decision, copied from it so lists can filter and sort without a join.
    decision_id: uuid.UUID | None = None
    action: Action | None = Field(default=None, sa_type=str_enum(Action))
    owner_role: OwnerRole | None = Field(default=None, sa_type=str_enum(OwnerRole))
    owner_id: uuid.UUID | None = None
    deadline_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    remedial_engagement_id: uuid.UUID | None = None
    # The decision in force suspends the person's ambassador role (coaching is told).
    suspends_ambassador: bool = False
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    closed_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    # Set by legal or the privacy officer (with a reason, on the timeline): nothing of the
    # incident is erased or removed by retention while it is set.
    legal_hold: str | None = Field(default=None, max_length=1000)


class _Likely(ColumnElement[bool]):
    """A condition most rows of the index it names meet. SQLite without statistics would
    rather look each status up in the status index and sort what it finds (every open
    incident) than read the partial index in order; ``likelihood`` tells it the condition
    does not narrow the partial index down. Other databases see the condition as it is."""

    inherit_cache = True
    # Not Boolean: SQLite would get ``... = 1``, which no partial index matches.
    type = NullType()  # type: ignore[assignment]

    def __init__(self, condition: ColumnElement[bool]) -> None:
        self.condition = condition


@compiles(_Likely)
def _likely_default(element: _Likely, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.condition, **kw)


@compiles(_Likely, "sqlite")
def _likely_sqlite(element: _Likely, compiler: SQLCompiler, **kw: Any) -> str:
    return f"likelihood({compiler.process(element.condition, **kw)}, 0.9)"


def actionable() -> ColumnElement[bool]:
    """``status IN ('decided', 'in_progress')`` with the values in the SQL text, so that the
    partial indexes on the open incidents serve it (bound parameters would hide them)."""
    statuses: BindParameter[list[str]] = bindparam(
        "actionable_statuses",
        value=[s.value for s in ACTIONABLE_ORDER],
        expanding=True,
        literal_execute=True,
    )
    return _Likely(col(Incident.status).in_(statuses))


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
    LEGAL_HOLD_SET = "legal_hold_set"
    LEGAL_HOLD_LIFTED = "legal_hold_lifted"
    # The modules training assigned for the clauses breached (or why it could not).
    REMEDIAL_TRAINING = "remedial_training"
    # The owner was reminded of the deadline; the deadline passed and who was told.
    DEADLINE_REMINDER = "deadline_reminder"
    DEADLINE_MISSED = "deadline_missed"


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
    # Encrypted at rest (kit.crypto): notes, reasons and what happened are texts about people.
    summary: str = Field(sa_type=EncryptedText("incidents", "timeline_entries.summary"))
    data: dict[str, Any] = Field(
        default_factory=dict, sa_type=EncryptedJSON("incidents", "timeline_entries.data")
    )
    at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class TimelineIsAppendOnly(RuntimeError):
    pass


@event.listens_for(TimelineEntry, "before_update")
@event.listens_for(TimelineEntry, "before_delete")
def _refuse_changes(*_: Any) -> None:
    raise TimelineIsAppendOnly("timeline entries are never changed or deleted")
