"""Community tables: threads and their replies. A hidden post stays, for the record."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Index
from sqlmodel import Field

from kit.db import UtcDateTime, utcnow
from training.db import Base


class Thread(Base, table=True):
    __tablename__ = "threads"
    __table_args__ = (Index("ix_threads_created_at_id", "created_at", "id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    author_id: uuid.UUID
    title: str = Field(max_length=200)
    body: str
    module_id: uuid.UUID | None = Field(default=None, foreign_key="modules.id", index=True)
    clause_number: str | None = Field(default=None, max_length=16)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    hidden_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    hidden_by: uuid.UUID | None = None
    hidden_reason: str | None = None


class Reply(Base, table=True):
    __tablename__ = "replies"
    __table_args__ = (Index("ix_replies_thread_id_created_at_id", "thread_id", "created_at", "id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    thread_id: uuid.UUID = Field(foreign_key="threads.id")
    author_id: uuid.UUID
    body: str
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    hidden_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    hidden_by: uuid.UUID | None = None
    hidden_reason: str | None = None
