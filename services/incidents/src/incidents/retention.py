"""The incidents retention rules (``kit.retention``), from ``INCIDENTS_RETENTION_*``.

* Dismissed reports are deleted ``retention_dismissed_days`` after their dismissal, with
  their timeline, decisions and assignments (a dismissed report never counts in a decision).
* Closed incidents (resolved, or dismissed within the period) are anonymised
  ``retention_closed_days`` after closing: the person and the reporter replaced, the
  description and the timeline's texts removed; the incident itself stays, so the counts
  in reports stay. Never before the longest look-back window of any version of the
  escalation policy plus ``retention_late_report_days``: a decision counts the incidents
  in the window before the reported post was made, so a report that comes in late looks
  back from then; retention cannot cut short the history such a decision counts.
* An incident under legal hold is left alone.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from incidents.decision.models import Assignment, Decision, PendingJob
from incidents.domain import IncidentStatus
from incidents.incident.models import Incident, TimelineEntry
from incidents.policy.models import EscalationRule
from kit.db import table_of
from kit.privacy import ERASED_PERSON_ID
from kit.retention import RetentionRule

ERASED_TEXT = "[removed by retention]"
# The escalation policy's default look-back window: retention of closed incidents may not
# be shorter (the settings refuse it), and a policy with a longer window lengthens it.
DEFAULT_WINDOW_DAYS = 365


def kept_history_days(window_days: int, late_report_days: int) -> int:
    """How long a closed incident must stay as it is so that a decision about a post
    reported up to ``late_report_days`` after it was made still counts it: the decision
    looks back ``window_days`` from the post, and the incident closed after it occurred."""
    return window_days + late_report_days


def rules(*, dismissed_days: int, closed_days: int, late_report_days: int) -> list[RetentionRule]:
    async def dismissed(session: AsyncSession, now: dt.datetime, limit: int) -> int:
        incidents = table_of(Incident)
        ids = list(
            await session.scalars(
                select(incidents.c.id)
                .where(
                    incidents.c.status == IncidentStatus.DISMISSED.value,
                    incidents.c.closed_at < now - dt.timedelta(days=dismissed_days),
                    incidents.c.legal_hold.is_(None),
                )
                .limit(limit)
            )
        )
        if ids:
            for model in (TimelineEntry, Decision, Assignment, PendingJob):
                table = table_of(model)
                await session.execute(delete(table).where(table.c.incident_id.in_(ids)))
            await session.execute(delete(incidents).where(incidents.c.id.in_(ids)))
        return len(ids)

    async def closed(session: AsyncSession, now: dt.datetime, limit: int) -> int:
        incidents = table_of(Incident)
        longest = await session.scalar(select(func.max(table_of(EscalationRule).c.window_days)))
        days = max(closed_days, kept_history_days(int(longest or 0), late_report_days))
        ids = list(
            await session.scalars(
                select(incidents.c.id)
                .where(
                    incidents.c.closed_at.is_not(None),
                    incidents.c.closed_at < now - dt.timedelta(days=days),
                    incidents.c.legal_hold.is_(None),
                    incidents.c.person_id != ERASED_PERSON_ID,
                )
                .limit(limit)
            )
        )
        if ids:
            entries = table_of(TimelineEntry)
            await session.execute(
                update(entries)
                .where(entries.c.incident_id.in_(ids))
                .values(summary=ERASED_TEXT, data={})
            )
            await session.execute(
                update(incidents)
                .where(incidents.c.id.in_(ids))
                .values(
                    person_id=ERASED_PERSON_ID,
                    reporter_id=ERASED_PERSON_ID,
                    description=ERASED_TEXT,
                    links=[],
                )
            )
        return len(ids)

    return [
        RetentionRule("dismissed_incidents_deleted", dismissed),
        RetentionRule("closed_incidents_anonymised", closed),
    ]
