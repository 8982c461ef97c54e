"""An incident's measures here: recorded as incidents last told them, and what follows
(the ambassador suspension they cause, the remedial engagement a withdrawal cancels)."""

from __future__ import annotations

import uuid

from sqlalchemy import BindParameter, ColumnElement, and_, bindparam, exists, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped
from sqlmodel import col, select

from coaching import events
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
from kit.db import flush_unless_duplicate, utcnow


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
        col(Engagement.status).in_(OPEN_STATUSES),
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
        col(Engagement.status).in_(OPEN_STATUSES),
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
    measure, fresh = await _locked(session, incident_id=incident_id, data=data)
    if not fresh:  # a row just written already says all this (no second statement)
        measure.person_id = data.person_id
        measure.suspends_ambassador = data.suspends_ambassador
        measure.status = data.status
        measure.updated_at = utcnow()
        session.add(measure)
    cancelled = False
    if data.status is MeasureStatus.WITHDRAWN:
        cancelled = await _cancel_engagement(session, incident_id=incident_id, reason=data.reason)
    await session.flush()
    # An open incident whose decision suspends is a suspension by itself: no need to ask.
    now_suspended = (
        data.suspends_ambassador and data.status is MeasureStatus.OPEN
    ) or await is_suspended(session, data.person_id)
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


async def withdrawn(session: AsyncSession, incident_id: uuid.UUID) -> bool:
    """The incident was dismissed or found no violation: no engagement opens for it."""
    status = await session.scalar(
        select(IncidentMeasure.status).where(col(IncidentMeasure.incident_id) == incident_id)
    )
    return status is MeasureStatus.WITHDRAWN


async def _locked(
    session: AsyncSession, *, incident_id: uuid.UUID, data: IncidentMeasuresPut
) -> tuple[IncidentMeasure, bool]:
    """The incident's row, locked for this transaction, and whether it was just created
    from ``data`` (the first word)."""
    measure = await session.get(IncidentMeasure, incident_id, with_for_update=True)
    if measure is not None:
        return measure, False
    fresh = IncidentMeasure(
        incident_id=incident_id,
        person_id=data.person_id,
        suspends_ambassador=data.suspends_ambassador,
        status=data.status,
    )
    if await flush_unless_duplicate(session, fresh):
        return fresh, True
    # A concurrent first word won: take its row.
    raced = await session.get(
        IncidentMeasure, incident_id, with_for_update=True, populate_existing=True
    )
    assert raced is not None
    return raced, False


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
