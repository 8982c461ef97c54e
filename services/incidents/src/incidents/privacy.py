"""What incidents holds about a person, for the privacy officer (through the gateway).

Incidents about the person are exported exactly as the person concerned sees them
(``present.detail`` in the subject's view): the reporter is protected here as in the API,
and so are HR's working notes on the timeline, which may name the reporter and others.
Incidents they reported are exported in the reporter's view.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from incidents.decision.models import Assignment
from incidents.incident import access, present
from incidents.incident.models import Incident
from incidents.incident.service import Seen, decisions_of
from kit.db import SessionDep
from kit.identity import Caller, PrincipalKind, Role
from kit.privacy import PERSON_PATH, GatewayOnlyDep

router = APIRouter(prefix="/api/v1/incidents", tags=["privacy"])


@router.get(PERSON_PATH)
async def person_data(
    person_id: uuid.UUID, session: SessionDep, caller: GatewayOnlyDep
) -> dict[str, Any]:
    """The incidents about a person as they see them (never the reporter), and the ones
    they reported (the gateway only, for a right-of-access export)."""
    return await exported(session, person_id=person_id)


async def exported(session: AsyncSession, *, person_id: uuid.UUID) -> dict[str, Any]:
    # The person as a plain employee: whatever roles they hold, the subject's view.
    person = Caller(
        subject=str(person_id), kind=PrincipalKind.USER, roles=frozenset({Role.EMPLOYEE})
    )
    about = await _as_seen_by(session, person, col(Incident.person_id) == person_id)
    reported = await _as_seen_by(session, person, col(Incident.reporter_id) == person_id)
    return {"incidents_about_them": about, "incidents_they_reported": reported}


async def _as_seen_by(session: AsyncSession, person: Caller, condition: Any) -> list[Any]:
    shown = []
    incidents = await session.scalars(
        select(Incident).where(condition).order_by(col(Incident.created_at), col(Incident.id))
    )
    for incident in list(incidents):
        assignments = list(
            await session.scalars(
                select(Assignment).where(col(Assignment.incident_id) == incident.id)
            )
        )
        view = access.view_of(person, incident=incident, assignments=assignments)
        if view is None:
            continue
        seen = Seen(incident=incident, view=view, assignments=assignments)
        detail = present.detail(person, seen, await decisions_of(session, incident=incident))
        shown.append(to_jsonable_python(detail.model_dump()))
    return shown
