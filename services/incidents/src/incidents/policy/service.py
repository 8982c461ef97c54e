"""Escalation policy queries and rules: drafts, publishing (once signed off), the dry run."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from itertools import product

from sqlalchemy import bindparam, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import col, delete, select

from incidents.domain import Category, Severity
from incidents.errors import (
    DraftAlreadyExists,
    EscalationPolicyNotFound,
    NoPublishedEscalationPolicy,
    PolicyIncomplete,
    PolicyNotEditable,
)
from incidents.policy import approvals, replays
from incidents.policy.evaluation import Evaluation, Facts, Result, evaluate
from incidents.policy.models import EscalationPolicy, EscalationRule, PolicyEventKind, PolicyStatus
from incidents.policy.schemas import (
    ApproverStandingRead,
    DryRunFacts,
    EscalationPolicyDraft,
    EscalationPolicyRead,
    EscalationPolicyUpdate,
    EscalationRuleIn,
    EscalationRuleRead,
    ReferenceIndexRead,
    ReferringRuleRead,
    SignoffRead,
    VerdictRead,
)
from incidents.policy.signoff import ApproverState, content_hash, signed_off
from kit.concurrency import check_if_match
from kit.db import utcnow
from kit.identity import Caller, Role
from kit.pagination import PageParams, paginate

# Built once: every decision reads the published policy and its rules.
_PUBLISHED = select(EscalationPolicy).where(col(EscalationPolicy.status) == PolicyStatus.PUBLISHED)
_RULES = (
    select(EscalationRule)
    .where(col(EscalationRule.policy_id) == bindparam("policy_id"))
    .order_by(col(EscalationRule.position))
)


NONE_PUBLISHED = "No escalation policy has been published yet."


async def published_policy(session: AsyncSession) -> EscalationPolicy:
    policy = await session.scalar(_PUBLISHED)
    if policy is None:
        raise NoPublishedEscalationPolicy(NONE_PUBLISHED)
    return policy


async def get_policy(session: AsyncSession, *, policy_id: uuid.UUID) -> EscalationPolicy:
    policy = await session.get(EscalationPolicy, policy_id)
    if policy is None:
        raise EscalationPolicyNotFound(f"No escalation policy version with id {policy_id}.")
    return policy


async def rules_of(session: AsyncSession, *, policy: EscalationPolicy) -> list[EscalationRule]:
    """The policy's rules in evaluation order."""
    rules = await session.scalars(_RULES, {"policy_id": policy.id})
    return list(rules)


# A published version's rules never change (``check_editable``), and every decision needs
# those of the version in force: each version's are read once and kept, by its id.
_PUBLISHED_RULES: dict[uuid.UUID, tuple[EscalationRule, ...]] = {}
_VERSIONS_KEPT = 4


async def published_rules_of(
    session: AsyncSession, *, policy_id: uuid.UUID
) -> list[EscalationRule]:
    """The rules of the published version ``policy_id``, in evaluation order (as
    ``rules_of``). The caller knows it is published: a draft's rules may still change."""
    rules = _PUBLISHED_RULES.get(policy_id)
    if rules is None:
        rules = tuple(await session.scalars(_RULES, {"policy_id": policy_id}))
        for rule in rules:  # kept as read: a rollback of this session must not expire them
            session.expunge(rule)
        if len(_PUBLISHED_RULES) >= _VERSIONS_KEPT:
            del _PUBLISHED_RULES[next(iter(_PUBLISHED_RULES))]
        _PUBLISHED_RULES[policy_id] = rules
    return list(rules)


async def references_of(
    session: AsyncSession, *, policy: EscalationPolicy
) -> list[ReferenceIndexRead]:
    """Which rules of the version refer to which clause of which other policy, by policy
    and clause."""
    index: dict[tuple[str, str], list[ReferringRuleRead]] = {}
    for rule in await rules_of(session, policy=policy):
        for reference in rule.references:
            key = (str(reference["policy"]), str(reference["clause"]))
            index.setdefault(key, []).append(
                ReferringRuleRead(position=rule.position, name=rule.name)
            )
    return [
        ReferenceIndexRead(policy=name, clause=clause, rules=rules)
        for (name, clause), rules in sorted(
            index.items(), key=lambda item: (item[0][0].casefold(), _clause_order(item[0][1]))
        )
    ]


def _clause_order(clause: str) -> tuple[tuple[int, int | str], ...]:
    """3.2 before 3.10: numbers compare as numbers."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in clause.split("."))


async def content_hash_of(session: AsyncSession, *, policy: EscalationPolicy) -> str:
    return content_hash(notes=policy.notes, rules=await rules_of(session, policy=policy))


async def read_policy(
    session: AsyncSession,
    *,
    policy: EscalationPolicy,
    configured: Sequence[str],
    caller: Caller,
) -> EscalationPolicyRead:
    """The version with its rules, where its sign-off stands (``configured``: the
    approvers the settings require) and its latest replay (incident ids for HR and legal)."""
    rules = await rules_of(session, policy=policy)
    digest = content_hash(notes=policy.notes, rules=rules)
    replay = await replays.latest_replay(session, policy_id=policy.id)
    return EscalationPolicyRead(
        id=policy.id,
        number=policy.number,
        status=policy.status,
        notes=policy.notes,
        published_at=policy.published_at,
        created_at=policy.created_at,
        content_hash=digest,
        rules=[EscalationRuleRead.model_validate(rule) for rule in rules],
        signoff=await _signoff(session, policy=policy, digest=digest, configured=configured),
        replay=None
        if replay is None
        else replays.present(replay, current_hash=digest, show_ids=sees_incident_ids(caller)),
    )


def sees_incident_ids(caller: Caller) -> bool:
    """Which incidents a replay would change: for HR and legal only."""
    return caller.has_role(Role.HR, Role.LEGAL)


async def _signoff(
    session: AsyncSession, *, policy: EscalationPolicy, digest: str, configured: Sequence[str]
) -> SignoffRead:
    if policy.status is PolicyStatus.DRAFT:
        required = await approvals.required_approvers(session, configured=configured)
    else:
        required = policy.required_approvers or []
    standing, verdicts = await approvals.standing_of(
        session, policy=policy, content_hash=digest, required=required
    )
    if policy.status is not PolicyStatus.DRAFT:
        state = policy.status.value
    elif policy.submitted_at is None:
        state = "not_submitted"
    elif any(s.state is ApproverState.REJECTED for s in standing):
        state = "rejected"
    else:
        state = "approved" if signed_off(standing) else "in_review"
    return SignoffRead(
        state=state,
        required=required,
        submitted_at=policy.submitted_at,
        standing=[
            ApproverStandingRead(
                approver=s.approver,
                state=s.state,
                approved_by=list(s.approved_by),
                rejected_by=list(s.rejected_by),
                explanation=s.explain(),
            )
            for s in standing
        ],
        missing=[s.approver for s in standing if s.state is not ApproverState.APPROVED],
        verdicts=[VerdictRead.model_validate(v) for v in verdicts],
    )


async def list_policies(
    session: AsyncSession, *, page: PageParams
) -> tuple[list[EscalationPolicy], str | None]:
    """Every version, newest first."""
    return await paginate(
        session,
        select(EscalationPolicy),
        order_by=[EscalationPolicy.number],
        params=page,
        descending=True,
    )


async def create_draft(
    session: AsyncSession, *, data: EscalationPolicyDraft, author: Caller
) -> EscalationPolicy:
    """A new draft version, from the rules given or as a copy of the published policy."""
    existing = await session.scalar(
        select(EscalationPolicy.id).where(col(EscalationPolicy.status) == PolicyStatus.DRAFT)
    )
    if existing is not None:
        raise DraftAlreadyExists(
            f"Draft {existing} is already being edited; change or publish it instead.",
            extensions={"draft_id": str(existing)},
        )
    rules = data.rules
    if rules is None:
        published = await published_policy(session)
        rules = [
            EscalationRuleIn.model_validate(rule, from_attributes=True)
            for rule in await rules_of(session, policy=published)
        ]
    number = (await session.scalar(select(func.max(EscalationPolicy.number)))) or 0
    draft = EscalationPolicy(number=number + 1, notes=data.notes, created_by=author.person_id)
    session.add(draft)
    try:
        await session.flush()
    except IntegrityError as exc:
        # Another draft was created at the same moment (the unique indexes decide).
        raise DraftAlreadyExists("Another draft was just created; edit that one.") from exc
    _add_rules(session, policy=draft, rules=rules)
    approvals.record(
        session,
        policy_id=draft.id,
        kind=PolicyEventKind.CREATED,
        summary=f"Draft {draft.number} created"
        + (" from the rules given." if data.rules is not None else " as a copy of the policy."),
        actor=author,
        data={"content_hash": content_hash(notes=draft.notes, rules=rules)},
    )
    await session.flush()
    return draft


async def update_draft(
    session: AsyncSession,
    *,
    policy_id: uuid.UUID,
    data: EscalationPolicyUpdate,
    if_match: str | None,
    editor: Caller,
) -> EscalationPolicy:
    """Replace the draft's rules and notes. If the content changes, every verdict given on
    the earlier content is withdrawn (approvers must look again)."""
    policy = await get_policy(session, policy_id=policy_id)
    check_if_match(if_match, current_version=policy.version)
    _ensure_draft(policy)
    before = await content_hash_of(session, policy=policy)
    await session.execute(delete(EscalationRule).where(col(EscalationRule.policy_id) == policy.id))
    _add_rules(session, policy=policy, rules=data.rules)
    policy.notes = data.notes
    # The rules live in their own table: mark the version row changed so its ETag moves.
    flag_modified(policy, "notes")
    session.add(policy)
    after = content_hash(notes=data.notes, rules=data.rules)
    approvals.record(
        session,
        policy_id=policy.id,
        kind=PolicyEventKind.EDITED,
        summary="Rules and notes replaced"
        + ("." if after != before else " (the content is unchanged)."),
        actor=editor,
        data={"content_hash": after, "previous_content_hash": before},
    )
    await session.flush()
    await approvals.withdraw_stale(session, policy=policy, content_hash=after, actor=editor)
    return policy


async def publish(
    session: AsyncSession,
    *,
    policy_id: uuid.UUID,
    if_match: str | None,
    publisher: Caller,
    configured: Sequence[str],
) -> EscalationPolicy:
    """The draft becomes the policy every new decision uses; the one before is retired.
    Only once every required approver has approved its current content."""
    policy = await get_policy(session, policy_id=policy_id)
    check_if_match(if_match, current_version=policy.version)
    _ensure_draft(policy)
    rules = await rules_of(session, policy=policy)
    _ensure_complete(rules)
    digest = content_hash(notes=policy.notes, rules=rules)
    required = await approvals.required_approvers(session, configured=configured)
    await approvals.require_signed_off(
        session, policy=policy, content_hash=digest, required=required
    )
    current = await session.scalar(
        select(EscalationPolicy).where(col(EscalationPolicy.status) == PolicyStatus.PUBLISHED)
    )
    if current is not None:
        current.status = PolicyStatus.RETIRED
        session.add(current)
        approvals.record(
            session,
            policy_id=current.id,
            kind=PolicyEventKind.RETIRED,
            summary=f"Retired: version {policy.number} was published.",
            actor=publisher,
            data={"successor_id": str(policy.id)},
        )
        # Retire first: at most one version may be published at any moment.
        await session.flush()
    policy.status = PolicyStatus.PUBLISHED
    policy.published_at = utcnow()
    policy.published_by = publisher.person_id
    policy.required_approvers = required
    session.add(policy)
    approvals.record(
        session,
        policy_id=policy.id,
        kind=PolicyEventKind.PUBLISHED,
        summary=f"Published, signed off by {', '.join(required)}.",
        actor=publisher,
        data={"content_hash": digest, "approvers": required},
    )
    await session.flush()
    return policy


async def dry_run(
    session: AsyncSession, *, facts: DryRunFacts
) -> tuple[EscalationPolicy, list[EscalationRule], Evaluation]:
    """Which rule would decide these facts, and why (nothing is stored)."""
    if facts.policy_id is None:
        policy = await published_policy(session)
    else:
        policy = await get_policy(session, policy_id=facts.policy_id)
    rules = await rules_of(session, policy=policy)
    windows = {rule.window_days for rule in rules}
    evaluation = evaluate(
        rules,
        Facts(
            severity=facts.severity,
            category=facts.category,
            prior_incidents=dict.fromkeys(windows, facts.prior_incidents),
            completed_remedial=None
            if facts.completed_remedial is None
            else dict.fromkeys(windows, facts.completed_remedial),
        ),
    )
    return policy, rules, evaluation


def _ensure_draft(policy: EscalationPolicy) -> None:
    if policy.status is not PolicyStatus.DRAFT:
        raise PolicyNotEditable(
            f"Version {policy.number} is {policy.status}; published versions never change. "
            "Create a draft (a copy of the published policy) and edit that."
        )


def _ensure_complete(rules: Sequence[EscalationRule]) -> None:
    """Every incident must be decided: a first incident of any severity and category,
    with no history, must match some rule (a later incident then matches one too)."""
    for severity, category in product(Severity, Category):
        facts = Facts(
            severity=severity,
            category=category,
            prior_incidents=dict.fromkeys((rule.window_days for rule in rules), 0),
            completed_remedial=dict.fromkeys((rule.window_days for rule in rules), 0),
        )
        if evaluate(rules, facts).result is not Result.DECIDED:
            raise PolicyIncomplete(
                f"No rule decides a first {severity}-severity incident of category "
                f"{category}. Add a rule for it (for example a last rule for every "
                f"{severity} incident) before publishing."
            )


def _add_rules(
    session: AsyncSession, *, policy: EscalationPolicy, rules: Sequence[EscalationRuleIn]
) -> None:
    session.add_all(
        EscalationRule.model_validate(
            {
                **rule.model_dump(mode="json", exclude={"position"}),
                "policy_id": policy.id,
                "position": position,
            }
        )
        for position, rule in enumerate(rules, start=1)
    )
