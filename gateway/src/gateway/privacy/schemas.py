"""API shapes of the gateway's data-protection routes."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from pydantic import BaseModel, Field

from gateway.privacy.models import ExportStatus


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
