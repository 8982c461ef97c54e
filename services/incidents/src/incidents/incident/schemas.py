"""Incident API models: reports, views, decisions, lifecycle, timeline."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    field_validator,
    model_validator,
)

from incidents.domain import (
    Action,
    Category,
    Channel,
    ContactKind,
    IncidentStatus,
    Outcome,
    OwnerRole,
    Severity,
)
from incidents.incident.access import View
from incidents.incident.models import TimelineKind
from incidents.policy.schemas import (
    MAX_DEADLINE_HOURS,
    ContactSpec,
    PolicyReference,
    RuleCheckRead,
)
from kit.db import utcnow
from kit.fields import FieldInvalid, Flag, Integer, Storable, Timestamp

# Reports may come from a device whose clock is a little ahead.
CLOCK_SKEW = dt.timedelta(minutes=5)

ClauseNumber = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^\d{1,3}(\.\d{1,3}){0,3}$"),
    Storable,
    Field(description="A clause of the social media policy, e.g. `4.2`.", examples=["4.2"]),
]
LongText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000), Storable
]
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=10, max_length=4000),
    Storable,
    Field(description="Why; at least 10 characters, kept on the timeline."),
]


class IncidentCreate(BaseModel):
    """A report about a person's post(s)."""

    model_config = ConfigDict(extra="forbid")

    person_id: uuid.UUID = Field(description="The person concerned (directory id).")
    channel: Channel
    links: list[HttpUrl] = Field(min_length=1, max_length=20, description="Links to the posts.")
    occurred_at: Timestamp = Field(description="When it was posted (with a timezone).")
    category: Category
    clauses: list[ClauseNumber] = Field(default_factory=list, max_length=20)
    description: LongText
    severity: Severity

    @field_validator("occurred_at")
    @classmethod
    def _not_in_the_future(cls, value: dt.datetime) -> dt.datetime:
        if value > utcnow() + CLOCK_SKEW:
            raise ValueError("cannot be in the future")
        return value

    @field_validator("links")
    @classmethod
    def _distinct_links(cls, links: list[HttpUrl]) -> list[HttpUrl]:
        if len({str(link) for link in links}) != len(links):
            raise ValueError("list each link once")
        return links


class ContactRead(BaseModel):
    """One person contacted, and why: the rule's contact (`spec`) they were resolved from
    through the directory. `unresolved` when nobody answers to it (no manager, nobody holds
    the role, a group without active members); `note` says which."""

    kind: ContactKind = Field(description="Why: the person's manager, HR, legal or a group.")
    spec: str = Field(description="The rule's contact: manager, hr, legal or group:<name>.")
    person_id: uuid.UUID | None = Field(description="The person contacted; null if unresolved.")
    display_name: str | None
    role: str | None = Field(
        description="The role they were contacted for (hr, legal). Unresolved: the role the "
        "incident stays assigned to."
    )
    group: str | None = Field(description="The group they were contacted as a member of.")
    unresolved: bool = False
    conflict_of_interest: bool = Field(
        default=False,
        description="Contacted in place of the rule's contact (`spec`), which only the person "
        "concerned holds; `note` says so.",
    )
    note: str | None = None


class DecisionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str = Field(description="policy | override")
    trigger: str = Field(description="reported | requested | retried | override")
    action: Action
    policy_id: uuid.UUID | None
    policy_number: int | None = Field(description="The policy version the decision used.")
    rule_position: int | None
    rule_name: str | None
    references: list[PolicyReference] = Field(
        default_factory=list,
        description="Clauses of the organisation's other policies the deciding rule follows: "
        "handle the breach consistently with them.",
    )
    facts: dict[str, Any] | None = Field(description="The facts the policy was evaluated on.")
    explanation: str
    checks: list[RuleCheckRead] = Field(
        description="Each rule, in order, and why it (not) matched."
    )
    contacts: list[ContactRead]
    owner_role: OwnerRole
    owner_id: uuid.UUID | None
    owner_conflict_of_interest: bool = Field(
        default=False,
        description="The owner is not the rule's: a party to the incident held that role.",
    )
    owner_note: str | None = Field(default=None, description="Why the owner is not the rule's.")
    deadline_at: dt.datetime
    suspends_ambassador: bool = Field(
        description="It suspends the person's ambassador role while the incident is handled."
    )
    reason: str | None = Field(description="An override's reason.")
    decided_by: uuid.UUID | None = Field(description="HR person who overrode or asked.")
    created_at: dt.datetime


class IncidentSummary(BaseModel):
    """An incident as the caller may see it: `view` says which fields they get. Fields a
    view does not include are `null`."""

    id: uuid.UUID
    view: View
    person_id: uuid.UUID
    reporter_id: uuid.UUID | None = Field(
        description="Only for HR, legal (when escalated) and the reporter."
    )
    channel: Channel
    occurred_at: dt.datetime
    category: Category
    severity: Severity
    status: IncidentStatus
    outcome: Outcome | None
    action: Action | None
    owner_role: OwnerRole | None
    owner_id: uuid.UUID | None
    deadline_at: dt.datetime | None
    overdue: bool
    remedial_engagement_id: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None


class IncidentRead(IncidentSummary):
    links: list[str]
    clauses: list[str]
    description: str
    decision: DecisionRead | None = Field(description="The decision in force.")
    decisions: list[DecisionRead] = Field(
        description="Every decision, oldest first: the policy's and any override."
    )


class IncidentUpdate(BaseModel):
    """A lifecycle step: decided → in_progress → resolved; any open incident → dismissed."""

    model_config = ConfigDict(extra="forbid")

    status: Literal[IncidentStatus.IN_PROGRESS, IncidentStatus.RESOLVED, IncidentStatus.DISMISSED]
    outcome: Outcome | None = Field(default=None, description="Required to resolve.")
    reason: Reason | None = Field(default=None, description="Required to dismiss.")

    @model_validator(mode="after")
    def _outcome_and_reason(self) -> IncidentUpdate:
        if self.status is IncidentStatus.RESOLVED and self.outcome is None:
            raise FieldInvalid(
                "outcome", "resolving needs an outcome: violation_confirmed or no_violation"
            )
        if self.status is not IncidentStatus.RESOLVED and self.outcome is not None:
            raise FieldInvalid("outcome", "an outcome is given only when resolving")
        if self.status is IncidentStatus.DISMISSED and self.reason is None:
            raise FieldInvalid("reason", "dismissing needs a reason")
        return self


class OverrideCreate(BaseModel):
    """HR overrides the decision in force. Omitted fields keep the current decision's."""

    model_config = ConfigDict(extra="forbid")

    action: Action
    reason: Reason
    owner_role: OwnerRole | None = None
    contacts: list[ContactSpec] | None = Field(default=None, max_length=10)
    deadline_hours: Integer | None = Field(default=None, ge=1, le=MAX_DEADLINE_HOURS)
    suspends_ambassador: Flag | None = Field(
        default=None,
        description="Suspend the person's ambassador role while the incident is handled; "
        "omitted: as the decision in force.",
    )


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: LongText


class TimelineEntryRead(BaseModel):
    seq: int
    kind: TimelineKind
    at: dt.datetime
    actor: str | None = Field(description="person:<id> or service:incidents; null if hidden.")
    actor_id: uuid.UUID | None
    summary: str
    data: dict[str, Any]


class RemedialModuleRead(BaseModel):
    """A module training assigned for the incident, with its status now (from training)."""

    module_id: uuid.UUID
    module_title: str
    clause_numbers: list[str]
    due_at: dt.datetime
    status: str = Field(description="`not_started`, `in_progress`, `completed`, `overdue`, ...")
    completed_at: dt.datetime | None
