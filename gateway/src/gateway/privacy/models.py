"""Tables of the gateway's data-protection work: right-of-access exports."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field

from gateway.db import Base
from kit.crypto import EncryptedJSON
from kit.db import UtcDateTime, str_enum, utcnow


class ExportStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"
    EXPIRED = "expired"


class PrivacyExport(Base, table=True):
    """A right-of-access export: gathered in the background part by part (the parts so far
    kept in ``document``, encrypted, until it is ready), downloadable until it expires,
    then wiped."""

    __tablename__ = "privacy_exports"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    person_id: uuid.UUID = Field(index=True)
    requested_by: str = Field(max_length=200)
    status: ExportStatus = Field(default=ExportStatus.PENDING, sa_type=str_enum(ExportStatus))
    parts_done: int = 0
    parts_total: int
    # Everything held about the person, notes included: encrypted at rest like the notes.
    document: dict[str, Any] | None = Field(
        default=None, sa_type=EncryptedJSON("gateway", "privacy_exports.document")
    )
    error: str | None = Field(default=None, max_length=500)
    # Leased while a gateway gathers it (kit.jobs): one cut short (kill -9) is taken over
    # when the lease ends and goes on from the first part not gathered.
    next_attempt_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    leased_until: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    finished_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    expires_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)


class ErasureStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"


class PrivacyErasure(Base, table=True):
    """An erasure, carried out step by step (each service, then the directory); each step
    is recorded done when its service answered, so an erasure cut short (kill -9) resumes
    where it stopped. Steps are idempotent: asking a service again erases nothing more."""

    __tablename__ = "privacy_erasures"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    person_id: uuid.UUID = Field(index=True)
    requested_by: str = Field(max_length=200)
    reason: str = Field(max_length=1000)
    status: ErasureStatus = Field(default=ErasureStatus.PENDING, sa_type=str_enum(ErasureStatus))
    # Step name -> what the service erased (counts) and kept (with why).
    outcomes: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    leased_until: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    finished_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)


class ErasedPerson(Base, table=True):
    """The directory's tombstone of an erased person: hashes of the identifiers SCIM knew
    them by (never the identifiers), so provisioning does not recreate them by accident."""

    __tablename__ = "erased_people"

    person_id: uuid.UUID = Field(primary_key=True)
    user_name_hash: str = Field(max_length=64, index=True)
    external_id_hash: str | None = Field(default=None, max_length=64, index=True)
    erased_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
