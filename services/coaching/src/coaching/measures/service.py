"""An incident's measures here: recorded as incidents last told them, and what follows
(the ambassador suspension they cause, the remedial engagement a withdrawal cancels)."""

from __future__ import annotations

import uuid

from sqlalchemy import BindParameter, ColumnElement, and_, bindparam, exists, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped
from sqlmodel import col, select

from coaching import events
from coaching.db import insert_unless_present
from coaching.models import (
    OPEN_STATUSES,
    Engagement,
    EngagementStatus,
    IncidentMeasure,
    MeasureStatus,
    Source,
    Track,
)
from coaching.schemas import IncidentMeasuresPut, IncidentMeasuresRead
from kit.db import utcnow

# An open engagement, as one comparison per open status: ``IN`` is an expanding list the
# statement is rendered again for on every run (issue 16: the measures ask a person's
# suspension on every decision).
_ENGAGEMENT_OPEN = or_(*(col(Engagement.status) == status for status in OPEN_STATUSES))


def suspended(
    person_id: Mapped[uuid.UUID] | BindParameter[uuid.UUID] | uuid.UUID,
) -> ColumnElement[bool]:
    """``person_id``'s ambassador role is suspended (a value, a bound parameter, or the
    outer query's column):
    by a decision whose rule suspends, while its incident is open or its remedial coaching
    is; or by a remedial engagement a manager opened, while it is open. A report alone, or
    a decision whose rule does not suspend, never does."""
    incident_engagement_open = exists().where(
        col(Engagement.incident_id) == col(IncidentMeasure.incident_id),
        _ENGAGEMENT_OPEN,
    )
    by_incident = exists().where(
        col(IncidentMeasure.person_id) == person_id,
        col(IncidentMeasure.suspends_ambassador),
        col(IncidentMeasure.status) != MeasureStatus.WITHDRAWN,
        or_(col(IncidentMeasure.status) == MeasureStatus.OPEN, incident_engagement_open),
    )
    by_referral = exists().where(
        col(Engagement.coachee_id) == person_id,
        col(Engagement.track) == Track.REMEDIAL,
        col(Engagement.source) != Source.INCIDENT,
        _ENGAGEMENT_OPEN,
    )
    return or_(by_incident, by_referral)


# One person's suspension, built once: composing this expression on every call cost more
# CPU than running it, and a statement built once also keeps its cache key (issue 16: the
# measures ask it on every decision).
_IS_SUSPENDED = select(suspended(bindparam("person_id")))


async def is_suspended(session: AsyncSession, person_id: uuid.UUID) -> bool:
    return bool(await session.scalar(_IS_SUSPENDED, {"person_id": person_id}))


async def put_measures(
    session: AsyncSession, *, incident_id: uuid.UUID, data: IncidentMeasuresPut
) -> IncidentMeasuresRead:
    """Record the incident's measures as they are now; a withdrawal cancels its remedial
    engagement. Saying the same again changes nothing."""
    was_suspended = await is_suspended(session, data.person_id)
    # The first word about an incident (every decision's) is one insert; a later one, or a
    # concurrent first word that won, updates the row under its lock.
    fresh = await insert_unless_present(
        session,
        IncidentMeasure,
        {
            "incident_id": incident_id,
            "person_id": data.person_id,
            "suspends_ambassador": data.suspends_ambassador,
            "status": data.status,
        },
        unique="incident_id",
    )
    if not fresh:
        await _update_locked(session, incident_id=incident_id, data=data)
    cancelled = False
    if data.status is MeasureStatus.WITHDRAWN:
        cancelled = await _cancel_engagement(session, incident_id=incident_id, reason=data.reason)
    await session.flush()
    now_suspended = await _suspended_now(session, data=data, fresh=fresh, was=was_suspended)
    await events.ambassador_suspension(
        session,
        person_id=data.person_id,
        was_suspended=was_suspended,
        now_suspended=now_suspended,
        reason="incident_decision",
    )
    return IncidentMeasuresRead(
        incident_id=incident_id,
        person_id=data.person_id,
        suspends_ambassador=data.suspends_ambassador,
        status=data.status,
        ambassador_suspended=now_suspended,
        suspension_lifted=was_suspended and not now_suspended,
        engagement_cancelled=cancelled,
    )


async def _suspended_now(
    session: AsyncSession, *, data: IncidentMeasuresPut, fresh: bool, was: bool
) -> bool:
    """Whether the person is suspended after these measures, asked only when they can have
    changed it: an open incident whose decision suspends is a suspension by itself, and a
    new measure that does not suspend changes nothing (the incident's own engagement, which
    a withdrawal cancels, counts only through its measure)."""
    if data.suspends_ambassador and data.status is MeasureStatus.OPEN:
        return True
    if fresh and not data.suspends_ambassador:
        return was
    return await is_suspended(session, data.person_id)


async def withdrawn(session: AsyncSession, incident_id: uuid.UUID) -> bool:
    """The incident was dismissed or found no violation: no engagement opens for it."""
    status = await session.scalar(
        select(IncidentMeasure.status).where(col(IncidentMeasure.incident_id) == incident_id)
    )
    return status is MeasureStatus.WITHDRAWN


async def _update_locked(
    session: AsyncSession, *, incident_id: uuid.UUID, data: IncidentMeasuresPut
) -> None:
    """The incident's row, locked for this transaction, set to what ``data`` says."""
    measure = await session.get(IncidentMeasure, incident_id, with_for_update=True)
    assert measure is not None  # the insert found it
    measure.person_id = data.person_id
    measure.suspends_ambassador = data.suspends_ambassador
    measure.status = data.status
    measure.updated_at = utcnow()
    session.add(measure)


async def _cancel_engagement(
    session: AsyncSession, *, incident_id: uuid.UUID, reason: str | None
) -> bool:
    engagement = await session.scalar(
        select(Engagement).where(
            and_(
                col(Engagement.incident_id) == incident_id,
                col(Engagement.status).in_(OPEN_STATUSES),
            )
        )
    )
    if engagement is None:
        return False
    engagement.status = EngagementStatus.CANCELLED
    engagement.closing_note = f"Cancelled: the incident was {reason or 'withdrawn'}."
    engagement.cancelled_at = utcnow()
    session.add(engagement)
    return True
