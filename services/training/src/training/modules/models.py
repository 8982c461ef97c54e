"""Module tables: each row of ``modules`` is one version of a module; versions of the same
module share a ``lineage_id``. A published version never changes."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field

from kit.concurrency import Versioned
from kit.db import UtcDateTime, str_enum, utcnow
from training.db import Base


class ModuleStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class Channel(StrEnum):
    LINKEDIN = "linkedin"
    X = "x"
    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    TIKTOK = "tiktok"
    OTHER = "other"


class Verdict(StrEnum):
    DO = "do"
    DONT = "dont"


class Module(Versioned, Base, table=True):
    __tablename__ = "modules"
    __table_args__ = (
        UniqueConstraint("lineage_id", "number"),
        Index("ix_modules_status_created_at_id", "status", "created_at", "id"),
        Index("ix_modules_created_at_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    lineage_id: uuid.UUID = Field(default_factory=uuid.uuid4, index=True)
    number: int = 1
    title: str = Field(max_length=200)
    summary: str
    body_markdown: str
    # The social media core training: passing it is what coaching checks for ambassadors.
    core: bool = False
    # The policy clauses the module teaches: an incident breaching one assigns it.
    clause_numbers: list[str] = Field(default_factory=list, sa_type=JSON)
    # Recertification: a completion is valid this many months, then renewed (None: forever).
    renew_every_months: int | None = None
    # A revision (number > 1) states whether its change is material: publishing a material
    # one asks everyone the module is assigned to to take it again, due this many days later.
    material: bool = False
    material_due_days: int = 30
    status: ModuleStatus = Field(default=ModuleStatus.DRAFT, sa_type=str_enum(ModuleStatus))
    created_by: uuid.UUID | None = None
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    published_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)


class Example(Base, table=True):
    __tablename__ = "examples"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    module_id: uuid.UUID = Field(foreign_key="modules.id", index=True)
    position: int
    post_text: str
    channel: Channel = Field(sa_type=str_enum(Channel))
    verdict: Verdict = Field(sa_type=str_enum(Verdict))
    explanation: str
    clause_number: str | None = Field(default=None, max_length=16)


class Scenario(Base, table=True):
    __tablename__ = "scenarios"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    module_id: uuid.UUID = Field(foreign_key="modules.id", index=True)
    position: int
    situation: str
    # [{"key": "a", "text": "...", "feedback": "..."}]
    options: list[dict[str, Any]] = Field(sa_type=JSON)
    recommended_key: str = Field(max_length=16)
    recommended_why: str
    clause_number: str | None = Field(default=None, max_length=16)


class ScenarioAnswer(Base, table=True):
    __tablename__ = "scenario_answers"
    __table_args__ = (
        Index("ix_scenario_answers_scenario_id_person_id", "scenario_id", "person_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    scenario_id: uuid.UUID = Field(foreign_key="scenarios.id")
    person_id: uuid.UUID
    option_key: str = Field(max_length=16)
    answered_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
