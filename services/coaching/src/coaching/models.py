"""Coaching tables. API shapes live in ``schemas.py``."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlmodel import Field

from coaching.db import Base
from kit.concurrency import Versioned
from kit.db import UtcDateTime, utcnow


class Coach(Versioned, Base, table=True):
    __tablename__ = "coaches"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    person_id: uuid.UUID = Field(unique=True)
    display_name: str = Field(max_length=200)
    capacity: int = Field(description="How many active engagements the coach takes at once.")
    active: bool = True
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
