"""Webhook subscriptions and their deliveries."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import JSON, Index
from sqlmodel import Field

from gateway.db import Base
from kit.db import UtcDateTime, str_enum, utcnow


class WebhookEndpoint(Base, table=True):
    """An integrator's endpoint and the event types it receives. The signing secret is
    kept (it signs every delivery) but shown only when it is made; during a rotation the
    previous one signs too, until ``previous_secret_expires_at``."""

    __tablename__ = "webhook_endpoints"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    url: str = Field(max_length=2000)
    description: str | None = Field(default=None, max_length=500)
    event_types: list[str] = Field(default_factory=list, sa_type=JSON)
    enabled: bool = True
    disabled_reason: str | None = Field(default=None, max_length=500)
    secret: str = Field(max_length=100)
    previous_secret: str | None = Field(default=None, max_length=100)
    previous_secret_expires_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    # Since when every delivery has failed (None: the last one succeeded); after
    # GATEWAY_WEBHOOK_DISABLE_AFTER_HOURS the endpoint is disabled and admins are told.
    failing_since: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_by: uuid.UUID
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    # The endpoint answered 410 Gone (it was disabled): never tried again unless replayed.
    FAILED = "failed"


class WebhookDelivery(Base, table=True):
    """One event for one endpoint, tried until it is delivered; claimed with a lease by
    the sender of any gateway replica. ``webhook-id`` is the event's id, the same on
    every attempt and replay, so a receiver deduplicates on it."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_endpoint_id_created_at_id", "endpoint_id", "created_at", "id"),
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    endpoint_id: uuid.UUID = Field(foreign_key="webhook_endpoints.id")
    event_id: uuid.UUID = Field(foreign_key="received_events.id")
    event_type: str = Field(max_length=100)
    status: DeliveryStatus = Field(default=DeliveryStatus.PENDING, sa_type=str_enum(DeliveryStatus))
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    leased_until: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    last_attempt_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    delivered_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
