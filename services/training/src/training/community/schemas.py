"""Community API models."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field

from kit.fields import Text
from training.policy.schemas import ClauseNumber


class ThreadCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Text = Field(min_length=1, max_length=200)
    body: Text = Field(min_length=1, max_length=10_000)
    module_id: uuid.UUID | None = Field(default=None, description="Tag with a module.")
    clause_number: ClauseNumber | None = Field(default=None, description="Tag with a clause.")


class ReplyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Text = Field(min_length=1, max_length=10_000)


class HideRequest(BaseModel):
    reason: Text = Field(min_length=3, max_length=1000, description="Why, for the record.")


class PostRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    author_id: uuid.UUID
    body: str
    created_at: dt.datetime
    hidden: bool = Field(description="Hidden posts are shown only to policy owners and authors.")
    hidden_reason: str | None


class ThreadRead(PostRead):
    title: str
    module_id: uuid.UUID | None
    clause_number: str | None


class ReplyRead(PostRead):
    thread_id: uuid.UUID
