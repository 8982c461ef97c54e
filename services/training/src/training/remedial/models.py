"""Remedial training tables."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field

from kit.db import UtcDateTime, utcnow
from training.db import Base


class RemedialAssignment(Base, table=True):
    """One module an incident's decision asked the person to take, and the assignment
    that carries it (new, or the one the person already had)."""

    __tablename__ = "remedial_assignments"
    __table_args__ = (
        UniqueConstraint("incident_id", "module_id"),
        Index("ix_remedial_assignments_created_at_id", "created_at", "id"),
        Index("ix_remedial_assignments_person_id_created_at", "person_id", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    incident_id: uuid.UUID = Field(index=True)
    person_id: uuid.UUID
    module_id: uuid.UUID = Field(foreign_key="modules.id")
    assignment_id: uuid.UUID = Field(foreign_key="assignments.id")
    # The breached clauses this module teaches.
    clause_numbers: list[str] = Field(default_factory=list, sa_type=JSON)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
