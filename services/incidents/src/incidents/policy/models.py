"""Escalation policy tables."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import JSON, Index, UniqueConstraint, text
from sqlmodel import Field

from incidents.db import Base
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
