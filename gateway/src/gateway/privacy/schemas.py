"""API shapes of the gateway's data-protection routes."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from gateway.privacy.models import ErasureStatus, ExportStatus
from kit.fields import Text


class ExportCreate(BaseModel):
    person_id: uuid.UUID = Field(description="Whose data to export.")


class ExportRead(BaseModel):
    id: uuid.UUID
    person_id: uuid.UUID
    status: ExportStatus
    parts_done: int
    parts_total: int
    progress_percent: int
    created_at: dt.datetime
    finished_at: dt.datetime | None
    expires_at: dt.datetime | None = Field(description="The download link works until then.")
    download_url: str | None = Field(description="JSON; add `?format=html` for a readable page.")
    error: str | None


class ExportFormat(StrEnum):
    JSON = "json"
    HTML = "html"


class ErasureCreate(BaseModel):
    person_id: uuid.UUID = Field(description="Whom to erase.")
    reason: Text = Field(min_length=1, max_length=1000, description="Why (kept in the audit).")


class ErasureRead(BaseModel):
    id: uuid.UUID
    person_id: uuid.UUID
    status: ErasureStatus
    reason: str
    steps_done: list[str] = Field(description="training, coaching, incidents, directory.")
    outcomes: dict[str, Any] = Field(
        description="Per step: `erased` (counts, never content) and `kept` (what, id, why)."
    )
    attempts: int
    last_error: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
