"""Assignment rule API models."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kit.fields import Text
from training.rules.models import TargetKind


class RuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    module_id: uuid.UUID = Field(description="The published module (any version of it).")
    target: TargetKind = Field(
        description="`department` or `group` (give `name`), `everyone`, or `people` (give "
        "`person_ids`)."
    )
    name: Text | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The department or group, exactly as in the directory.",
    )
    person_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)
    due_days: int = Field(
        ge=1,
        le=365,
        description="Each person's assignment is due this many days after they joined the "
        "target (for the people in it now: after today).",
    )

    @model_validator(mode="after")
    def _target_complete(self) -> RuleCreate:
        named = self.target in (TargetKind.DEPARTMENT, TargetKind.GROUP)
        if named and self.name is None:
            raise ValueError(f"a {self.target.value} rule needs `name`")
        if not named and self.name is not None:
            raise ValueError(f"a {self.target.value} rule takes no `name`")
        if self.target is TargetKind.PEOPLE and not self.person_ids:
            raise ValueError("a people rule needs `person_ids`")
        if self.target is not TargetKind.PEOPLE and self.person_ids:
            raise ValueError(f"a {self.target.value} rule takes no `person_ids`")
        return self


class RuleRead(BaseModel):
    id: uuid.UUID
    lineage_id: uuid.UUID
    module_id: uuid.UUID = Field(description="The module's version assigned now.")
    module_title: str
    target: TargetKind
    name: str | None
    person_ids: list[uuid.UUID]
    due_days: int
    created_at: dt.datetime
    ended_at: dt.datetime | None


class Reconciliation(BaseModel):
    """What one pass over the directory changed (all zero when nothing drifted)."""

    assigned: int = Field(description="Joiners and movers given an assignment.")
    reopened: int = Field(description="Assignments closed as `left` reopened for a returner.")
    moved: int = Field(description="Open assignments now kept by another rule.")
    closed_left: int = Field(description="Open assignments closed as `left`.")
    renewed: int = Field(default=0, description="Renewals assigned ahead of a completion's expiry.")
    acknowledgement_renewals: int = Field(
        default=0,
        description="People asked to renew their policy acknowledgement ahead of its expiry.",
    )
    leavers_recorded: int = Field(
        default=0,
        description="People who left, recorded with their leave date for retention "
        "(README, Data protection).",
    )


class RuleCreated(BaseModel):
    rule: RuleRead
    reconciliation: Reconciliation
