"""Incidents API models (requests and responses)."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict

from incidents.models import PolicyStatus


class EscalationRuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    position: int
    name: str
    severities: list[str]
    categories: list[str]
    min_prior_incidents: int | None
    min_completed_remedial: int | None
    window_days: int
    action: str
    contacts: list[str]
    owner_role: str
    deadline_hours: int


class EscalationPolicyRead(BaseModel):
    id: uuid.UUID
    number: int
    status: PolicyStatus
    notes: str | None
    published_at: dt.datetime | None
    rules: list[EscalationRuleRead]
