"""Incident queries and rules: reporting, what a caller may see, the lifecycle, notes and
the timeline. Nothing here knows about HTTP."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, not_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from incidents import events
from incidents.decision import jobs, upstream
from incidents.decision import person as person_history
from incidents.decision import service as decisions
from incidents.decision.models import Assignment, Decision, JobKind, Trigger
from incidents.decision.upstream import UpstreamUnavailable
from incidents.domain import (
    Action,
    Category,
    IncidentStatus,
    Outcome,
    OwnerRole,
    Severity,
)
from incidents.errors import (
    DecisionRaced,
    IllegalTransition,
    IncidentNotFound,
    PersonNotInDirectory,
)
from incidents.incident import access, timeline
from incidents.incident.access import View
from incidents.incident.models import Incident, TimelineEntry, TimelineKind, actionable
from incidents.incident.schemas import IncidentCreate, IncidentUpdate, OverrideCreate
from kit.concurrency import check_if_match
from kit.db import Database, utcnow
from kit.errors import ServiceUnavailable
from kit.identity import Caller
from kit.pagination import PageParams, paginate

# The lifecycle: which status may follow which (the system moves reported incidents to
# awaiting_history or decided; people take the steps below).
TRANSITIONS: dict[IncidentStatus, frozenset[IncidentStatus]] = {
    IncidentStatus.REPORTED: frozenset({IncidentStatus.DISMISSED}),
    IncidentStatus.AWAITING_HISTORY: frozenset({IncidentStatus.DISMISSED}),
    IncidentStatus.DECIDED: frozenset({IncidentStatus.IN_PROGRESS, IncidentStatus.DISMISSED}),
    IncidentStatus.IN_PROGRESS: frozenset({IncidentStatus.RESOLVED, IncidentStatus.DISMISSED}),
    IncidentStatus.RESOLVED: frozenset(),
    IncidentStatus.DISMISSED: frozenset(),
}
CLOSED = frozenset({IncidentStatus.RESOLVED, IncidentStatus.DISMISSED})


@dataclass(frozen=True, slots=True)
class Seen:
    """An incident with the caller's view of it."""

    incident: Incident
    view: View
    assignments: list[Assignment] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class IncidentFilters:
    statuses: Sequence[IncidentStatus] = ()
    severity: Severity | None = None
    category: Category | None = None
    person_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    owner_role: OwnerRole | None = None
    overdue: bool | None = None


async def report(
    database: Database,
    *,
    caller: Caller,
    data: IncidentCreate,
    outside: decisions.Outside,
    on_record: decisions.OnRecord | None = None,
) -> Incident:
    """Record a report and decide it at once (or queue the decision). The report and its
    decision (or its waiting) are written together in one short transaction, after the
    directory and coaching were asked: a failure leaves nothing behind."""
    try:
        person = await upstream.find_person(outside.gateway, data.person_id)
    except UpstreamUnavailable as error:
        raise ServiceUnavailable(
            "The directory cannot be reached to check the person concerned; nothing was "
            "recorded. Send the report again (with the same Idempotency-Key)."
        ) from error
    if person is None:
        raise PersonNotInDirectory(
            f"There is no person {data.person_id} in the directory.",
            extensions={
                "errors": [{"detail": "No such person in the directory.", "pointer": "#/person_id"}]
            },
        )
    assert caller.person_id is not None  # reporting is for people (the route checks)
    # Built once: only the transaction that records its verdict writes it (and changes it),
    # the last thing the report does; until then it is only read.
    incident = Incident(
        **data.model_dump(exclude={"links"}),
        links=[str(link) for link in data.links],
        reporter_id=caller.person_id,
    )

    async def new_incident(session: AsyncSession, *, writing: bool) -> Incident:
        if writing:
            # Not in the database yet: the decision writes it with its verdict, in one
            # INSERT, and its entries with the verdict's.
            incident.created_at = incident.updated_at = utcnow()
            reported = timeline.row(
                incident_id=incident.id,
                kind=TimelineKind.REPORTED,
                actor=caller,
                summary=f"Reported: {incident.severity} severity, {incident.category} on "
                f"{incident.channel}.",
            )
            timeline.write_later(session, [reported])
            await events.reported(session, incident=incident)
        return incident

    try:
        outcome = await decisions.decide(
            database,
            load=new_incident,
            outside=outside,
            trigger=Trigger.REPORTED,
            person=person,
            on_record=on_record,
        )
    except DecisionRaced:
        # Other reports about the person kept it from its turn: record it, the worker
        # decides it after them. A report is never refused for being concurrent.
        return await decisions.record_undecided(database, load=new_incident, on_record=on_record)
    assert outcome is not None  # a new report always has something to decide
    outside.records.put(incident.id, person)
    return outcome[0]


async def decide_again(
    database: Database,
    *,
    caller: Caller,
    incident_id: uuid.UUID,
    if_match: str | None,
    outside: decisions.Outside,
    on_record: decisions.OnRecord | None = None,
) -> None:
    """HR asks for a fresh decision; ``If-Match``, when sent, must name the version."""

    async def decidable(session: AsyncSession, *, writing: bool) -> Incident:
        seen = await seen_incident(session, caller=caller, incident_id=incident_id, lock=writing)
        access.check_may_decide(caller, incident=seen.incident)
        check_if_match(if_match, current_version=seen.incident.version, required=False)
        decisions.check_decidable_again(seen.incident)
        return seen.incident

    await decisions.decide_again(
        database, load=decidable, outside=outside, actor=caller, on_record=on_record
    )


async def override(
    database: Database,
    *,
    caller: Caller,
    incident_id: uuid.UUID,
    if_match: str | None,
    data: OverrideCreate,
    outside: decisions.Outside,
    on_record: decisions.OnRecord | None = None,
) -> None:
    """HR overrides the decision in force (``If-Match`` required)."""

    async def overridable(session: AsyncSession, *, writing: bool) -> Incident:
        seen = await seen_incident(session, caller=caller, incident_id=incident_id, lock=writing)
        access.check_may_decide(caller, incident=seen.incident)
        check_if_match(if_match, current_version=seen.incident.version)
        decisions.check_overridable(seen.incident)
        return seen.incident

    await decisions.override(
        database,
        load=overridable,
        outside=outside,
        actor=caller,
        action=data.action,
        reason=data.reason,
        owner_role=data.owner_role,
        contacts=data.contacts,
        deadline_hours=data.deadline_hours,
        suspends_ambassador=data.suspends_ambassador,
        on_record=on_record,
    )


async def seen_incident(
    session: AsyncSession, *, caller: Caller, incident_id: uuid.UUID, lock: bool = False
) -> Seen:
    """The incident if the caller may see it (404 otherwise), with their view of it.
    ``lock`` holds its row until the transaction ends, for changes."""
    if lock:
        incident = await decisions.lock_incident(session, incident_id=incident_id)
    else:
        incident = await session.get(Incident, incident_id)
    if incident is None:
        raise IncidentNotFound(f"No incident {incident_id}, or it is not yours to see.")
    assignments = list(
        await session.scalars(select(Assignment).where(col(Assignment.incident_id) == incident.id))
    )
    view = access.require_view(caller, incident=incident, assignments=assignments)
    return Seen(incident=incident, view=view, assignments=assignments)


def seen_as_recorded(*, caller: Caller, incident: Incident, assignments: list[Assignment]) -> Seen:
    """A new report as ``seen_incident`` would read it in the transaction that recorded it
    (``assignments``: all it has)."""
    view = access.require_view(caller, incident=incident, assignments=assignments)
    return Seen(incident=incident, view=view, assignments=assignments)


async def decisions_of(session: AsyncSession, *, incident: Incident) -> list[Decision]:
    """Every decision on the incident, oldest first."""
    rows = await session.scalars(
        select(Decision)
        .where(col(Decision.incident_id) == incident.id)
        .order_by(col(Decision.created_at), col(Decision.id))
    )
    return list(rows)


async def list_incidents(
    session: AsyncSession, *, caller: Caller, filters: IncidentFilters, page: PageParams
) -> tuple[list[Seen], str | None]:
    """The incidents the caller may see, filtered, newest first."""
    statement = select(Incident)
    visible = access.visible_to(caller)
    if visible is not None:
        statement = statement.where(visible)
    statement = _filtered(statement, filters)
    rows, next_cursor = await paginate(
        session,
        statement,
        order_by=[Incident.created_at, Incident.id],
        params=page,
        descending=True,
    )
    return await _with_views(session, caller=caller, incidents=rows), next_cursor


async def my_actions(
    session: AsyncSession, *, caller: Caller, page: PageParams
) -> tuple[list[Seen], str | None]:
    """Open incidents assigned to the caller (in person or through a role), the most
    urgent deadline first."""
    statement = select(Incident).where(actionable(), access.assigned_to(caller))
    rows, next_cursor = await paginate(
        session, statement, order_by=[Incident.deadline_at, Incident.id], params=page
    )
    return await _with_views(session, caller=caller, incidents=rows), next_cursor


async def change_status(
    session: AsyncSession,
    *,
    caller: Caller,
    seen: Seen,
    data: IncidentUpdate,
    if_match: str | None,
) -> Incident:
    incident = seen.incident
    check_if_match(if_match, current_version=incident.version)
    if data.status is IncidentStatus.DISMISSED:
        access.check_may_dismiss(caller, incident=incident, view=seen.view)
    else:
        access.check_may_act(caller, incident=incident, view=seen.view)
    if data.status not in TRANSITIONS[incident.status]:
        allowed = ", ".join(sorted(TRANSITIONS[incident.status])) or "none (it is closed)"
        raise IllegalTransition(
            f"An incident that is {incident.status} cannot become {data.status}; "
            f"allowed next: {allowed}."
        )
    previous = incident.status
    incident.status = data.status
    incident.outcome = data.outcome
    incident.updated_at = utcnow()
    if data.status in CLOSED:
        incident.closed_at = incident.updated_at
        await events.closed(session, incident=incident)
        for kind in JobKind:
            await jobs.finish(session, incident_id=incident.id, kind=kind)
        if incident.suspends_ambassador or incident.action is Action.COACHING:
            # Coaching lifts the suspension once the remedial coaching is over, or at once
            # (cancelling that coaching) when the incident turned out to be nothing.
            await jobs.enqueue(session, incident_id=incident.id, kind=JobKind.SYNC_COACHING)
    session.add(incident)
    if not counts_as_prior(incident):
        # It no longer counts as a prior incident: later decisions about the person are
        # revisited, and decisions being taken now read their facts again.
        await person_history.move_on(session, person_id=incident.person_id)
        await person_history.history_changed(session, incident=incident)
    timeline.append(
        session,
        incident_id=incident.id,
        kind=TimelineKind.STATUS_CHANGED,
        actor=caller,
        summary=_status_summary(previous, data),
        data={
            "from": previous.value,
            "to": data.status.value,
            "outcome": data.outcome.value if data.outcome else None,
            "reason": data.reason,
        },
    )
    await session.flush()
    return incident


async def add_note(
    session: AsyncSession, *, caller: Caller, seen: Seen, text: str
) -> TimelineEntry:
    access.check_may_note(seen.view)
    entry = timeline.append(
        session, incident_id=seen.incident.id, kind=TimelineKind.NOTE, actor=caller, summary=text
    )
    await session.flush()
    return entry


async def timeline_of(
    session: AsyncSession, *, seen: Seen, page: PageParams
) -> tuple[list[TimelineEntry], str | None]:
    """The incident's timeline, in the order it was written."""
    access.check_sees_timeline(seen.view)
    return await paginate(
        session,
        select(TimelineEntry).where(col(TimelineEntry.incident_id) == seen.incident.id),
        order_by=[TimelineEntry.seq],
        params=page,
    )


def _filtered(
    statement: SelectOfScalar[Incident], filters: IncidentFilters
) -> SelectOfScalar[Incident]:
    if filters.statuses:
        statement = statement.where(col(Incident.status).in_(filters.statuses))
    equal_to = {
        Incident.severity: filters.severity,
        Incident.category: filters.category,
        Incident.person_id: filters.person_id,
        Incident.owner_id: filters.owner_id,
        Incident.owner_role: filters.owner_role,
    }
    for column, value in equal_to.items():
        if value is not None:
            statement = statement.where(col(column) == value)
    if filters.overdue is not None:
        overdue = and_(actionable(), col(Incident.deadline_at) < utcnow())
        statement = statement.where(overdue if filters.overdue else not_(overdue))
    return statement


async def _with_views(
    session: AsyncSession, *, caller: Caller, incidents: Sequence[Incident]
) -> list[Seen]:
    """Each incident with the caller's view of it; the assignments of the whole page in
    one query."""
    by_incident: dict[uuid.UUID, list[Assignment]] = defaultdict(list)
    if incidents:
        rows = await session.scalars(
            select(Assignment).where(col(Assignment.incident_id).in_([i.id for i in incidents]))
        )
        for row in rows:
            by_incident[row.incident_id].append(row)
    seen = []
    for incident in incidents:
        assignments = by_incident[incident.id]
        view = access.view_of(caller, incident=incident, assignments=assignments)
        if view is not None:
            seen.append(Seen(incident=incident, view=view, assignments=assignments))
    return seen


def counts_as_prior(incident: Incident) -> bool:
    """Whether the incident counts in later decisions about the person (the rule of
    ``decision.service.count_prior_incidents``)."""
    return incident.status is not IncidentStatus.DISMISSED and (
        incident.outcome is not Outcome.NO_VIOLATION
    )


def _status_summary(previous: IncidentStatus, data: IncidentUpdate) -> str:
    summary = f"Status changed from {previous} to {data.status}"
    if data.outcome is not None:
        summary += f" ({data.outcome})"
    if data.reason is not None:
        summary += f": {data.reason}"
    return summary + "."
