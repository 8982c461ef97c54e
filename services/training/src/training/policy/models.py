"""Policy tables: the policy, its versions, their clauses, acknowledgements."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field

from kit.concurrency import Versioned
from kit.db import UtcDateTime, str_enum, utcnow
from training.db import Base


class VersionStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class Policy(Base, table=True):
    __tablename__ = "policies"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    title: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class PolicyVersion(Versioned, Base, table=True):
    __tablename__ = "policy_versions"
    __table_args__ = (
        UniqueConstraint("policy_id", "number"),
        # Exactly one current version: at most one published version per policy.
        Index(
            "uq_policy_versions_one_published",
            "policy_id",
            unique=True,
            sqlite_where=text("status = 'published'"),
            postgresql_where=text("status = 'published'"),
        ),
        Index("ix_policy_versions_created_at_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    policy_id: uuid.UUID = Field(foreign_key="policies.id", index=True)
    number: int
    status: VersionStatus = Field(default=VersionStatus.DRAFT, sa_type=str_enum(VersionStatus))
    body_markdown: str
    requires_acknowledgement: bool = True
    # Recertification: an acknowledgement of this version is valid this many months, then
    # renewed (None: forever).
    renew_acknowledgement_every_months: int | None = None
    effective_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    published_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    retired_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Clause(Base, table=True):
    __tablename__ = "clauses"
    __table_args__ = (UniqueConstraint("version_id", "number"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    version_id: uuid.UUID = Field(foreign_key="policy_versions.id", index=True)
    number: str = Field(max_length=16)
    title: str = Field(max_length=200)
    body: str
    position: int


class Acknowledgement(Base, table=True):
    __tablename__ = "acknowledgements"
    # One acknowledgement per person, version and renewal cycle: acknowledging again is a
    # no-op until a renewal is requested or the acknowledgement lapsed.
    __table_args__ = (UniqueConstraint("version_id", "person_id", "cycle"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    version_id: uuid.UUID = Field(foreign_key="policy_versions.id")
    person_id: uuid.UUID = Field(index=True)
    acknowledged_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    # 0 for the first acknowledgement of the version; each renewal counts up.
    cycle: int = 0
    # When it lapses (the version's renew_acknowledgement_every_months; None: never).
    # Indexed: the reconciliation looks for those expiring within the lead time.
    expires_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)
    # When the reconciliation asked the person to renew it (once; None: not yet asked).
    renewal_requested_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
