"""Aggregate routes: parse, authorise, call the service, return."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from incidents.deps import SessionDep
from incidents.stats import service
from incidents.stats.schemas import EffectStats
from kit.errors import Forbidden
from kit.fields import Timestamp
from kit.identity import CallerDep

router = APIRouter(prefix="/api/v1/incidents/stats", tags=["reports"])


@router.get("/effect", response_model=EffectStats, response_class=Response)
async def effect_stats(
    session: SessionDep,
    caller: CallerDep,
    since: Annotated[Timestamp, Query(description="Count incidents from this instant.")],
) -> Response:
    """Incident counts per person and quarter, each person's latest incident and the
    incidents that asked for coaching: what training's programme-effect report needs
    (the training service only)."""
    if not caller.is_service("training"):
        raise Forbidden("These aggregates are for the training service's reports.")
    stats = await service.effect_stats(session, since=since)
    # Serialised once, not validated again on the way out (see service.effect_stats).
    return Response(stats.model_dump_json(), media_type="application/json")
