"""Gateway tables: the people directory and groups. API shapes live in ``schemas.py``."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlmodel import Field

from gateway.db import Base
from kit.concurrency import Versioned
from kit.db import UtcDateTime, utcnow


class Person(Versioned, Base, table=True):
    """A person pushed in by the HRIS / identity provider. Its ``id`` is the id every
    service uses for that person. Deactivated people stay, so their records keep meaning."""

    __tablename__ = "people"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    external_id: str | None = Field(default=None, max_length=200, unique=True)
    user_name: str = Field(max_length=200, unique=True)
    given_name: str | None = Field(default=None, max_length=200)
    family_name: str | None = Field(default=None, max_length=200)
    display_name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320)
    active: bool = Field(default=True, index=True)
    department: str | None = Field(default=None, max_length=200, index=True)
    title: str | None = Field(default=None, max_length=200)
    employee_number: str | None = Field(default=None, max_length=100)
    manager_id: uuid.UUID | None = Field(default=None, foreign_key="people.id", index=True)
    locale: str | None = Field(default=None, max_length=35)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Group(Base, table=True):
    __tablename__ = "groups"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    display_name: str = Field(max_length=200, unique=True)
    external_id: str | None = Field(default=None, max_length=200, unique=True)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class GroupMember(Base, table=True):
    __tablename__ = "group_members"

    group_id: uuid.UUID = Field(foreign_key="groups.id", primary_key=True)
    person_id: uuid.UUID = Field(foreign_key="people.id", primary_key=True, index=True)
