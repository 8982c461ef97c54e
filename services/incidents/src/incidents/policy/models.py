"""Escalation policy tables."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, UniqueConstraint, event, text
from sqlalchemy import Text as SqlText
from sqlmodel import Field

from incidents.db import Base
from incidents.domain import DEFAULT_ON_DEADLINE_MISSED
from kit.concurrency import Versioned
from kit.db import UtcDateTime, str_enum, utcnow


class PolicyStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


def _at_most_one(status: PolicyStatus) -> Index:
    condition = text(f"status = '{status.value}'")
    return Index(
        f"uq_escalation_policies_one_{status.value}",
        "status",
        unique=True,
        sqlite_where=condition,
        postgresql_where=condition,
    )


class EscalationPolicy(Versioned, Base, table=True):
    """The scheme agreed beforehand with HR, legal and other stakeholders: an ordered list
    of rules, versioned. Published versions never change; at most one version is
    published and at most one is a draft being edited."""

    __tablename__ = "escalation_policies"
    __table_args__ = (
        UniqueConstraint("number"),
        _at_most_one(PolicyStatus.PUBLISHED),
        _at_most_one(PolicyStatus.DRAFT),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    number: int
    status: PolicyStatus = Field(default=PolicyStatus.DRAFT, sa_type=str_enum(PolicyStatus))
    notes: str | None = None
    created_by: uuid.UUID | None = None
    published_by: uuid.UUID | None = None
    published_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    # Submitted for approval: from then on approvers may approve or reject its content.
    submitted_by: uuid.UUID | None = None
    submitted_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    # The approvers it needed when it was published (they can change afterwards).
    required_approvers: list[str] | None = Field(default=None, sa_type=JSON)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class EscalationRule(Base, table=True):
    """One rule; the conditions left empty (or ``None``) match anything."""

    __tablename__ = "escalation_rules"
    __table_args__ = (UniqueConstraint("policy_id", "position"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    policy_id: uuid.UUID = Field(foreign_key="escalation_policies.id", index=True)
    position: int
    name: str = Field(max_length=200)
    severities: list[str] = Field(default_factory=list, sa_type=JSON)
    categories: list[str] = Field(default_factory=list, sa_type=JSON)
    min_prior_incidents: int | None = None
    min_completed_remedial: int | None = None
    window_days: int = 365
    action: str = Field(max_length=32)
    contacts: list[str] = Field(default_factory=list, sa_type=JSON)
    owner_role: str = Field(max_length=32)
    deadline_hours: int
    # Part of the scheme agreed beforehand: a decision by this rule suspends the person's
    # ambassador role while the incident is handled (a report alone never does).
    suspends_ambassador: bool = False
    # Clauses of the organisation's other policies the rule follows (a code of conduct):
    # ``[{"policy", "clause", "note"}]``, shown to approvers and copied into each decision.
    references: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    # Who is told, beyond the owner, when a decision by this rule passes its deadline with
    # the incident still open (``incidents.reminders``).
    on_deadline_missed: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ON_DEADLINE_MISSED), sa_type=JSON
    )


class Verdict(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"


class PolicyApproval(Base, table=True):
    """One approver's verdict on one exact content of a version (``content_hash``: the
    rules and notes). An edit that changes the content withdraws it (``withdrawn_at``);
    the row stays, so the withdrawal is visible."""

    __tablename__ = "escalation_policy_approvals"
    __table_args__ = (
        # Approving (or rejecting) the same content twice for the same approver is refused.
        Index(
            "uq_escalation_policy_approvals_standing",
            "policy_id",
            "approver",
            "person_id",
            "content_hash",
            unique=True,
            sqlite_where=text("withdrawn_at IS NULL"),
            postgresql_where=text("withdrawn_at IS NULL"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    policy_id: uuid.UUID = Field(foreign_key="escalation_policies.id", index=True)
    # The approver it counts for: a role (``hr``) or ``group:<name>``.
    approver: str = Field(max_length=110)
    person_id: uuid.UUID
    verdict: Verdict = Field(sa_type=str_enum(Verdict))
    comment: str | None = Field(default=None, sa_type=SqlText)
    content_hash: str = Field(max_length=64)
    at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    withdrawn_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)


class PolicyApprover(Base, table=True):
    """An approver HR added beyond those the settings require (a works council group)."""

    __tablename__ = "escalation_policy_approvers"

    approver: str = Field(max_length=110, primary_key=True)
    added_by: uuid.UUID | None = None
    added_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class PolicyEventKind(StrEnum):
    CREATED = "created"
    EDITED = "edited"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    APPROVAL_WITHDRAWN = "approval_withdrawn"
    APPROVERS_CHANGED = "approvers_changed"
    PUBLISHED = "published"
    RETIRED = "retired"


class PolicyEvent(Base, table=True):
    """The timeline of one version of the policy: every step from draft to retirement.
    Append-only, like an incident's timeline."""

    __tablename__ = "escalation_policy_events"
    __table_args__ = (Index("ix_escalation_policy_events_policy_id_seq", "policy_id", "seq"),)

    seq: int | None = Field(default=None, primary_key=True)
    policy_id: uuid.UUID = Field(foreign_key="escalation_policies.id")
    kind: PolicyEventKind = Field(sa_type=str_enum(PolicyEventKind))
    actor: str = Field(max_length=200, description="person:<id> or service:<name>")
    actor_id: uuid.UUID | None = None
    summary: str = Field(sa_type=SqlText)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class PolicyEventIsAppendOnly(RuntimeError):
    pass


@event.listens_for(PolicyEvent, "before_update")
@event.listens_for(PolicyEvent, "before_delete")
def _refuse_changes(*_: Any) -> None:
    raise PolicyEventIsAppendOnly("policy timeline entries are never changed or deleted")


class ReplayStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class PolicyReplay(Base, table=True):
    """A draft evaluated over the decisions of a past window. Small windows are replayed
    within the request; large ones are claimed by a background worker (with a lease, so
    a replica that dies hands it on) and report their progress here."""

    __tablename__ = "escalation_policy_replays"
    __table_args__ = (
        Index("ix_escalation_policy_replays_policy_id_created_at", "policy_id", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    policy_id: uuid.UUID = Field(foreign_key="escalation_policies.id")
    # The draft's content when the replay started: an edit makes the replay stale.
    content_hash: str = Field(max_length=64)
    requested_by: uuid.UUID | None = None
    since: dt.datetime = Field(sa_type=UtcDateTime)
    until: dt.datetime = Field(sa_type=UtcDateTime)
    status: ReplayStatus = Field(default=ReplayStatus.QUEUED, sa_type=str_enum(ReplayStatus))
    total: int = 0
    processed: int = 0
    result: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    error: str | None = Field(default=None, max_length=500)
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    leased_until: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    finished_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
