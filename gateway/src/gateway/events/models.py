"""Tables of what goes out: the events received (the intake's idempotency record) and the
in-app inbox."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Index, Text
from sqlmodel import Field

from gateway.db import Base
from kit.db import UtcDateTime, utcnow


class ReceivedEvent(Base, table=True):
    """Every event the gateway has taken in, once: a service's drainer hands an event on
    at least once, and its id here makes the second hand-over a no-op."""

    __tablename__ = "received_events"

    id: uuid.UUID = Field(primary_key=True)
    type: str = Field(max_length=100)
    source: str = Field(max_length=50)
    occurred_at: dt.datetime = Field(sa_type=UtcDateTime)
    received_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class Notification(Base, table=True):
    """One message in a person's in-app inbox. Its text is rendered when it arrives, in
    the person's language, and holds nothing confidential (no reporter, no notes, no
    incident description)."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_person_id_created_at_id", "person_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    person_id: uuid.UUID = Field(foreign_key="people.id")
    event_id: uuid.UUID
    kind: str = Field(max_length=100)
    subject: str = Field(max_length=300)
    body: str = Field(sa_type=Text)
    link: str | None = Field(default=None, max_length=500)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    read_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)


class EmailMessage(Base, table=True):
    """An e-mail waiting to be sent: claimed with a lease by the sender of any gateway
    replica, retried with backoff while the SMTP server cannot take it, deleted once it
    has. Written with the inbox entry it copies, in the intake's transaction."""

    __tablename__ = "email_messages"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    person_id: uuid.UUID = Field(foreign_key="people.id")
    event_id: uuid.UUID
    kind: str = Field(max_length=100)
    to_address: str = Field(max_length=320)
    subject: str = Field(max_length=300)
    text: str = Field(sa_type=Text)
    html: str = Field(sa_type=Text)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    leased_until: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_error: str | None = Field(default=None, max_length=500)


class EmailOptOut(Base, table=True):
    """A kind of notification a person does not want by e-mail (the inbox still has it).
    Kinds the policy makes mandatory cannot be opted out of."""

    __tablename__ = "email_opt_outs"

    person_id: uuid.UUID = Field(foreign_key="people.id", primary_key=True)
    kind: str = Field(max_length=100, primary_key=True)
