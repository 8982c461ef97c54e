"""Telling coaching what an incident means for the person now, until it has heard it.

A decision whose rule says so suspends the person's ambassador role while the incident is
handled; the incident closing lets coaching lift it once the remedial coaching is over;
a dismissal (or a resolution as no violation) withdraws everything at once: the
suspension is lifted and the incident's remedial engagement cancelled. Coaching keeps one
record per incident, set by an idempotent PUT, so this job can be retried at will; it ends
only when coaching has heard the incident as it still is.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from incidents.decision import jobs, upstream
from incidents.decision.models import JobKind
from incidents.decision.service import Outside, lock_incident
from incidents.decision.upstream import CoachingMeasures, UpstreamUnavailable
from incidents.domain import OPEN_STATUSES, IncidentStatus, Outcome
from incidents.incident import timeline
from incidents.incident.models import Incident, TimelineKind
from kit.db import Database


async def tell_coaching(
    database: Database,
    *,
    incident_id: uuid.UUID,
    outside: Outside,
    incident: Incident | None = None,
) -> None:
    """``incident``: as the worker read it when it claimed the job (else read here)."""
    if incident is None:
        async with database.transaction(write=False) as session:
            incident = await session.get(Incident, incident_id)
    if incident is None:
        return
    status, reason = measure_status(incident)
    try:
        heard = await upstream.tell_coaching(
            outside.gateway,
            incident_id=incident.id,
            person_id=incident.person_id,
            suspends_ambassador=incident.suspends_ambassador,
            status=status,
            reason=reason,
        )
    except UpstreamUnavailable as error:
        async with database.transaction() as session:
            await jobs.retry_later(
                session,
                incident_id=incident_id,
                kind=JobKind.SYNC_COACHING,
                error=str(error),
                backoff=outside.backoff,
            )
        return
    async with database.transaction() as session:
        locked = await lock_incident(session, incident_id=incident_id)
        if locked is not None:
            await record_heard(
                session, locked=locked, told_version=incident.version, status=status, heard=heard
            )


async def record_heard(
    session: AsyncSession,
    *,
    locked: Incident,
    told_version: int,
    status: str,
    heard: CoachingMeasures,
) -> None:
    """What coaching made of the measures told of the incident at ``told_version``, in the
    transaction that holds the incident's lock: on the timeline, and the job done."""
    if locked.version != told_version:
        # It changed while coaching was being told: tell it again, as it is now.
        await jobs.due_now(session, incident_id=locked.id, kind=JobKind.SYNC_COACHING)
        return
    if (entry := heard_entry(locked.id, status=status, heard=heard)) is not None:
        await timeline.write(session, [entry])
    await jobs.finish(session, incident_id=locked.id, kind=JobKind.SYNC_COACHING)


def heard_entry(
    incident_id: uuid.UUID, *, status: str, heard: CoachingMeasures
) -> dict[str, Any] | None:
    """The timeline entry of what coaching did, if it did anything."""
    summary = _what_coaching_did(status, heard)
    if summary is None:
        return None
    return timeline.row(
        incident_id=incident_id,
        kind=TimelineKind.COACHING_MEASURES,
        summary=summary,
        data={"status": status, **_as_data(heard)},
    )


def measure_status(incident: Incident) -> tuple[str, str | None]:
    """``open`` while it is handled; ``withdrawn`` when it turned out to be nothing;
    ``closed`` when resolved as a violation."""
    if incident.status in OPEN_STATUSES:
        return "open", None
    if incident.status is IncidentStatus.DISMISSED:
        return "withdrawn", "dismissed"
    if incident.outcome is Outcome.NO_VIOLATION:
        return "withdrawn", "resolved: no violation"
    return "closed", None


def _what_coaching_did(status: str, heard: CoachingMeasures) -> str | None:
    done = []
    if heard.engagement_cancelled:
        done.append("cancelled the remedial engagement (its sessions are kept)")
    if heard.suspension_lifted:
        done.append("lifted the ambassador suspension")
    elif heard.ambassador_suspended and status == "open":
        done.append("suspended the person's ambassador role while the incident is handled")
    if not done:
        return None
    return "Coaching " + " and ".join(done) + "."


def _as_data(heard: CoachingMeasures) -> dict[str, bool]:
    return {
        "ambassador_suspended": heard.ambassador_suspended,
        "suspension_lifted": heard.suspension_lifted,
        "engagement_cancelled": heard.engagement_cancelled,
    }
