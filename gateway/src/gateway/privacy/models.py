"""Tables of the gateway's data-protection work: right-of-access exports."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

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
    """A right-of-access export: gathered in the background, downloadable until it expires,
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
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    finished_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    expires_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
