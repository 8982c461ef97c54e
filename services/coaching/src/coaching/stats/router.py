"""Aggregate routes: parse, authorise, call the query, return."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlmodel import col, select

from coaching.deps import CallerDep, SessionDep
from coaching.models import Engagement, EngagementStatus, Track
from kit.errors import Forbidden
from kit.fields import Timestamp

router = APIRouter(tags=["reports"])


class RemedialCompletions(BaseModel):
    completed: list[tuple[uuid.UUID, dt.datetime]] = Field(
        description="`[incident_id, completed_at]` of each completed remedial engagement "
        "opened since `since`."
    )


@router.get("/stats/remedial-completions", response_model=RemedialCompletions)
async def remedial_completions(
    session: SessionDep,
    caller: CallerDep,
    since: Annotated[Timestamp, Query(description="Engagements opened from this instant.")],
) -> RemedialCompletions:
    """When each incident's remedial coaching was completed: what training's
    programme-effect report needs (the training service only). One query."""
    if not caller.is_service("training"):
        raise Forbidden("These aggregates are for the training service's reports.")
    rows = await session.execute(
        select(col(Engagement.incident_id), col(Engagement.completed_at)).where(
            col(Engagement.track) == Track.REMEDIAL,
            col(Engagement.status) == EngagementStatus.COMPLETED,
            col(Engagement.incident_id).is_not(None),
            col(Engagement.created_at) >= since,
        )
    )
    return RemedialCompletions(
        completed=[
            (incident, at if at.tzinfo else at.replace(tzinfo=dt.UTC))
            for incident, at in rows.all()
            if incident is not None and at is not None
        ]
    )
