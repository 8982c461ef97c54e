"""Engagements, their sessions and a person's coaching history: queries and state changes.

Routes call these; nothing here knows about HTTP. Who may see or change an engagement is
decided by ``rules`` from the caller's relation to it (its ``Audience``).
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import ColumnElement, Select, and_, bindparam, case, func, or_
from sqlalchemy import select as core_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from coaching import events, upstream
from coaching.coaches.service import check_capacity, coach_of_person, lock_coach, person_ids_of
from coaching.db import insert_unless_present
from coaching.engagements import rules
from coaching.engagements.rules import Audience
from coaching.errors import (
    EngagementNotFound,
    IllegalTransition,
    IncidentAlreadyLinked,
    IncidentWithdrawn,
    PersonNotFound,
    SessionNotFound,
)
from coaching.measures.service import is_suspended, put_measures, withdrawn
from coaching.models import (
    OPEN_STATUSES,
    CoachingSession,
    Engagement,
    EngagementStatus,
    MeasureStatus,
    Outcome,
    SessionStatus,
    Source,
    Track,
)
from coaching.schemas import (
    EngagementCreate,
    History,
    HistoryEngagement,
    IncidentMeasuresPut,
    IncidentMeasuresRead,
    RemedialCounts,
    SessionCreate,
    SessionRead,
    SessionUpdate,
    WindowCount,
)
from kit.concurrency import check_if_match
from kit.db import Database, UtcDateTime, flush_unless_duplicate, table_of, utcnow
from kit.errors import Unprocessable
from kit.identity import Caller, Role
from kit.pagination import PageParams, paginate
from kit.vouched import vouched


@dataclass(frozen=True, slots=True)
class Created:
    engagement: Engagement
    created: bool  # False: an engagement for this incident already existed


@dataclass(frozen=True, slots=True)
class Visible:
    engagement: Engagement
    audience: Audience


# -- creating -----------------------------------------------------------------------------


async def create_engagement(
    session: AsyncSession, gateway: httpx.AsyncClient, *, caller: Caller, data: EngagementCreate
) -> Created:
    rules.check_creation_shape(data)
    if data.source is Source.INCIDENT:
        rules.check_may_create(caller, data=data, coachee_manager_id=None)
        existing = await _for_incident(session, data=data)
        if existing is not None:
            return Created(existing, created=False)
        if data.incident_id is not None and await withdrawn(session, data.incident_id):
            raise IncidentWithdrawn(
                f"Incident {data.incident_id} was dismissed or found no violation; no "
                "remedial coaching opens for it."
            )
    # The incidents service read the coachee from the directory moments ago: its word (and
    # nobody else's: a user's record is ignored) spares asking again. The record names no
    # manager, which only engagements from an incident can do without.
    known = (
        vouched(data.directory_record, caller=caller, trusted="incidents")
        if data.source is Source.INCIDENT
        else None
    )
    manager_id = None
    if known is None:
        coachee = await upstream.person(gateway, data.coachee_id)
        if coachee is None:
            raise PersonNotFound(f"There is no person {data.coachee_id} in the directory.")
        manager_id = coachee.manager_id
    rules.check_may_create(caller, data=data, coachee_manager_id=manager_id)
    engagement = Engagement.model_validate(
        data.model_dump(exclude={"coach_id", "directory_record"}),
        update={"created_by": caller.principal_key},
    )
    # Only a remedial referral (not from an incident: incidents' measures say those)
    # suspends by being opened.
    referral = engagement.track is Track.REMEDIAL and engagement.source is not Source.INCIDENT
    was_suspended = referral and await is_suspended(session, engagement.coachee_id)
    if data.coach_id is not None:
        await _assign_on_creation(
            session, caller=caller, engagement=engagement, coach_id=data.coach_id
        )
    if not await flush_unless_duplicate(session, engagement):
        # A concurrent create for the same incident won the unique index: answer with it.
        # (Added inside the savepoint, the refused row leaves the session with it, so the
        # lookup below does not try to insert it again.)
        existing = await _for_incident(session, data=data)
        if existing is None:
            raise IncidentAlreadyLinked(
                f"Incident {data.incident_id} got an engagement at the same time; try again."
            )
        return Created(existing, created=False)
    await events.engagement_opened(session, engagement=engagement)
    if referral:
        await events.ambassador_suspension(
            session,
            person_id=engagement.coachee_id,
            was_suspended=was_suspended,
            now_suspended=await is_suspended(session, engagement.coachee_id),
            reason="remedial_referral",
        )
    return Created(engagement, created=True)


async def put_measures_and_open(
    database: Database,
    gateway: httpx.AsyncClient,
    *,
    caller: Caller,
    incident_id: uuid.UUID,
    data: IncidentMeasuresPut,
) -> IncidentMeasuresRead:
    """The incident's measures, and with ``remedial`` its remedial engagement opened after
    them, in one transaction: what a coaching decision tells coaching, in one call through
    the gateway instead of two (issue 16). Either both are recorded or neither. The
    transaction is its own, committed before the answer as the session dependency's would
    be, without that dependency's exit stack (every decision sends this; a PUT takes no
    ``Idempotency-Key`` whose seal would have to share it)."""
    if data.remedial is not None and data.status is not MeasureStatus.OPEN:
        raise Unprocessable(
            "A remedial engagement opens only for an open incident (status `open`).",
            extensions={"errors": [{"detail": "Only with status open.", "pointer": "#/remedial"}]},
        )
    async with database.transaction() as session:
        measures = await put_measures(session, incident_id=incident_id, data=data)
        if data.remedial is None:
            return measures
        engagement_id = await _open_for_incident(
            session, gateway, caller=caller, incident_id=incident_id, data=data
        )
    return measures.model_copy(update={"engagement_id": engagement_id})


async def _open_for_incident(
    session: AsyncSession,
    gateway: httpx.AsyncClient,
    *,
    caller: Caller,
    incident_id: uuid.UUID,
    data: IncidentMeasuresPut,
) -> uuid.UUID:
    """The incident's remedial engagement, as ``POST /engagements`` with source `incident`
    opens it, for the measures just recorded open (so not withdrawn) by the incidents
    service (the router admits no one else). With its directory record (every decision's
    call) it is one insert, which the unique index on the incident turns into nothing when
    the incident has its engagement already (a retry, a concurrent call): then that one."""
    assert data.remedial is not None
    if data.directory_record is None:  # coaching asks the directory, as POST does
        created = await create_engagement(
            session,
            gateway,
            caller=caller,
            data=EngagementCreate(
                coachee_id=data.person_id,
                track=Track.REMEDIAL,
                source=Source.INCIDENT,
                incident_id=incident_id,
                goals=data.remedial.goals,
            ),
        )
        return created.engagement.id
    engagement_id = uuid.uuid4()
    opened = await insert_unless_present(
        session,
        Engagement,
        {
            "id": engagement_id,
            "coachee_id": data.person_id,
            "track": Track.REMEDIAL,
            "source": Source.INCIDENT,
            "incident_id": incident_id,
            "goals": data.remedial.goals,
            "created_by": caller.principal_key,
        },
        unique="incident_id",
    )
    if not opened:
        existing = await _of_incident(session, incident_id=incident_id, coachee_id=data.person_id)
        assert existing is not None  # the insert found it
        return existing.id
    await events.remedial_engagement_opened(
        session, engagement_id=engagement_id, coachee_id=data.person_id, incident_id=incident_id
    )
    return engagement_id


async def _for_incident(session: AsyncSession, *, data: EngagementCreate) -> Engagement | None:
    assert data.incident_id is not None  # check_creation_shape: source incident has one
    return await _of_incident(session, incident_id=data.incident_id, coachee_id=data.coachee_id)


_OF_INCIDENT = select(Engagement).where(col(Engagement.incident_id) == bindparam("incident_id"))


async def _of_incident(
    session: AsyncSession, *, incident_id: uuid.UUID, coachee_id: uuid.UUID
) -> Engagement | None:
    """The incident's engagement, if it has one; it must be for ``coachee_id``."""
    existing = await session.scalar(_OF_INCIDENT, {"incident_id": incident_id})
    if existing is not None and existing.coachee_id != coachee_id:
        raise IncidentAlreadyLinked(
            f"Incident {incident_id} already has an engagement for another person."
        )
    return existing


# -- seeing ---------------------------------------------------------------------------------


async def audience_of(
    session: AsyncSession, gateway: httpx.AsyncClient, *, caller: Caller, engagement: Engagement
) -> Audience | None:
    coach_person_id = None
    if engagement.coach_id is not None:
        coach_person_id = (await person_ids_of(session, [engagement.coach_id])).get(
            engagement.coach_id
        )
    audience = rules.direct_audience(caller, engagement=engagement, coach_person_id=coach_person_id)
    if audience is None and caller.has_role(Role.MANAGER):
        coachee = await upstream.person(gateway, engagement.coachee_id)
        if coachee is not None and coachee.manager_id is not None:
            audience = Audience.MANAGER if caller.is_person(coachee.manager_id) else None
    return audience


async def visible_engagement(
    session: AsyncSession,
    gateway: httpx.AsyncClient,
    *,
    caller: Caller,
    engagement_id: uuid.UUID,
) -> Visible:
    """The engagement and the caller's relation to it; 404 if they may not know it exists."""
    engagement = await session.get(Engagement, engagement_id)
    audience = (
        await audience_of(session, gateway, caller=caller, engagement=engagement)
        if engagement is not None
        else None
    )
    if engagement is None or audience is None:
        raise EngagementNotFound(f"There is no engagement {engagement_id} you can see.")
    return Visible(engagement, audience)


@dataclass(frozen=True, slots=True)
class EngagementFilters:
    coachee_id: uuid.UUID | None = None
    coach_id: uuid.UUID | None = None
    track: Track | None = None
    status: EngagementStatus | None = None


async def list_engagements(
    session: AsyncSession,
    gateway: httpx.AsyncClient,
    *,
    caller: Caller,
    filters: EngagementFilters,
    page: PageParams,
) -> tuple[list[Engagement], str | None]:
    """Newest first. HR sees all; everyone else their own as coachee, those they coach,
    and (with ``coachee_id``) those of a direct report."""
    statement = select(Engagement)
    if not rules.is_overseer(caller):
        statement = statement.where(or_(*await _visible_to(session, gateway, caller, filters)))
    if filters.coachee_id is not None:
        statement = statement.where(col(Engagement.coachee_id) == filters.coachee_id)
    if filters.coach_id is not None:
        statement = statement.where(col(Engagement.coach_id) == filters.coach_id)
    if filters.track is not None:
        statement = statement.where(col(Engagement.track) == filters.track)
    if filters.status is not None:
        statement = statement.where(col(Engagement.status) == filters.status)
    return await paginate(
        session,
        statement,
        order_by=[Engagement.created_at, Engagement.id],
        params=page,
        descending=True,
    )


async def _visible_to(
    session: AsyncSession, gateway: httpx.AsyncClient, caller: Caller, filters: EngagementFilters
) -> list[ColumnElement[bool]]:
    person_id = caller.person_id
    if person_id is None:
        return [col(Engagement.id).is_(None)]  # other services see nothing here
    visible = [col(Engagement.coachee_id) == person_id]
    coach = await coach_of_person(session, person_id)
    if coach is not None:
        visible.append(col(Engagement.coach_id) == coach.id)
    if filters.coachee_id is not None and caller.has_role(Role.MANAGER):
        coachee = await upstream.person(gateway, filters.coachee_id)
        if coachee is not None and coachee.manager_id == person_id:
            visible.append(col(Engagement.coachee_id) == filters.coachee_id)
    return visible


# -- changing -----------------------------------------------------------------------------


async def assign_coach(
    session: AsyncSession,
    *,
    caller: Caller,
    visible: Visible,
    coach_id: uuid.UUID,
    if_match: str | None,
) -> Engagement:
    engagement = visible.engagement
    coach = await lock_coach(session, coach_id=coach_id)
    rules.check_may_assign(
        caller,
        coach_person_id=coach.person_id,
        taking_on=visible.audience in (Audience.COACH, Audience.COACH_POOL),
    )
    check_if_match(if_match, current_version=engagement.version)
    if not engagement.is_open:
        raise IllegalTransition(f"A {engagement.status} engagement cannot get another coach.")
    if engagement.coach_id != coach.id:
        await check_capacity(session, coach=coach)
        engagement.coach_id = coach.id
        await session.flush()
        await events.coach_assigned(session, engagement=engagement, assigned_by=caller.person_id)
    return engagement


async def _assign_on_creation(
    session: AsyncSession, *, caller: Caller, engagement: Engagement, coach_id: uuid.UUID
) -> None:
    coach = await lock_coach(session, coach_id=coach_id)
    rules.check_may_assign(caller, coach_person_id=coach.person_id, taking_on=True)
    await check_capacity(session, coach=coach)
    engagement.coach_id = coach.id


async def start(
    session: AsyncSession, *, caller: Caller, visible: Visible, if_match: str | None
) -> Engagement:
    engagement = visible.engagement
    rules.check_may_start_or_complete(visible.audience, caller, starting=True)
    check_if_match(if_match, current_version=engagement.version)
    rules.check_transition(engagement.status, EngagementStatus.ACTIVE)
    if engagement.coach_id is None:
        raise IllegalTransition("Assign a coach before starting the engagement.")
    engagement.status = EngagementStatus.ACTIVE
    engagement.started_at = utcnow()
    await session.flush()
    return engagement


async def complete(
    session: AsyncSession,
    *,
    caller: Caller,
    visible: Visible,
    outcome: Outcome,
    summary: str | None,
    if_match: str | None,
) -> Engagement:
    engagement = visible.engagement
    rules.check_may_start_or_complete(visible.audience, caller, starting=False)
    check_if_match(if_match, current_version=engagement.version)
    rules.check_transition(engagement.status, EngagementStatus.COMPLETED)
    engagement.status = EngagementStatus.COMPLETED
    engagement.outcome = outcome
    engagement.closing_note = summary
    engagement.completed_at = utcnow()
    await session.flush()
    await events.engagement_completed(session, engagement=engagement)
    return engagement


async def cancel(
    session: AsyncSession, *, caller: Caller, visible: Visible, reason: str, if_match: str | None
) -> Engagement:
    engagement = visible.engagement
    rules.check_may_cancel(visible.audience, caller, engagement=engagement)
    check_if_match(if_match, current_version=engagement.version)
    rules.check_transition(engagement.status, EngagementStatus.CANCELLED)
    engagement.status = EngagementStatus.CANCELLED
    engagement.closing_note = reason
    engagement.cancelled_at = utcnow()
    await session.flush()
    return engagement


# -- history --------------------------------------------------------------------------------


async def history(session: AsyncSession, *, person_id: uuid.UUID, window_days: int) -> History:
    """One indexed query (on coachee_id): what incidents needs to decide."""
    since = utcnow() - dt.timedelta(days=window_days)
    rows = await session.scalars(
        select(Engagement)
        .where(
            col(Engagement.coachee_id) == person_id,
            or_(
                col(Engagement.status).in_(OPEN_STATUSES),
                col(Engagement.created_at) >= since,
                col(Engagement.completed_at) >= since,
                col(Engagement.cancelled_at) >= since,
            ),
        )
        .order_by(col(Engagement.created_at).desc(), col(Engagement.id).desc())
    )
    engagements = list(rows.all())
    remedial = [e for e in engagements if e.track is Track.REMEDIAL]
    return History(
        person_id=person_id,
        window_days=window_days,
        engagements=[HistoryEngagement.model_validate(e) for e in engagements],
        remedial_completed_in_window=sum(
            1
            for e in remedial
            if e.status is EngagementStatus.COMPLETED
            and e.completed_at is not None
            and e.completed_at >= since
        ),
        remedial_active=sum(1 for e in remedial if e.is_open),
    )


async def remedial_counts(
    database: Database, *, person_id: uuid.UUID, windows: Sequence[int]
) -> RemedialCounts:
    """The counts of :func:`history` for each window, in one aggregate query over the
    person's engagements (on coachee_id), in a read transaction of its own: what incidents
    needs to decide, whatever the length of the person's history."""
    now = utcnow()
    cutoffs = {f"since_{i}": now - dt.timedelta(days=window) for i, window in enumerate(windows)}
    async with database.transaction(write=False) as session:
        result = await session.execute(
            _remedial_counts(len(windows)), {"person_id": person_id, **cutoffs}
        )
        row = result.one()
    return RemedialCounts(
        person_id=person_id,
        remedial_active=int(row[0]),
        windows=[
            WindowCount(window_days=window, remedial_completed=int(count))
            for window, count in zip(windows, row[1:], strict=True)
        ],
    )


def _count_of(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


@functools.cache
def _remedial_counts(window_count: int) -> Select[*tuple[Any, ...]]:
    """The open remedial engagements of ``person_id``, then those completed since each of
    ``since_0``, ``since_1``...: built once per number of windows, on the table's columns
    (no ORM entity to compile for), as incidents asks it on every decision (issue 16)."""
    engagement = table_of(Engagement).c
    remedial = engagement.track == Track.REMEDIAL
    completed = [
        _count_of(
            and_(
                remedial,
                engagement.status == EngagementStatus.COMPLETED,
                engagement.completed_at >= bindparam(f"since_{i}", type_=UtcDateTime),
            )
        )
        for i in range(window_count)
    ]
    # One comparison per open status, not an expanding IN rendered again on every run.
    is_open = or_(*(engagement.status == status for status in OPEN_STATUSES))
    active = _count_of(and_(remedial, is_open))
    return core_select(active, *completed).where(engagement.coachee_id == bindparam("person_id"))


# -- sessions -------------------------------------------------------------------------------


def session_read(row: CoachingSession, *, audience: Audience) -> SessionRead:
    """The one place a session becomes a response: notes only for the coach and coachee."""
    read = SessionRead.model_validate(row)
    return read if rules.sees_notes(audience) else read.model_copy(update={"notes": None})


async def schedule_session(
    session: AsyncSession, *, visible: Visible, data: SessionCreate
) -> CoachingSession:
    rules.check_may_manage_sessions(visible.audience)
    if visible.engagement.status is not EngagementStatus.ACTIVE:
        raise IllegalTransition(
            f"Sessions are scheduled for active engagements; this one is "
            f"{visible.engagement.status}."
        )
    row = CoachingSession.model_validate(
        data.model_dump(), update={"engagement_id": visible.engagement.id}
    )
    session.add(row)
    await session.flush()
    return row


async def list_sessions(
    session: AsyncSession, *, visible: Visible, page: PageParams
) -> tuple[list[CoachingSession], str | None]:
    statement = select(CoachingSession).where(
        col(CoachingSession.engagement_id) == visible.engagement.id
    )
    return await paginate(
        session,
        statement,
        order_by=[CoachingSession.scheduled_at, CoachingSession.id],
        params=page,
    )


async def get_session(
    session: AsyncSession, *, visible: Visible, session_id: uuid.UUID
) -> CoachingSession:
    row = await session.get(CoachingSession, session_id)
    if row is None or row.engagement_id != visible.engagement.id:
        raise SessionNotFound(f"Engagement {visible.engagement.id} has no session {session_id}.")
    return row


async def update_session(
    session: AsyncSession,
    *,
    visible: Visible,
    row: CoachingSession,
    data: SessionUpdate,
    if_match: str | None,
) -> CoachingSession:
    rules.check_may_manage_sessions(visible.audience)
    check_if_match(if_match, current_version=row.version)
    if data.status is not None:
        rules.check_session_transition(row.status, data.status)
        row.status = data.status
    if data.scheduled_at is not None:
        if row.status is not SessionStatus.SCHEDULED:
            raise IllegalTransition(f"A {row.status} session cannot be rescheduled.")
        row.scheduled_at = data.scheduled_at
    if "notes" in data.model_fields_set:
        row.notes = data.notes
    session.add(row)
    await session.flush()
    return row
