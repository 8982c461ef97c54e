"""What coaching holds about a person, for the privacy officer (through the gateway):
their engagements with the sessions and the notes about them, applications, measures."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import APIRouter
from pydantic_core import to_jsonable_python
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from coaching.deps import GatewayDep
from coaching.models import (
    AmbassadorApplication,
    Coach,
    CoachingSession,
    Engagement,
    EngagementStatus,
    IncidentMeasure,
)
from coaching.upstream import legal_holds
from kit.db import SessionDep
from kit.privacy import (
    ERASE_PATH,
    PERSON_PATH,
    ErasureOutcome,
    GatewayOnlyDep,
    KeptItem,
    PersonalTable,
    delete_rows,
    rows_about,
)

PERSONAL_TABLES = (
    PersonalTable("coach_record", Coach, "person_id"),
    PersonalTable("engagements", Engagement, "coachee_id"),
    PersonalTable("ambassador_applications", AmbassadorApplication, "person_id"),
    PersonalTable("incident_measures", IncidentMeasure, "person_id"),
)

router = APIRouter(tags=["privacy"])


@router.get(PERSON_PATH)
async def person_data(
    person_id: uuid.UUID, session: SessionDep, caller: GatewayOnlyDep
) -> dict[str, Any]:
    """Everything coaching holds about a person, session notes about them included (the
    gateway only, for a right-of-access export)."""
    found = await rows_about(session, PERSONAL_TABLES, person_id=person_id)
    sessions = await session.scalars(
        select(CoachingSession)
        .join(Engagement, col(Engagement.id) == col(CoachingSession.engagement_id))
        .where(col(Engagement.coachee_id) == person_id)
        .order_by(col(CoachingSession.scheduled_at), col(CoachingSession.id))
    )
    found["sessions"] = [to_jsonable_python(row.model_dump()) for row in sessions]
    return found


OPEN = (EngagementStatus.PROPOSED, EngagementStatus.ACTIVE)


@router.post(ERASE_PATH, response_model=ErasureOutcome)
async def erase_person(
    person_id: uuid.UUID, session: SessionDep, caller: GatewayOnlyDep, gateway: GatewayDep
) -> ErasureOutcome:
    """Erase what coaching holds about a person (the gateway only, for the privacy
    officer): finished engagements with their sessions and notes, applications, measures;
    an engagement still open, or from an incident under legal hold, is kept, and said so.
    Asking again erases nothing more."""
    return await erase(session, gateway, person_id=person_id)


async def erase(
    session: AsyncSession, gateway: httpx.AsyncClient, *, person_id: uuid.UUID
) -> ErasureOutcome:
    kept: list[KeptItem] = []
    engagements = list(
        await session.scalars(select(Engagement).where(col(Engagement.coachee_id) == person_id))
    )
    # Incidents answers for its holds; asked only when an engagement came from an incident.
    from_incidents = [e for e in engagements if e.status not in OPEN and e.incident_id]
    held = await legal_holds(gateway) if from_incidents else set()
    finished = [e.id for e in engagements if e.status not in OPEN and e.incident_id not in held]
    kept += [
        KeptItem(what="engagement", id=str(e.id), why=f"the engagement is still {e.status.value}")
        for e in engagements
        if e.status in OPEN
    ]
    kept += [
        KeptItem(what="engagement", id=str(e.id), why=f"legal hold on incident {e.incident_id}")
        for e in from_incidents
        if e.incident_id in held
    ]
    sessions = await session.execute(
        delete(CoachingSession).where(col(CoachingSession.engagement_id).in_(finished))
    )
    removed = await session.execute(delete(Engagement).where(col(Engagement.id).in_(finished)))
    erased = {
        "sessions": int(getattr(sessions, "rowcount", 0) or 0),
        "engagements": int(getattr(removed, "rowcount", 0) or 0),
    }
    erased.update(
        await delete_rows(
            session,
            [t for t in PERSONAL_TABLES if t.model in (AmbassadorApplication, IncidentMeasure)],
            person_id=person_id,
        )
    )
    coach = await session.scalar(select(Coach).where(col(Coach.person_id) == person_id))
    erased["coach_record"] = 0
    if coach is not None:
        coaches_others = await session.scalar(
            select(Engagement.id).where(col(Engagement.coach_id) == coach.id).limit(1)
        )
        if coaches_others is None:
            await session.delete(coach)
            erased["coach_record"] = 1
        else:
            kept.append(
                KeptItem(what="coach_record", id=str(coach.id), why="they coach other people")
            )
    await session.flush()
    return ErasureOutcome(erased=erased, kept=kept)
