"""Aggregate API models: rows as short arrays, since a report may take tens of thousands."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field


class RemedialIncident(BaseModel):
    incident_id: uuid.UUID
    person_id: uuid.UUID
    occurred_at: dt.datetime
    engagement_id: uuid.UUID | None


class EffectStats(BaseModel):
    """What the programme-effect report needs of incidents. Counted incidents are those
    not dismissed and not resolved as no violation."""

    since: dt.datetime
    counts: list[tuple[uuid.UUID, int, int, int]] = Field(
        description="`[person_id, year, quarter (1-4), incidents]` for incidents that "
        "occurred since `since`, one row per person and quarter (UTC)."
    )
    last_incident_at: list[tuple[uuid.UUID, dt.datetime]] = Field(
        description="`[person_id, occurred_at]`: each person's latest counted incident ever."
    )
    remedial: list[RemedialIncident] = Field(
        description="Counted incidents since `since` whose decision asked for coaching."
    )
