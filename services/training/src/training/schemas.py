"""Training API models (requests and responses)."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel

from training.models import VersionStatus


class ClauseRead(BaseModel):
    number: str
    title: str
    body: str


class PolicyVersionRead(BaseModel):
    id: uuid.UUID
    policy_id: uuid.UUID
    title: str
    number: int
    status: VersionStatus
    body_markdown: str
    requires_acknowledgement: bool
    effective_at: dt.datetime | None
    published_at: dt.datetime | None
    clauses: list[ClauseRead]
