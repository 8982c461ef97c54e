"""API shapes of the inbox and the event intake."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str = Field(description="The event that caused it, e.g. `incident.decided`.")
    subject: str
    body: str = Field(description="Plain text, in the person's language.")
    link: str | None = Field(description="Where the object it is about is read.")
    created_at: dt.datetime
    read_at: dt.datetime | None


class UnreadCount(BaseModel):
    unread: int


class MarkedRead(BaseModel):
    marked: int = Field(description="How many notifications were unread and now are read.")


class IntakeReceipt(BaseModel):
    received: int
    new: int = Field(description="Events not taken in before (the others were repeats).")
