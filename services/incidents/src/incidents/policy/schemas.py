"""Escalation policy API models."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from incidents.domain import DEFAULT_ON_DEADLINE_MISSED, Action, Category, OwnerRole, Severity
from incidents.policy.models import PolicyEventKind, PolicyStatus, Verdict
from incidents.policy.signoff import ApproverState, check_approver
from kit.fields import Flag, Integer, Storable, Text, Timestamp

MAX_RULES = 50
MAX_WINDOW_DAYS = 3650
MAX_DEADLINE_HOURS = 24 * 365

ContactSpec = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^(manager|hr|legal|group:\S.{0,99})$"),
    Storable,
    Field(
        description="`manager` (the person's manager), `hr`, `legal`, or `group:<name>` "
        "(a named group of the directory).",
        examples=["manager", "hr", "group:Communications"],
    ),
]

DeadlinePartySpec = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, pattern=r"^(owner_manager|manager|hr|legal|group:\S.{0,99})$"
    ),
    Storable,
    Field(
        description="`owner_manager` (the manager of the decision's owner), `manager` (the "
        "person's manager), `hr`, `legal`, or `group:<name>` (a named group of the directory).",
        examples=["owner_manager", "hr", "group:Works council"],
    ),
]

MAX_REFERENCES = 10


class PolicyReference(BaseModel):
    """A clause of another policy of the organisation the rule follows."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    policy: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Storable
    ] = Field(examples=["Code of conduct"])
    clause: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), Storable
    ] = Field(examples=["3.2"])
    note: Text | None = Field(
        default=None,
        max_length=500,
        description="What the clause asks, or how the rule applies it.",
        examples=["Respectful behaviour towards colleagues and customers, online too."],
    )


class EscalationRuleIn(BaseModel):
    """A rule of a draft. Conditions left empty (or null) match anything."""

    model_config = ConfigDict(extra="forbid")

    position: Integer | None = Field(
        default=None,
        ge=1,
        le=MAX_RULES,
        description="Optional: the list order is the evaluation order; a position given must "
        "match it (so a rule list read from the API can be sent back as it is).",
    )
    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Storable
    ]
    severities: list[Severity] = Field(default_factory=list, max_length=len(Severity))
    categories: list[Category] = Field(default_factory=list, max_length=len(Category))
    min_prior_incidents: Integer | None = Field(
        default=None, ge=1, le=1000, description="At least this many earlier incidents."
    )
    min_completed_remedial: Integer | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="At least this many completed remedial coaching engagements (asked of "
        "coaching).",
    )
    window_days: Integer = Field(
        default=365, ge=1, le=MAX_WINDOW_DAYS, description="Look-back window of both counts."
    )
    action: Action
    contacts: list[ContactSpec] = Field(default_factory=list, max_length=10)
    owner_role: OwnerRole
    deadline_hours: Integer = Field(ge=1, le=MAX_DEADLINE_HOURS)
    suspends_ambassador: Flag | None = Field(
        default=None,
        description="A decision by this rule suspends the person's ambassador role while the "
        "incident is handled (until it is closed and its remedial coaching is over; dismissing "
        "it, or finding no violation, lifts it at once). Default: yes, unless the rule only "
        "matches low severity.",
    )

    references: list[PolicyReference] = Field(
        default_factory=list,
        max_length=MAX_REFERENCES,
        description="Clauses of the organisation's other policies this rule follows, shown to "
        "approvers and in each decision it takes.",
    )

    on_deadline_missed: list[DeadlinePartySpec] = Field(
        default_factory=lambda: list(DEFAULT_ON_DEADLINE_MISSED),
        max_length=10,
        description="Who is told, beyond the owner, when a decision by this rule passes its "
        "deadline with the incident still open (the escalation is recorded on the timeline). "
        "Default: the owner's manager and HR; an empty list tells only the owner.",
    )

    @field_validator("references")
    @classmethod
    def _references_once(cls, values: list[PolicyReference]) -> list[PolicyReference]:
        keys = [(v.policy.casefold(), v.clause.casefold()) for v in values]
        if len(set(keys)) != len(keys):
            raise ValueError("refer to each clause of a policy once")
        return values

    @model_validator(mode="after")
    def _default_suspension(self) -> EscalationRuleIn:
        if self.suspends_ambassador is None:
            self.suspends_ambassador = self.severities != [Severity.LOW]
        return self

    @field_validator("severities", "categories", "contacts", "on_deadline_missed")
    @classmethod
    def _no_duplicates(cls, values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise ValueError("list each value once")
        return values


class EscalationRuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    position: int
    name: str
    severities: list[str]
    categories: list[str]
    min_prior_incidents: int | None
    min_completed_remedial: int | None
    window_days: int
    action: str
    contacts: list[str]
    owner_role: str
    deadline_hours: int
    suspends_ambassador: bool
    references: list[PolicyReference] = Field(
        description="Clauses of the organisation's other policies this rule follows."
    )
    on_deadline_missed: list[str] = Field(
        description="Who is told, beyond the owner, when a decision's deadline passes."
    )


Approver = Annotated[
    str,
    StringConstraints(max_length=110),
    AfterValidator(check_approver),
    Field(
        description="A role (`hr`, `legal`, `policy_owner`, ...) or `group:<name>`, a group of "
        "the directory such as a works council.",
        examples=["legal", "group:Works council"],
    ),
]
ContentHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class VerdictRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    approver: str = Field(description="The approver it counts for: a role or `group:<name>`.")
    person_id: uuid.UUID
    verdict: Verdict
    comment: str | None
    content_hash: str = Field(description="The exact content (rules and notes) it is about.")
    at: dt.datetime
    withdrawn_at: dt.datetime | None = Field(
        description="Set when the content changed after it: it no longer counts."
    )


class ApproverStandingRead(BaseModel):
    approver: str
    state: ApproverState
    approved_by: list[uuid.UUID]
    rejected_by: list[uuid.UUID]
    explanation: str


class SignoffRead(BaseModel):
    state: str = Field(
        description="not_submitted | in_review | rejected | approved (ready to publish) | "
        "published | retired"
    )
    required: list[str] = Field(
        description="The approvers the version needs (needed, once published)."
    )
    submitted_at: dt.datetime | None
    standing: list[ApproverStandingRead] = Field(
        description="Where each approver stands on the current content."
    )
    missing: list[str] = Field(description="Approvers whose approval publishing still waits for.")
    verdicts: list[VerdictRead] = Field(description="Every verdict, withdrawn ones too, in order.")


class EscalationPolicyRead(BaseModel):
    id: uuid.UUID
    number: int
    status: PolicyStatus
    notes: str | None
    published_at: dt.datetime | None
    created_at: dt.datetime
    content_hash: str = Field(
        description="A hash of the rules and notes: the exact content approvals bind to."
    )
    rules: list[EscalationRuleRead] = Field(description="In evaluation order.")
    signoff: SignoffRead
    replay: ReplayRead | None = Field(
        default=None, description="The latest replay of this version over past incidents."
    )


class VerdictIn(BaseModel):
    """An approver's verdict on the version's current content."""

    model_config = ConfigDict(extra="forbid")

    approver: Approver | None = Field(
        default=None,
        description="Which approver you speak for; needed only when you are several.",
    )
    comment: Text | None = Field(default=None, max_length=2000)
    content_hash: ContentHash | None = Field(
        default=None,
        description="The `content_hash` you read: refused (409) if the content changed since.",
    )


class RejectionIn(VerdictIn):
    """A rejection says why."""

    comment: Text = Field(min_length=1, max_length=2000)


class ApproversUpdate(BaseModel):
    """The approvers HR adds beyond those the settings require (which always stay)."""

    model_config = ConfigDict(extra="forbid")

    approvers: list[Approver] = Field(max_length=20)


class AddedApproverRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    approver: str
    added_by: uuid.UUID | None
    added_at: dt.datetime


class ApproversRead(BaseModel):
    configured: list[str] = Field(description="Required by the settings; HR cannot remove them.")
    added: list[AddedApproverRead] = Field(description="Added by HR.")
    required: list[str] = Field(description="Every approver a new version needs, in order.")


class PolicyEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    kind: PolicyEventKind
    actor: str
    actor_id: uuid.UUID | None
    summary: str
    data: dict[str, Any]
    at: dt.datetime


class EscalationPolicySummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: int
    status: PolicyStatus
    notes: str | None
    published_at: dt.datetime | None
    created_at: dt.datetime


def _check_positions(rules: list[EscalationRuleIn] | None) -> list[EscalationRuleIn] | None:
    for number, rule in enumerate(rules or [], start=1):
        if rule.position is not None and rule.position != number:
            raise ValueError(
                f"rule {number} in the list says position {rule.position}; the list order is "
                "the evaluation order (omit position or make it match)"
            )
    return rules


class EscalationPolicyDraft(BaseModel):
    """A new draft. Without `rules` it starts as a copy of the published policy."""

    model_config = ConfigDict(extra="forbid")

    notes: Text | None = Field(default=None, max_length=2000)
    rules: list[EscalationRuleIn] | None = Field(default=None, min_length=1, max_length=MAX_RULES)

    _positions = field_validator("rules")(_check_positions)


class EscalationPolicyUpdate(BaseModel):
    """Replaces the draft's notes and rules (in evaluation order)."""

    model_config = ConfigDict(extra="forbid")

    notes: Text | None = Field(default=None, max_length=2000)
    rules: list[EscalationRuleIn] = Field(min_length=1, max_length=MAX_RULES)

    _positions = field_validator("rules")(_check_positions)


class DryRunFacts(BaseModel):
    """The facts a decision would use."""

    model_config = ConfigDict(extra="forbid")

    severity: Severity
    category: Category
    prior_incidents: Integer = Field(default=0, ge=0, le=10_000)
    completed_remedial: Integer | None = Field(
        default=0,
        ge=0,
        le=10_000,
        description="Completed remedial coaching; `null` means coaching history is "
        "unavailable (shows what happens while coaching is down).",
    )
    policy_id: uuid.UUID | None = Field(
        default=None, description="A draft or older version to try; the published one if omitted."
    )


class ConditionRead(BaseModel):
    name: str
    met: bool | None = Field(description="`null`: it depends on history that is unavailable.")
    detail: str


class RuleCheckRead(BaseModel):
    position: int
    name: str
    verdict: str = Field(description="matched | not_matched | needs_history | not_evaluated")
    conditions: list[ConditionRead]


class DryRunResult(BaseModel):
    policy_id: uuid.UUID
    policy_number: int
    result: str = Field(description="decided | awaiting_history | no_match")
    explanation: str
    rule: EscalationRuleRead | None = Field(
        description="The rule that decides, or the one waiting for history."
    )
    checks: list[RuleCheckRead]


class PlainRuleRead(BaseModel):
    """A rule in plain words, in the reader's language."""

    model_config = ConfigDict(from_attributes=True)

    applies_to: str = Field(examples=["An incident of high severity"])
    what_happens: str = Field(examples=["HR reviews what happened"])
    who_is_told: str = Field(examples=["HR and your manager"])
    responsible: str = Field(examples=["HR"])
    respond_within: str = Field(examples=["3 days"])
    if_deadline_missed: str = Field(
        examples=["If your manager misses the deadline, your manager's manager and HR are told."]
    )
    ambassador: str | None = Field(description="What happens to an ambassador role, if anything.")
    see_also: str | None = Field(description="The clauses of other policies the rule follows.")
    text: str = Field(description="The whole rule as one paragraph.")


class ReadableRuleRead(EscalationRuleRead):
    plain: PlainRuleRead


class ReferringRuleRead(BaseModel):
    position: int
    name: str


class ReferenceIndexRead(BaseModel):
    """A clause of another policy and the rules of the version that refer to it."""

    policy: str
    clause: str
    rules: list[ReferringRuleRead]


class AgreedRead(BaseModel):
    approver: str
    at: dt.datetime = Field(description="When the last approval for it was given.")


class PublishedPolicyRead(BaseModel):
    """The published scheme as every employee reads it: the structured rules, each also in
    plain words; never HR's internal notes."""

    id: uuid.UUID
    number: int
    published_at: dt.datetime | None
    language: str = Field(description="The language of the plain words (`en` or `nl`).")
    intro: str
    agreed: str | None = Field(
        description="Who agreed to it and since when it is in force, in plain words."
    )
    agreed_by: list[AgreedRead]
    rules: list[ReadableRuleRead] = Field(description="In evaluation order.")


class ReplayIn(BaseModel):
    """The window of past incidents (by when they happened) to replay the draft over."""

    model_config = ConfigDict(extra="forbid")

    since: Timestamp | None = Field(default=None, description="Default: 12 months before `until`.")
    until: Timestamp | None = Field(default=None, description="Default: now.")


class TransitionRead(BaseModel):
    from_action: str
    to_action: str
    count: int
    incident_ids: list[uuid.UUID] | None = Field(description="HR and legal only.")


class RuleCountRead(BaseModel):
    position: int
    name: str
    count: int = Field(description="Changed decisions this rule of the draft would take.")


class SeverityCountRead(BaseModel):
    severity: str
    count: int


class DepartmentCountRead(BaseModel):
    department: str = Field(description="The person's department now (`unknown` if none).")
    count: int


class ReplayResultRead(BaseModel):
    replayed: int = Field(description="Decided incidents in the window, each evaluated again.")
    changed: int = Field(description="Whose action the draft would change.")
    unchanged: int
    undetermined: int = Field(
        description="The draft would need completed remedial coaching the decision never "
        "asked coaching for."
    )
    no_rule: int = Field(description="No rule of the draft decides them.")
    overridden: int = Field(
        description="Replayed incidents HR had overridden: compared with the scheme's decision."
    )
    transitions: list[TransitionRead] = Field(description="From action -> to action, most first.")
    by_rule: list[RuleCountRead]
    by_severity: list[SeverityCountRead]
    by_department: list[DepartmentCountRead]
    departments_known: bool = Field(
        description="False when the directory could not be asked (every department `unknown`)."
    )
    undetermined_incident_ids: list[uuid.UUID] | None = Field(description="HR and legal only.")
    no_rule_incident_ids: list[uuid.UUID] | None = Field(description="HR and legal only.")


class ReplayRead(BaseModel):
    id: uuid.UUID
    policy_id: uuid.UUID
    content_hash: str
    stale: bool = Field(description="The draft changed since: replay it again.")
    status: str = Field(description="queued | running | done | failed")
    since: dt.datetime
    until: dt.datetime
    total: int = Field(description="Decided incidents in the window.")
    processed: int
    requested_by: uuid.UUID | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    error: str | None
    result: ReplayResultRead | None


EscalationPolicyRead.model_rebuild()
