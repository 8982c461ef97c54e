"""Webhook subscription and delivery bodies."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from gateway.webhooks.models import DeliveryStatus
from kit.fields import Flag, Integer, Storable

Url = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), Storable
]
EventType = Annotated[str, StringConstraints(min_length=1, max_length=100), Storable]
Description = Annotated[str, StringConstraints(max_length=500), Storable]
MAX_GRACE_HOURS = 24 * 7


class WebhookCreate(BaseModel):
    url: Url = Field(description="https:// and a public address (checked now: 422 if not).")
    event_types: list[EventType] = Field(
        min_length=1, max_length=50, description="The event types to receive."
    )
    description: Description | None = None


class WebhookUpdate(BaseModel):
    url: Url | None = None
    event_types: list[EventType] | None = Field(default=None, min_length=1, max_length=50)
    description: Description | None = None
    enabled: Flag | None = Field(
        default=None, description="`false` stops deliveries; `true` resumes the waiting ones."
    )


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    failing_since: dt.datetime | None
    previous_secret_expires_at: dt.datetime | None = Field(
        description="Until then deliveries are signed with the previous secret too."
    )
    created_at: dt.datetime
    updated_at: dt.datetime


class WebhookWithSecret(WebhookRead):
    secret: str = Field(
        description="The signing secret (`whsec_...`). Shown only in this response: store it."
    )


class SecretRotation(BaseModel):
    grace_hours: Integer = Field(
        default=24,
        ge=0,
        le=MAX_GRACE_HOURS,
        description="How long deliveries are signed with the old secret too.",
    )


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    event_id: uuid.UUID = Field(description="Also the `webhook-id` header of every attempt.")
    event_type: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: dt.datetime | None
    next_attempt_at: dt.datetime
    delivered_at: dt.datetime | None
    created_at: dt.datetime
