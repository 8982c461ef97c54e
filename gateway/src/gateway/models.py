"""Gateway tables: the people directory, groups and API clients. API shapes live in
``schemas.py`` (and ``scim/schemas.py`` for SCIM)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import event
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
    # The rest of SCIM's ``name``, kept as the identity provider sent it.
    name_formatted: str | None = Field(default=None, max_length=200)
    middle_name: str | None = Field(default=None, max_length=200)
    honorific_prefix: str | None = Field(default=None, max_length=200)
    honorific_suffix: str | None = Field(default=None, max_length=200)
    # The name every service shows: SCIM's displayName, else name.formatted, else given and
    # family name, else userName (gateway.scim.schemas.ScimUserIn.best_display_name).
    display_name: str = Field(max_length=200)
    # SCIM's displayName as sent (None: not sent), which SCIM returns.
    scim_display_name: str | None = Field(default=None, max_length=200)
    # The address notifications go to: derived from SCIM's ``emails`` (the primary one, else
    # the work one, else the first); every address as sent is in ``person_emails``.
    email: str | None = Field(default=None, max_length=320)
    active: bool = Field(default=True, index=True)
    department: str | None = Field(default=None, max_length=200, index=True)
    title: str | None = Field(default=None, max_length=200)
    employee_number: str | None = Field(default=None, max_length=100)
    manager_id: uuid.UUID | None = Field(default=None, foreign_key="people.id", index=True)
    locale: str | None = Field(default=None, max_length=35)
    # SCIM's preferredLanguage as sent; mail is written in it, else in ``locale``'s language.
    preferred_language: str | None = Field(default=None, max_length=35)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    # Set by a SCIM DELETE: the person is deactivated and gone from SCIM, but stays in the
    # directory so every service's records about them keep a name.
    deleted_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    # When the person was last deactivated (they left); ``None`` while active. Kept by the
    # listener below, so every way of changing ``active`` (SCIM, erasure) keeps it true.
    deactivated_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)


@event.listens_for(Person.active, "set")
def _deactivation_time(person: Person, active: bool, _old: object, _initiator: object) -> None:
    if active:
        person.deactivated_at = None
    elif person.deactivated_at is None:
        person.deactivated_at = utcnow()


class PersonEmail(Base, table=True):
    """One of a person's SCIM ``emails``, as sent (``position`` keeps their order)."""

    __tablename__ = "person_emails"

    person_id: uuid.UUID = Field(foreign_key="people.id", primary_key=True)
    position: int = Field(primary_key=True)
    value: str = Field(max_length=320)
    type: str | None = Field(default=None, max_length=50)
    primary: bool | None = None
    display: str | None = Field(default=None, max_length=200)


class Group(Base, table=True):
    __tablename__ = "groups"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    display_name: str = Field(max_length=200, unique=True)
    external_id: str | None = Field(default=None, max_length=200, unique=True)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class GroupMember(Base, table=True):
    __tablename__ = "group_members"

    group_id: uuid.UUID = Field(foreign_key="groups.id", primary_key=True)
    person_id: uuid.UUID = Field(foreign_key="people.id", primary_key=True, index=True)


class ApiClient(Base, table=True):
    """An integrator's credential. Only a hash of the secret is stored: the secret itself
    is shown once, when the client is created."""

    __tablename__ = "api_clients"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=200)
    # Space-separated, as in OAuth 2.0 (RFC 6749 §3.3).
    scopes: str = Field(max_length=1000)
    secret_hash: str = Field(max_length=64)
    created_by: uuid.UUID
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    last_used_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
