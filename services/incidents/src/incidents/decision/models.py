"""Decision, assignment and pending-work tables."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, Text, UniqueConstraint
from sqlmodel import Field

from incidents.db import Base
from incidents.domain import Action, OwnerRole
from kit.crypto import EncryptedText
from kit.db import UtcDateTime, str_enum, utcnow


class DecisionKind(StrEnum):
    POLICY = "policy"
    OVERRIDE = "override"


class Trigger(StrEnum):
    REPORTED = "reported"
    REQUESTED = "requested"
    RETRIED = "retried"
    OVERRIDE = "override"
    # The person's history changed after the decision (an earlier post reported later).
    RECOUNTED = "recounted"


class Decision(Base, table=True):
    """What was decided and on what grounds. Never changed: an override is a new row."""

    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_incident_id_created_at", "incident_id", "created_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    incident_id: uuid.UUID = Field(foreign_key="incidents.id")
    kind: DecisionKind = Field(sa_type=str_enum(DecisionKind))
    trigger: Trigger = Field(sa_type=str_enum(Trigger))
    action: Action = Field(sa_type=str_enum(Action))
    policy_id: uuid.UUID | None = None
    policy_number: int | None = None
    rule_position: int | None = None
    rule_name: str | None = Field(default=None, max_length=200)
    facts: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    # The clauses of other policies the deciding rule refers to, as they were then.
    references: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    checks: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    explanation: str = Field(sa_type=Text)
    contacts: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    owner_role: OwnerRole = Field(sa_type=str_enum(OwnerRole))
    owner_id: uuid.UUID | None = None
    # The owner is not the rule's because a party to the incident held that role:
    # ``person_concerned`` or ``reporter`` (the latter is shown only to who sees the reporter).
    owner_conflict: str | None = Field(default=None, max_length=32)
    owner_note: str | None = Field(default=None, sa_type=Text)
    deadline_at: dt.datetime = Field(sa_type=UtcDateTime)
    suspends_ambassador: bool = False
    # An override's reason, encrypted at rest (kit.crypto).
    reason: str | None = Field(default=None, sa_type=EncryptedText("incidents", "decisions.reason"))
    decided_by: uuid.UUID | None = None
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class AssignmentKind(StrEnum):
    CONTACT = "contact"
    OWNER = "owner"


class Assignment(Base, table=True):
    """Who must act on an incident under its effective decision: a person, or everyone
    holding a role. Replaced when the effective decision changes (the decisions keep the
    history); read for access and for each person's "my actions" list."""

    __tablename__ = "incident_assignments"
    __table_args__ = (
        Index("ix_incident_assignments_person_id_incident_id", "person_id", "incident_id"),
        Index("ix_incident_assignments_role_incident_id", "role", "incident_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    incident_id: uuid.UUID = Field(foreign_key="incidents.id", index=True)
    kind: AssignmentKind = Field(sa_type=str_enum(AssignmentKind))
    person_id: uuid.UUID | None = None
    role: str | None = Field(default=None, max_length=32)


class JobKind(StrEnum):
    DECIDE = "decide"
    OPEN_REMEDIAL = "open_remedial"
    # Count the person's prior incidents again: decide again, or flag to the owner.
    RECOUNT = "recount"
    # Tell coaching what the incident means for the person now: an ambassador suspension
    # while it is handled; a dismissal cancels its remedial coaching.
    SYNC_COACHING = "sync_coaching"


class PendingJob(Base, table=True):
    """Work that needs another service and is retried until it succeeds. Kept in the
    database so it survives a restart and any replica can pick it up; at most one of each
    kind per incident."""

    __tablename__ = "pending_jobs"
    __table_args__ = (UniqueConstraint("incident_id", "kind"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    incident_id: uuid.UUID = Field(foreign_key="incidents.id")
    kind: JobKind = Field(sa_type=str_enum(JobKind))
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    # A replica working on the job holds it until then; past it, another may take over.
    leased_until: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class PersonRecord(Base, table=True):
    """One row per person reported: its version moves with every write that decisions
    about the person depend on, so they are taken one at a time (``decision.person``)."""

    __tablename__ = "person_records"

    person_id: uuid.UUID = Field(primary_key=True)
    version: int = 0
