"""What coaching holds about a person, for the privacy officer (through the gateway):
their engagements with the sessions and the notes about them, applications, measures."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from pydantic_core import to_jsonable_python
from sqlmodel import col, select

from coaching.models import (
    AmbassadorApplication,
    Coach,
    CoachingSession,
    Engagement,
    IncidentMeasure,
)
from kit.db import SessionDep
from kit.privacy import PERSON_PATH, GatewayOnlyDep, PersonalTable, rows_about

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
