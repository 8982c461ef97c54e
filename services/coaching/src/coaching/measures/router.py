"""Measures routes: the incidents service tells coaching what an incident means here."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from coaching.deps import CallerDep, gateway_of
from coaching.engagements import service
from coaching.schemas import IncidentMeasuresPut, IncidentMeasuresRead
from kit.db import database_of
from kit.errors import Forbidden

router = APIRouter(tags=["incident measures"])


@router.put("/incidents/{incident_id}/measures", response_model=IncidentMeasuresRead)
async def put_incident_measures(
    incident_id: uuid.UUID,
    data: IncidentMeasuresPut,
    caller: CallerDep,
    request: Request,
) -> IncidentMeasuresRead:
    """The incident's measures as they are now (the incidents service only; idempotent): an
    ambassador suspension while it is handled, withdrawn (with its remedial engagement
    cancelled) when it was dismissed or found no violation; with `remedial`, the remedial
    engagement opened too."""
    if not caller.is_service("incidents"):
        raise Forbidden("Only the incidents service tells coaching about an incident.")
    # The database and the gateway client from the app, not as dependencies: every
    # decision sends this, and FastAPI solves each dependency anew per request (issue 16).
    return await service.put_measures_and_open(
        await database_of(request),
        await gateway_of(request),
        caller=caller,
        incident_id=incident_id,
        data=data,
    )
