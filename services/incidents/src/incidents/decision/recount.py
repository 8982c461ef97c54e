"""Revisiting a decision after the person's history changed under it: an earlier post
reported after it was decided, or an earlier incident dismissed or found no violation.

* The count is the same (the change is outside every window the decision used): nothing.
* The incident is still ``decided`` on the policy's decision: it is decided again with the
  new facts (trigger ``recounted``); the earlier decision stays on record.
* It is in progress, or HR overrode the decision: people are already acting on it, so it
  is not decided again behind their backs; the timeline flags the change to its owner and
  HR, who can override.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from incidents.decision import jobs
from incidents.decision import person as person_history
from incidents.decision.models import Decision, DecisionKind, JobKind, Trigger
from incidents.decision.service import Outside, count_prior_incidents, decide, lock_incident
from incidents.domain import ACTIONABLE_STATUSES, IncidentStatus
from incidents.incident import timeline
from incidents.incident.models import Incident, TimelineKind
from kit.db import Database

# Rounds of reading and writing before the job is left to its backoff.
MAX_ROUNDS = 3


async def recount(database: Database, *, incident_id: uuid.UUID, outside: Outside) -> None:
    for _ in range(MAX_ROUNDS):
        async with database.transaction(write=False) as session:
            seen = await _read(session, incident_id=incident_id)
        if seen is None:
            await _finish(database, incident_id=incident_id)
            return
        if seen.counts == seen.recorded:
            if await _finish(database, incident_id=incident_id, unless_moved=seen):
                return
            continue  # the history moved again meanwhile: count again
        if seen.redecidable:
            if await _decide_again(database, incident_id=incident_id, outside=outside):
                return
            continue  # it moved on meanwhile (e.g. in progress): flag it instead
        if await _flag(database, seen=seen):
            return
    raise RuntimeError(f"the history of incident {incident_id}'s person kept changing")


@dataclass(frozen=True, slots=True)
class _Seen:
    incident: Incident
    person_version: int
    # Prior incidents per window (days, as text): as the policy's decision recorded
    # them, and as they are now.
    recorded: dict[str, int]
    counts: dict[str, int]
    # Still decided on the policy's decision (not in progress, not overridden).
    redecidable: bool


async def _read(session: AsyncSession, *, incident_id: uuid.UUID) -> _Seen | None:
    incident = await session.get(Incident, incident_id)
    if incident is None or incident.status not in ACTIONABLE_STATUSES:
        return None
    basis = await session.scalar(
        select(Decision)
        .where(col(Decision.incident_id) == incident_id, col(Decision.kind) == DecisionKind.POLICY)
        .order_by(col(Decision.created_at).desc(), col(Decision.id).desc())
        .limit(1)
    )
    if basis is None:
        return None
    recorded: dict[str, int] = (basis.facts or {}).get("prior_incidents", {})
    counts = await count_prior_incidents(
        session, incident=incident, windows={int(window) for window in recorded}
    )
    return _Seen(
        incident=incident,
        person_version=await person_history.version_of(session, person_id=incident.person_id),
        recorded=recorded,
        counts={str(window): n for window, n in counts.items()},
        redecidable=incident.status is IncidentStatus.DECIDED and incident.decision_id == basis.id,
    )


async def _decide_again(database: Database, *, incident_id: uuid.UUID, outside: Outside) -> bool:
    """Decide the still-decided incident again; ``False`` if it moved on meanwhile. The new
    decision ends the recount job in its own transaction (``decision.service._apply``); one
    that has to wait for another service leaves the job to be retried."""

    async def still_decided(session: AsyncSession, *, writing: bool) -> Incident | None:
        if writing:
            incident = await lock_incident(session, incident_id=incident_id)
        else:
            incident = await session.get(Incident, incident_id)
        decided = incident is not None and incident.status is IncidentStatus.DECIDED
        return incident if decided else None

    outcome = await decide(database, load=still_decided, outside=outside, trigger=Trigger.RECOUNTED)
    return outcome is not None


async def _flag(database: Database, *, seen: _Seen) -> bool:
    incident, counts = seen.incident, seen.counts
    async with database.transaction() as session:
        if not await person_history.take_turn(
            session, person_id=incident.person_id, read_version=seen.person_version
        ):
            return False
        counted = ", ".join(f"{n} in {w} days" for w, n in sorted(counts.items(), key=_days))
        timeline.append(
            session,
            incident_id=incident.id,
            kind=TimelineKind.HISTORY_CHANGED,
            summary="The person's history changed after this decision: prior incidents are "
            f"now {counted}. The decision in force stands; its owner and HR should review "
            "it (HR can override).",
            data={"prior_incidents": counts},
        )
        await jobs.finish(session, incident_id=incident.id, kind=JobKind.RECOUNT)
    return True


async def _finish(
    database: Database,
    *,
    incident_id: uuid.UUID,
    unless_moved: _Seen | None = None,
) -> bool:
    """Drop the recount job; with ``unless_moved``, only if the person's history has not
    moved since it was read (else a change that came meanwhile would be lost)."""
    async with database.transaction() as session:
        if unless_moved is not None and not await person_history.take_turn(
            session,
            person_id=unless_moved.incident.person_id,
            read_version=unless_moved.person_version,
        ):
            return False
        await jobs.finish(session, incident_id=incident_id, kind=JobKind.RECOUNT)
    return True


def _days(item: tuple[str, int]) -> int:
    return int(item[0])
