"""The events coaching emits (kit.outbox), written in the transaction of the change.

Payloads carry ids, the track, the status and the outcome: never goals, session notes or
the closing note (only the coach and the coachee read those).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from coaching.db import outbox
from coaching.models import (
    AmbassadorApplication,
    ApplicationStatus,
    Coach,
    Engagement,
    EngagementStatus,
    Source,
    Track,
)


async def _engagement(session: AsyncSession, engagement: Engagement) -> dict[str, Any]:
    coach = await session.get(Coach, engagement.coach_id) if engagement.coach_id else None
    return _engagement_data(
        engagement_id=engagement.id,
        coachee_id=engagement.coachee_id,
        coach_person_id=coach.person_id if coach else None,
        track=engagement.track,
        source=engagement.source,
        status=engagement.status,
        incident_id=engagement.incident_id,
    )


def _engagement_data(
    *,
    engagement_id: uuid.UUID,
    coachee_id: uuid.UUID,
    coach_person_id: uuid.UUID | None,
    track: Track,
    source: Source,
    status: EngagementStatus,
    incident_id: uuid.UUID | None,
) -> dict[str, Any]:
    return {
        "engagement_id": engagement_id,
        "coachee_id": coachee_id,
        "coach_person_id": coach_person_id,
        "track": track.value,
        "source": source.value,
        "status": status.value,
        "incident_id": incident_id,
    }


async def engagement_opened(session: AsyncSession, *, engagement: Engagement) -> None:
    """``coaching.engagement.opened``: a new engagement (proposed, or with its coach)."""
    await outbox.emit(session, "coaching.engagement.opened", await _engagement(session, engagement))


async def remedial_engagement_opened(
    session: AsyncSession,
    *,
    engagement_id: uuid.UUID,
    coachee_id: uuid.UUID,
    incident_id: uuid.UUID,
) -> None:
    """``coaching.engagement.opened`` for an incident's remedial engagement just inserted
    (proposed, no coach yet), from its values: no row to load."""
    data = _engagement_data(
        engagement_id=engagement_id,
        coachee_id=coachee_id,
        coach_person_id=None,
        track=Track.REMEDIAL,
        source=Source.INCIDENT,
        status=EngagementStatus.PROPOSED,
        incident_id=incident_id,
    )
    await outbox.emit(session, "coaching.engagement.opened", data)


async def coach_assigned(
    session: AsyncSession, *, engagement: Engagement, assigned_by: uuid.UUID | None
) -> None:
    """``coaching.engagement.coach_assigned``: an open engagement got a (new) coach after it
    was opened; ``assigned_by``: the person who assigned them (not told: they know)."""
    await outbox.emit(
        session,
        "coaching.engagement.coach_assigned",
        {**await _engagement(session, engagement), "assigned_by": assigned_by},
    )


async def engagement_completed(session: AsyncSession, *, engagement: Engagement) -> None:
    await outbox.emit(
        session,
        "coaching.engagement.completed",
        {
            **await _engagement(session, engagement),
            "outcome": engagement.outcome.value if engagement.outcome else None,
            "completed_at": engagement.completed_at,
        },
    )


# Built once: a person's first decision that suspends asks it (issue 16).
_APPROVED_APPLICATION = select(AmbassadorApplication.id).where(
    col(AmbassadorApplication.person_id) == bindparam("person_id"),
    col(AmbassadorApplication.status) == ApplicationStatus.APPROVED,
)


async def ambassador_suspension(
    session: AsyncSession,
    *,
    person_id: uuid.UUID,
    was_suspended: bool,
    now_suspended: bool,
    reason: str,
) -> None:
    """``coaching.ambassador.suspended`` when an approved ambassador's role has just become
    suspended (how it stood before the change and after; ``reason``: what changed,
    ``incident_decision`` or ``remedial_referral``)."""
    if was_suspended or not now_suspended:
        return
    application = await session.scalar(_APPROVED_APPLICATION, {"person_id": person_id})
    if application is None:
        return  # not an ambassador: nothing is suspended
    await outbox.emit(
        session,
        "coaching.ambassador.suspended",
        {"person_id": person_id, "application_id": application, "reason": reason},
    )
