"""Deciding an incident: the facts (prior incidents from our own data, remedial coaching
from coaching), the policy's verdict, the people to contact, the owner and the deadline;
overrides by HR; and opening the remedial engagement.

Coaching is asked only when the evaluation reaches a rule that needs its history, so an
incident that an earlier rule decides (a critical one) never waits for coaching. When
coaching cannot answer, the incident waits in ``awaiting_history`` with a pending job the
worker retries with backoff; it is never decided as if the person had no history.

No transaction is open while coaching or the directory is asked: deciding reads in a short
read transaction (``_plan``), asks (``_conclude``), then records in a short write
transaction (``_record``) once it has checked that nothing it read has changed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from sqlalchemy import Select, bindparam, case, func, insert, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, delete, select

from incidents import events
from incidents.decision import contacts as contacts_resolution
from incidents.decision import jobs, upstream
from incidents.decision import person as person_history
from incidents.decision.contacts import Assignees
from incidents.decision.jobs import Backoff
from incidents.decision.models import (
    Assignment,
    AssignmentKind,
    Decision,
    DecisionKind,
    JobKind,
    PendingJob,
    Trigger,
)
from incidents.decision.person import PersonTurns
from incidents.decision.upstream import DirectoryPerson, UpstreamUnavailable
from incidents.domain import (
    ACTIONABLE_STATUSES,
    Action,
    IncidentStatus,
    Outcome,
    OwnerRole,
)
from incidents.errors import DecisionNotPossible, DecisionRaced
from incidents.incident import timeline
from incidents.incident.models import Incident, TimelineKind
from incidents.metrics import DECISIONS_TOTAL
from incidents.policy.evaluation import Evaluation, Facts, Result, evaluate
from incidents.policy.models import EscalationPolicy, EscalationRule, PolicyStatus
from incidents.policy.service import NONE_PUBLISHED, published_rules_of
from kit.db import Database, UtcDateTime, column_values, table_of, utcnow
from kit.errors import ServiceUnavailable
from kit.fields import looking_back
from kit.identity import Caller

logger = logging.getLogger("incidents.decision")

UNDECIDED = frozenset({IncidentStatus.REPORTED, IncidentStatus.AWAITING_HISTORY})
# When no rule matches (a policy published before completeness was checked): HR decides.
FALLBACK_OWNER = OwnerRole.HR
FALLBACK_DEADLINE = dt.timedelta(hours=72)
# Rounds of read, ask, write before giving up on an incident that keeps changing.
MAX_ROUNDS = 3


@dataclass(frozen=True, slots=True)
class Outside:
    """What deciding needs beyond the database: the gateway and the retry schedule."""

    gateway: httpx.AsyncClient
    backoff: Backoff
    history_timeout_seconds: float = 0.6
    turns: PersonTurns = field(default_factory=PersonTurns)
    # The person's record each decision went by, for its remedial job (``worker``).
    records: upstream.DecisionRecords = field(default_factory=upstream.DecisionRecords)


@dataclass(frozen=True, slots=True)
class Recorded:
    """Everything a new report's transaction wrote about it besides the incident: its
    decisions (none while it waits) and its assignments, so its answer is built from them
    instead of reading them back."""

    decisions: list[Decision] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)


class OnRecord(Protocol):
    """Called last in the transaction that records a decision (or a report's waiting), with
    the incident as recorded: what must be committed with it (the route's answer, sealed
    with its ``Idempotency-Key``). ``recorded``: for a new report, all there is about it
    (``None``: read what the incident has)."""

    async def __call__(
        self, session: AsyncSession, incident: Incident, recorded: Recorded | None = None
    ) -> None: ...


class Load(Protocol):
    """Reads the incident to decide and checks it may still be decided (raising a domain
    error otherwise); ``None`` when there is nothing (left) to decide. Called twice per
    round: in the read transaction, then with ``writing`` in the write transaction that
    records the verdict, where it locks the row (or, for a new report, hands it over
    unwritten: ``_record`` writes it, once, with its verdict)."""

    async def __call__(self, session: AsyncSession, *, writing: bool) -> Incident | None: ...


@dataclass(frozen=True, slots=True)
class Plan:
    """What our own database says before anyone else is asked: the incident's version as
    read, the published policy and its rules, and the facts known so far (``missing``:
    why the decision cannot even start, e.g. no policy is published)."""

    version: int
    person_version: int
    policy: PolicyVersion | None
    rules: list[EscalationRule]
    facts: Facts | None
    missing: str | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """What asking coaching and the directory made of a plan: the decision to record, or
    why it waits (``history_error``: coaching could not answer, the incident waits in
    ``awaiting_history``; ``retry_error``: the directory or a policy is missing)."""

    decision: Decision | None = None
    evaluation: Evaluation | None = None
    history_error: str | None = None
    retry_error: str | None = None


class _PlanOutdated(Exception):
    """The incident or the published policy changed between reading and writing."""


async def lock_incident(session: AsyncSession, *, incident_id: uuid.UUID) -> Incident | None:
    """The incident, row-locked until the transaction ends (PostgreSQL; a SQLite write
    transaction holds the whole database), so decisions on it happen one at a time."""
    # FOR NO KEY UPDATE: rows that reference the incident (jobs, timeline) may still be
    # inserted by others meanwhile; a plain FOR UPDATE would make them wait for us.
    return await session.get(
        Incident, incident_id, with_for_update={"key_share": True}, populate_existing=True
    )


async def decide(
    database: Database,
    *,
    load: Load,
    outside: Outside,
    trigger: Trigger,
    actor: Caller | None = None,
    person: DirectoryPerson | None = None,
    on_record: OnRecord | None = None,
) -> tuple[Incident, Decision | None] | None:
    """Evaluate the published policy for the incident ``load`` gives and record the
    decision. Returns the incident as recorded with its decision (``None`` when it has to
    wait for another service), or ``None`` when there was nothing to decide.

    No transaction is open while coaching and the directory are asked: a slow service
    must not hold the database's write lock (SQLite) or the row lock and a connection
    (PostgreSQL). So each round reads in a short read transaction, asks, then writes in a
    short write transaction after checking that neither the incident, the published
    policy nor the person's history changed meanwhile (``decision.person``); if one did,
    the round starts again with fresh facts."""
    async with contextlib.AsyncExitStack() as queued:
        in_turn = False
        rounds = 0
        while rounds < MAX_ROUNDS:
            async with database.transaction(write=False) as session:
                incident = await load(session, writing=False)
                if incident is None:
                    return None
                plan = await _plan(session, incident=incident)
            if not in_turn:
                in_turn = True
                if await queued.enter_async_context(outside.turns.turn(incident.person_id)):
                    continue  # another decision about the person came first: read again
            rounds += 1
            verdict = await _conclude(
                outside, incident=incident, plan=plan, trigger=trigger, actor=actor, person=person
            )
            try:
                async with database.transaction() as session:
                    current = await load(session, writing=True)
                    if current is None:
                        return None
                    await _check_unchanged(session, incident=current, plan=plan)
                    recorded = await _record(
                        session,
                        incident=current,
                        verdict=verdict,
                        outside=outside,
                        actor=actor,
                        trigger=trigger,
                    )
                    if on_record is not None:
                        # A new report has nothing but what was just written.
                        fresh = trigger is Trigger.REPORTED
                        await on_record(session, current, recorded if fresh else None)
            except _PlanOutdated:
                continue
            decision = recorded.decisions[-1] if recorded.decisions else None
            if decision is not None:
                DECISIONS_TOTAL.labels(action=decision.action.value, trigger=trigger.value).inc()
            return current, decision
    raise DecisionRaced(
        "The incident, the published escalation policy or the person's other incidents kept "
        "changing while the incident was being decided; nothing was recorded. Try again."
    )


async def record_undecided(
    database: Database, *, load: Load, on_record: OnRecord | None = None
) -> Incident:
    """A new report that could not be decided now (its person's other reports kept it from
    its turn): recorded as ``reported`` with its decision queued for the worker."""
    async with database.transaction() as session:
        incident = _required(await load(session, writing=True))
        await write_new(session, incident, changed=False)
        await person_history.move_on(session, person_id=incident.person_id)
        await person_history.history_changed(session, incident=incident)
        await jobs.enqueue(session, incident_id=incident.id, kind=JobKind.DECIDE)
        if on_record is not None:
            await on_record(session, incident, Recorded())
    return incident


def check_decidable_again(incident: Incident) -> None:
    if incident.status not in UNDECIDED | {IncidentStatus.DECIDED}:
        raise DecisionNotPossible(
            f"The incident is {incident.status}; only an incident not yet in progress is "
            "decided again. Override the decision instead."
        )


async def decide_again(
    database: Database,
    *,
    load: Load,
    outside: Outside,
    actor: Caller,
    on_record: OnRecord | None = None,
) -> Decision:
    """HR asks for a fresh decision (new facts, the policy published now). ``load``
    checks the incident may be decided again (``check_decidable_again``)."""
    outcome = await decide(
        database,
        load=load,
        outside=outside,
        trigger=Trigger.REQUESTED,
        actor=actor,
        on_record=on_record,
    )
    if outcome is None or outcome[1] is None:
        raise ServiceUnavailable(
            "Coaching history is unavailable; the incident waits in awaiting_history and is "
            "decided automatically as soon as coaching answers."
        )
    return outcome[1]


def check_overridable(incident: Incident) -> None:
    if incident.status not in ACTIONABLE_STATUSES | UNDECIDED:
        raise DecisionNotPossible(f"The incident is {incident.status}; it cannot be overridden.")


async def override(
    database: Database,
    *,
    load: Load,
    outside: Outside,
    actor: Caller,
    action: Action,
    reason: str,
    owner_role: OwnerRole | None,
    contacts: Sequence[str] | None,
    deadline_hours: int | None,
    suspends_ambassador: bool | None = None,
    on_record: OnRecord | None = None,
) -> Decision:
    """HR replaces the decision in force with its own; both stay on the incident. ``load``
    checks the incident may be overridden (``check_overridable``). As in ``decide``, the
    directory is asked with no transaction open."""
    async with database.transaction(write=False) as session:
        incident = _required(await load(session, writing=False))
        current = (
            await session.get(Decision, incident.decision_id) if incident.decision_id else None
        )
    owner_role, contacts, deadline = _override_terms(
        current, owner_role=owner_role, contacts=contacts, deadline_hours=deadline_hours
    )
    try:
        assignees = await contacts_resolution.resolve_assignees(
            outside.gateway,
            person_id=incident.person_id,
            reporter_id=incident.reporter_id,
            contacts=contacts,
            owner_role=owner_role,
        )
    except UpstreamUnavailable as error:
        raise ServiceUnavailable(
            f"The directory cannot be reached to resolve the contacts: {error}. Try again."
        ) from error
    decision = Decision(
        incident_id=incident.id,
        kind=DecisionKind.OVERRIDE,
        trigger=Trigger.OVERRIDE,
        action=action,
        explanation=f"Overridden by HR: {reason}",
        contacts=assignees.contacts,
        owner_role=assignees.owner_role,
        owner_id=assignees.owner_id,
        owner_conflict=assignees.owner_conflict,
        owner_note=assignees.owner_note,
        deadline_at=deadline,
        suspends_ambassador=incident.suspends_ambassador
        if suspends_ambassador is None
        else suspends_ambassador,
        reason=reason,
        decided_by=actor.person_id,
    )
    async with database.transaction() as session:
        locked = _required(await load(session, writing=True))
        if locked.version != incident.version:
            raise DecisionRaced(
                "The incident changed while the override was being prepared; nothing was "
                "recorded. Read it again and send the override again."
            )
        await _apply(session, incident=locked, decision=decision, actor=actor)
        if on_record is not None:
            await on_record(session, locked)
    return decision


def _required(incident: Incident | None) -> Incident:
    if incident is None:  # the loads of override and decide-again raise instead
        raise DecisionNotPossible("There is nothing to decide on this incident.")
    return incident


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    """The published version a plan goes by: all a decision records of it."""

    id: uuid.UUID
    number: int


_POLICIES = table_of(EscalationPolicy)
_PUBLISHED_NOW = _POLICIES.c.status == PolicyStatus.PUBLISHED
# Built once: every decision's plan starts with it. The published version (its rules are
# kept by id, ``published_rules_of``) and the person's version, in one read.
_PLAN_HEAD = select(
    select(_POLICIES.c.id).where(_PUBLISHED_NOW).scalar_subquery(),
    select(_POLICIES.c.number).where(_PUBLISHED_NOW).scalar_subquery(),
    person_history.VERSION.scalar_subquery(),
)


async def _plan(session: AsyncSession, *, incident: Incident) -> Plan:
    policy_id, number, person_version = (
        await session.execute(_PLAN_HEAD, {"person_id": incident.person_id})
    ).one()
    person_version = person_version or 0
    if policy_id is None:
        return Plan(
            version=incident.version,
            person_version=person_version,
            policy=None,
            rules=[],
            facts=None,
            missing=NONE_PUBLISHED,
        )
    rules = await published_rules_of(session, policy_id=policy_id)
    facts = Facts(
        severity=incident.severity,
        category=incident.category,
        prior_incidents=await count_prior_incidents(
            session, incident=incident, windows={rule.window_days for rule in rules}
        ),
        completed_remedial=None,
    )
    return Plan(
        version=incident.version,
        person_version=person_version,
        policy=PolicyVersion(id=policy_id, number=number),
        rules=rules,
        facts=facts,
    )


async def _conclude(
    outside: Outside,
    *,
    incident: Incident,
    plan: Plan,
    trigger: Trigger,
    actor: Caller | None,
    person: DirectoryPerson | None,
) -> Verdict:
    """The remote half of deciding: coaching history only if the evaluation reaches a rule
    that needs it, then the contacts through the directory."""
    if plan.policy is None or plan.facts is None:
        return Verdict(retry_error=plan.missing)
    facts = plan.facts
    evaluation = evaluate(plan.rules, facts)
    history: dict[str, Any] = {"asked": False}
    if evaluation.result is Result.AWAITING_HISTORY:
        try:
            facts, history = await _with_history(
                outside, incident=incident, rules=plan.rules, facts=facts
            )
        except UpstreamUnavailable as error:
            return Verdict(history_error=str(error), evaluation=evaluation)
        evaluation = evaluate(plan.rules, facts)
    rule = _rule_at(plan.rules, evaluation.rule_position)
    try:
        assignees = await contacts_resolution.resolve_assignees(
            outside.gateway,
            person_id=incident.person_id,
            reporter_id=incident.reporter_id,
            contacts=rule.contacts if rule else ["hr"],
            owner_role=OwnerRole(rule.owner_role) if rule else FALLBACK_OWNER,
            person=person,
        )
    except UpstreamUnavailable as error:
        return Verdict(retry_error=str(error))
    decision = _policy_decision(
        incident=incident,
        policy=plan.policy,
        rule=rule,
        facts=facts,
        history=history,
        evaluation=evaluation,
        assignees=assignees,
        trigger=trigger,
        actor=actor,
    )
    return Verdict(decision=decision)


# Built once: every decision checks it before it writes.
_PUBLISHED_ID = select(col(EscalationPolicy.id)).where(
    col(EscalationPolicy.status) == PolicyStatus.PUBLISHED
)


async def _check_unchanged(session: AsyncSession, *, incident: Incident, plan: Plan) -> None:
    published_id = await session.scalar(_PUBLISHED_ID)
    planned_id = plan.policy.id if plan.policy else None
    if incident.version != plan.version or published_id != planned_id:
        raise _PlanOutdated
    if not await person_history.take_turn(
        session, person_id=incident.person_id, read_version=plan.person_version
    ):
        raise _PlanOutdated


async def _record(
    session: AsyncSession,
    *,
    incident: Incident,
    verdict: Verdict,
    outside: Outside,
    actor: Caller | None,
    trigger: Trigger,
) -> Recorded:
    """The writing half of deciding, in the write transaction with the incident locked
    (a new report: not written yet, it is written here). Returns the decision recorded
    (none when it waits) and the assignments it made."""
    fresh = trigger is Trigger.REPORTED
    if fresh:  # a new incident now counts for the later ones
        await person_history.history_changed(session, incident=incident)
    if verdict.decision is not None:
        assignments = await _apply(
            session, incident=incident, decision=verdict.decision, actor=actor, fresh=fresh
        )
        return Recorded(decisions=[verdict.decision], assignments=assignments)
    reason = verdict.history_error or verdict.retry_error or "unknown"
    if incident.status not in UNDECIDED:
        # Deciding a decided incident again: the decision in force stands and nothing is
        # written (the incident is not put back to waiting).
        raise ServiceUnavailable(
            f"The incident cannot be decided again now ({reason}); the decision in force "
            "stands. Try again later."
        )
    if verdict.history_error is not None and verdict.evaluation is not None:
        await _wait_for_history(
            session,
            incident=incident,
            evaluation=verdict.evaluation,
            error=verdict.history_error,
            outside=outside,
            fresh=fresh,
        )
    else:
        if fresh:
            await write_new(session, incident, changed=False)
        await jobs.retry_later(
            session,
            incident_id=incident.id,
            kind=JobKind.DECIDE,
            error=reason,
            backoff=outside.backoff,
        )
    return Recorded()


def _override_terms(
    current: Decision | None,
    *,
    owner_role: OwnerRole | None,
    contacts: Sequence[str] | None,
    deadline_hours: int | None,
) -> tuple[OwnerRole, list[str], dt.datetime]:
    """The override's owner, contacts and deadline: as given, else the current decision's."""
    deadline = utcnow() + dt.timedelta(hours=deadline_hours) if deadline_hours else None
    if current is None:
        if owner_role is None or contacts is None or deadline is None:
            raise DecisionNotPossible(
                "The incident has no decision yet: give owner_role, contacts and deadline_hours."
            )
        return owner_role, list(contacts), deadline
    return (
        owner_role or current.owner_role,
        list(contacts) if contacts is not None else _specs_of(current.contacts),
        deadline or current.deadline_at,
    )


def _specs_of(contacts: Sequence[dict[str, Any]]) -> list[str]:
    """The rule's contacts a decision resolved (one spec may have become many people)."""
    return list(dict.fromkeys(contact["spec"] for contact in contacts))


async def count_prior_incidents(
    session: AsyncSession, *, incident: Incident, windows: set[int]
) -> dict[int, int]:
    """Earlier incidents about the same person, per look-back window, in one query.
    Dismissed reports and those resolved as no violation do not count."""
    if not windows:
        return {}
    spans = tuple(sorted(windows))
    since = {
        f"since_{window}": looking_back(incident.occurred_at, dt.timedelta(days=window))
        for window in spans
    }
    row = (
        await session.execute(
            _prior_counts(spans),
            {
                **since,
                "person_id": incident.person_id,
                "incident_id": incident.id,
                "occurred_at": incident.occurred_at,
            },
        )
    ).one()
    return {window: int(count) for window, count in zip(spans, row, strict=True)}


@functools.cache
def _prior_counts(windows: tuple[int, ...]) -> Select[tuple[Any, ...]]:
    """The count of ``count_prior_incidents`` for these windows, built once per set of
    windows (a policy has one or two): every decision sends it."""
    return select(
        *(
            func.coalesce(
                func.sum(
                    case(
                        (
                            col(Incident.occurred_at)
                            >= bindparam(f"since_{window}", type_=UtcDateTime),
                            1,
                        ),
                        else_=0,
                    )
                ),
                0,
            )
            for window in windows
        )
    ).where(
        col(Incident.person_id) == bindparam("person_id"),
        col(Incident.id) != bindparam("incident_id"),
        col(Incident.occurred_at) < bindparam("occurred_at"),
        col(Incident.status) != IncidentStatus.DISMISSED,
        col(Incident.outcome).is_distinct_from(Outcome.NO_VIOLATION),
    )


async def open_remedial(
    session: AsyncSession, *, incident: Incident, engagement_id: uuid.UUID
) -> None:
    """Record the engagement coaching opened for the incident."""
    if incident.remedial_engagement_id is None:
        incident.remedial_engagement_id = engagement_id
        incident.updated_at = utcnow()
        session.add(incident)
        await timeline.write(session, [_remedial_opened(incident.id, engagement_id)])
    await jobs.finish(session, incident_id=incident.id, kind=JobKind.OPEN_REMEDIAL)
    await session.flush()


# Built once, on the table: the remedial job's write, when the incident is as it read it.
_INCIDENTS = table_of(Incident)
_OPEN_REMEDIAL_IF_UNCHANGED = (
    update(_INCIDENTS)
    .where(
        _INCIDENTS.c.id == bindparam("incident_id"),
        _INCIDENTS.c.version == bindparam("read_version"),
        _INCIDENTS.c.remedial_engagement_id.is_(None),
    )
    .values(
        remedial_engagement_id=bindparam("engagement_id"),
        updated_at=bindparam("now"),
        version=_INCIDENTS.c.version + 1,  # as the ORM's version counter moves it
    )
)


async def open_remedial_if_unchanged(
    session: AsyncSession,
    *,
    incident: Incident,
    engagement_id: uuid.UUID,
    entries: Sequence[dict[str, Any]] = (),
) -> bool:
    """``open_remedial`` on ``incident`` as read at its version, without reading it again:
    one conditional update, then ``entries`` and the opening on the timeline (the remedial
    job's jobs are the caller's). ``False``, with nothing written, when the incident has
    changed since (the caller locks it and looks)."""
    opened = await session.execute(
        _OPEN_REMEDIAL_IF_UNCHANGED,
        {
            "incident_id": incident.id,
            "read_version": incident.version,
            "engagement_id": engagement_id,
            "now": utcnow(),
        },
    )
    if getattr(opened, "rowcount", 0) != 1:
        return False
    await timeline.write(session, [*entries, _remedial_opened(incident.id, engagement_id)])
    return True


def _remedial_opened(incident_id: uuid.UUID, engagement_id: uuid.UUID) -> dict[str, Any]:
    return timeline.row(
        incident_id=incident_id,
        kind=TimelineKind.REMEDIAL_OPENED,
        summary="Coaching opened the remedial engagement.",
        data={"engagement_id": str(engagement_id)},
    )


def remedial_goals(incident: Incident) -> str:
    clauses = ", ".join(incident.clauses) or "none named"
    category = incident.category.value.replace("_", " ")
    return (
        f"Remedial coaching after a {incident.severity} incident ({category}, on "
        f"{incident.channel}; clauses breached: {clauses}). Go through the clauses with "
        "concrete examples and agree how to post from now on."
    )


async def _with_history(
    outside: Outside,
    *,
    incident: Incident,
    rules: Sequence[EscalationRule],
    facts: Facts,
) -> tuple[Facts, dict[str, Any]]:
    """``facts`` completed with coaching's count of completed remedial coaching."""
    windows = sorted({r.window_days for r in rules if r.min_completed_remedial is not None})
    histories = (
        await upstream.coaching_history(
            outside.gateway,
            incident.person_id,
            windows=windows,
            timeout_seconds=outside.history_timeout_seconds,
        )
        if windows
        else []
    )
    completed = {h.window_days: h.remedial_completed_in_window for h in histories}
    active = max((h.remedial_active for h in histories), default=0)
    return dataclasses.replace(facts, completed_remedial=completed), {
        "asked": True,
        "remedial_active": active,
    }


async def _wait_for_history(
    session: AsyncSession,
    *,
    incident: Incident,
    evaluation: Evaluation,
    error: str,
    outside: Outside,
    fresh: bool = False,
) -> None:
    """``fresh``: a new report, written here (see ``_apply``)."""
    waiting_already = incident.status is IncidentStatus.AWAITING_HISTORY
    if not waiting_already:
        incident.status = IncidentStatus.AWAITING_HISTORY
        incident.updated_at = utcnow()
    if fresh:
        await write_new(session, incident, changed=True)
    elif not waiting_already:
        session.add(incident)
    job = await jobs.retry_later(
        session,
        incident_id=incident.id,
        kind=JobKind.DECIDE,
        error=error,
        backoff=outside.backoff,
    )
    if waiting_already:
        return
    waiting = timeline.row(
        incident_id=incident.id,
        kind=TimelineKind.AWAITING_HISTORY,
        summary=f"Waiting for coaching history. {evaluation.explain()} "
        "It is decided as soon as coaching answers.",
        data={"error": error, "next_attempt_at": job.next_attempt_at.isoformat()},
    )
    await timeline.write(session, [waiting])
    await session.flush()


def _policy_decision(
    *,
    incident: Incident,
    policy: PolicyVersion,
    rule: EscalationRule | None,
    facts: Facts,
    history: dict[str, Any],
    evaluation: Evaluation,
    assignees: Assignees,
    trigger: Trigger,
    actor: Caller | None,
) -> Decision:
    now = utcnow()
    deadline = dt.timedelta(hours=rule.deadline_hours) if rule else FALLBACK_DEADLINE
    explanation = evaluation.explain()
    if rule is None:
        explanation += " HR decides."
    return Decision(
        incident_id=incident.id,
        kind=DecisionKind.POLICY,
        trigger=trigger,
        action=Action(rule.action) if rule else Action.HR_REVIEW,
        policy_id=policy.id,
        policy_number=policy.number,
        rule_position=rule.position if rule else None,
        rule_name=rule.name if rule else None,
        references=list(rule.references) if rule else [],
        facts=_facts_record(facts, history),
        checks=[dataclasses.asdict(check) for check in evaluation.checks],
        explanation=explanation,
        contacts=assignees.contacts,
        owner_role=assignees.owner_role,
        owner_id=assignees.owner_id,
        owner_conflict=assignees.owner_conflict,
        owner_note=assignees.owner_note,
        deadline_at=now + deadline,
        # No rule matched: HR decides, and nothing is suspended before it has.
        suspends_ambassador=rule.suspends_ambassador if rule else False,
        decided_by=actor.person_id if actor else None,
        created_at=now,
    )


def _facts_record(facts: Facts, history: dict[str, Any]) -> dict[str, Any]:
    return {
        "severity": facts.severity.value,
        "category": facts.category.value,
        "prior_incidents": {str(w): n for w, n in sorted(facts.prior_incidents.items())},
        "completed_remedial": None
        if facts.completed_remedial is None
        else {str(w): n for w, n in sorted(facts.completed_remedial.items())},
        "coaching_history": "asked" if history.get("asked") else "not needed",
        "remedial_active": history.get("remedial_active"),
    }


async def _apply(
    session: AsyncSession,
    *,
    incident: Incident,
    decision: Decision,
    actor: Caller | None,
    fresh: bool = False,
) -> list[Assignment]:
    """Make ``decision`` the one in force: on the incident, its assignments, its timeline,
    and the remedial engagement to open if the action is coaching; returns the
    assignments. ``fresh``: the incident is a new report, not written yet: it is written
    here, once, as the decision leaves it, and it has no jobs and no assignments to
    replace yet, so the statements that would look for them are not sent.

    The rows written once and never read back in the transaction (the decision, its
    assignments and timeline entries, a new report's jobs) go in with Core inserts, a
    statement per table: the ORM's unit of work cost more than the statements."""
    replaces = incident.decision_id is not None
    suspension_changed = incident.suspends_ambassador != decision.suspends_ambassador
    incident.decision_id = decision.id
    incident.action = decision.action
    incident.owner_role = decision.owner_role
    incident.owner_id = decision.owner_id
    incident.deadline_at = decision.deadline_at
    incident.suspends_ambassador = decision.suspends_ambassador
    if incident.status in UNDECIDED:
        incident.status = IncidentStatus.DECIDED
    incident.updated_at = utcnow()
    if fresh:  # first: everything below refers to it
        await write_new(session, incident, changed=True)
    else:
        session.add(incident)
    await session.execute(_INSERT_DECISION, column_values(decision))
    new_jobs: list[JobKind] = []
    if suspension_changed:
        if fresh:  # nothing can be queued yet for a new report
            new_jobs.append(JobKind.SYNC_COACHING)
        else:
            await jobs.enqueue(session, incident_id=incident.id, kind=JobKind.SYNC_COACHING)
    if not fresh:
        done = [JobKind.DECIDE]
        if decision.kind is DecisionKind.POLICY:  # taken on the person's history as it is now
            done.append(JobKind.RECOUNT)
        await jobs.finish_kinds(session, incident_id=incident.id, kinds=done)
    assignments = await _replace_assignments(session, decision=decision, fresh=fresh)
    entries = _timeline_of(decision, actor=actor)
    await events.decided(
        session,
        incident=incident,
        decision=decision,
        escalated=replaces or decision.kind is DecisionKind.OVERRIDE,
    )
    if decision.action is Action.COACHING and incident.remedial_engagement_id is None:
        if fresh:
            new_jobs.append(JobKind.OPEN_REMEDIAL)
        requested = fresh or await jobs.enqueue(
            session, incident_id=incident.id, kind=JobKind.OPEN_REMEDIAL
        )
        if requested:
            entries.append(
                timeline.row(
                    incident_id=incident.id,
                    kind=TimelineKind.REMEDIAL_REQUESTED,
                    summary="Remedial coaching requested from coaching.",
                )
            )
    if new_jobs:
        queued = [PendingJob(incident_id=incident.id, kind=kind) for kind in new_jobs]
        await session.execute(_INSERT_JOBS, [column_values(job) for job in queued])
    await timeline.write(session, entries)
    await session.flush()
    return assignments


async def write_new(session: AsyncSession, incident: Incident, *, changed: bool) -> None:
    """Write a new report (``decision.service.decide`` with ``Trigger.REPORTED``), once, as
    its verdict leaves it; ``changed``: the verdict changed it (decided, or waiting for
    history), and the caller writes the verdict's timeline entries, which the report's
    own go in with (``timeline.write_later``). Its version is the one it had when it was
    written as reported and then changed in the same transaction: the ETags of new
    reports are what they were."""
    if changed:
        incident.version += 1
    await session.execute(_INSERT_INCIDENT, column_values(incident))
    if not changed:  # nothing else goes on its timeline: its own entries, now
        await timeline.write(session, [])


async def _replace_assignments(
    session: AsyncSession, *, decision: Decision, fresh: bool = False
) -> list[Assignment]:
    if not fresh:
        await session.execute(
            delete(Assignment).where(col(Assignment.incident_id) == decision.incident_id)
        )
    # A contact is assigned to its person (with the role it was contacted for, which is
    # what lets legal see the whole incident); a role nobody holds stays with the role.
    rows = [
        Assignment(
            incident_id=decision.incident_id,
            kind=AssignmentKind.CONTACT,
            person_id=uuid.UUID(contact["person_id"]) if contact["person_id"] else None,
            role=contact["role"],
        )
        for contact in decision.contacts
        if contact["person_id"] or contact["role"]
    ]
    rows.append(
        Assignment(
            incident_id=decision.incident_id,
            kind=AssignmentKind.OWNER,
            person_id=decision.owner_id,
            role=None if decision.owner_id else decision.owner_role.value,
        )
    )
    await session.execute(_INSERT_ASSIGNMENTS, [column_values(row) for row in rows])
    return rows


def _timeline_of(decision: Decision, *, actor: Caller | None) -> list[dict[str, Any]]:
    """The decision's entries: what was decided, then each contact."""
    deadline = f"{decision.deadline_at:%Y-%m-%d %H:%M} UTC"
    if decision.kind is DecisionKind.OVERRIDE:
        kind, summary = TimelineKind.OVERRIDDEN, f"Decision overridden: {decision.action}."
    else:
        kind = TimelineKind.DECIDED
        version = f"escalation policy v{decision.policy_number}"
        summary = f"Decided: {decision.action} ({version}). {decision.explanation}"
    if decision.suspends_ambassador:
        summary += " It suspends the person's ambassador role, if they hold one."
    entries = [
        timeline.row(
            incident_id=decision.incident_id,
            kind=kind,
            actor=actor,
            summary=f"{summary} Owner: {decision.owner_role}; deadline {deadline}.",
            data={
                "decision_id": str(decision.id),
                "action": decision.action.value,
                "reason": decision.reason,
                **(
                    {"owner_conflict": decision.owner_conflict, "owner_note": decision.owner_note}
                    if decision.owner_conflict
                    else {}
                ),
            },
        )
    ]
    entries.extend(
        timeline.row(
            incident_id=decision.incident_id,
            kind=TimelineKind.CONTACTED,
            actor=actor,
            summary=contacts_resolution.describe(contact),
            data={"decision_id": str(decision.id), "contact": contact},
        )
        for contact in decision.contacts
    )
    return entries


# Built once (see ``_apply``).
_INSERT_INCIDENT = insert(table_of(Incident))
_INSERT_DECISION = insert(table_of(Decision))
_INSERT_ASSIGNMENTS = insert(table_of(Assignment))
_INSERT_JOBS = insert(table_of(PendingJob))


def _rule_at(rules: Sequence[EscalationRule], position: int | None) -> EscalationRule | None:
    return next((rule for rule in rules if rule.position == position), None)
