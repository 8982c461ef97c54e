"""API shapes of the inbox and the event intake."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from kit.fields import Storable


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


MAX_OPT_OUTS = 50


class EmailChoice(BaseModel):
    kind: str = Field(description="An event type people are told about.")
    mandatory: bool = Field(description="The policy says it is always e-mailed.")
    email: bool = Field(description="Whether it reaches me by e-mail (the inbox always has it).")


class NotificationSettings(BaseModel):
    email: list[EmailChoice]


class NotificationSettingsUpdate(BaseModel):
    email_opt_outs: list[
        Annotated[str, StringConstraints(min_length=1, max_length=100), Storable]
    ] = Field(
        max_length=MAX_OPT_OUTS,
        description="The kinds I do not want by e-mail (all others are e-mailed); "
        "mandatory kinds cannot be listed.",
    )


class IntakeReceipt(BaseModel):
    received: int
    new: int = Field(description="Events not taken in before (the others were repeats).")
