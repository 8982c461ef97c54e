"""The coaching retention rule (``kit.retention``), from ``COACHING_RETENTION_*``.

* The notes of an engagement (every session's notes and the closing note) are removed
  ``retention_notes_days`` after the engagement ended (completed or cancelled). The
  engagement itself stays, with its track, outcome, dates and sessions: it is the coaching
  history incidents counts ("after completed remedial coaching") and holds no notes.
* An engagement that came from an incident under legal hold keeps its notes: the holds are
  asked of incidents (through the gateway) before each batch, and when incidents cannot
  answer the batch removes nothing (the round fails and the next one does the work).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from coaching.models import CoachingSession, Engagement, EngagementStatus
from kit.db import table_of
from kit.retention import RetentionRule

ENDED = (EngagementStatus.COMPLETED.value, EngagementStatus.CANCELLED.value)

HeldIncidents = Callable[[], Awaitable[set[uuid.UUID]]]


def rules(*, notes_days: int, held_incidents: HeldIncidents) -> list[RetentionRule]:
    async def notes(session: AsyncSession, now: dt.datetime, limit: int) -> int:
        held = await held_incidents()
        engagements = table_of(Engagement)
        sessions = table_of(CoachingSession)
        has_session_notes = exists().where(
            sessions.c.engagement_id == engagements.c.id, sessions.c.notes.is_not(None)
        )
        ended_at = func.coalesce(engagements.c.completed_at, engagements.c.cancelled_at)
        due = (
            select(engagements.c.id)
            .where(
                engagements.c.status.in_(ENDED),
                ended_at < now - dt.timedelta(days=notes_days),
                or_(engagements.c.closing_note.is_not(None), has_session_notes),
            )
            .order_by(engagements.c.id)
            .limit(limit)
        )
        if held:
            due = due.where(
                or_(
                    engagements.c.incident_id.is_(None),
                    engagements.c.incident_id.not_in(sorted(held)),
                )
            )
        ids = list(await session.scalars(due))
        if ids:
            await session.execute(
                update(sessions).where(sessions.c.engagement_id.in_(ids)).values(notes=None)
            )
            await session.execute(
                update(engagements).where(engagements.c.id.in_(ids)).values(closing_note=None)
            )
        return len(ids)

    return [RetentionRule("engagement_notes_removed", notes)]
