"""Coaching API models (requests and responses)."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field


class CoachCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_id: uuid.UUID
    display_name: str = Field(min_length=1, max_length=200)
    capacity: int = Field(ge=1, le=50, description="Active engagements the coach takes at once.")


class CoachRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    person_id: uuid.UUID
    display_name: str
    capacity: int
    active: bool
    created_at: dt.datetime
