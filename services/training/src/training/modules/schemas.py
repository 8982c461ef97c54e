"""Module API models. Readers see a scenario's options but not its feedback: that comes
from the server once they answer."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kit.fields import FieldInvalid, Flag, Integer, Text
from training.modules.models import Channel, ModuleStatus, Verdict
from training.policy.schemas import ClauseNumber


class ExampleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    post_text: Text = Field(min_length=1, max_length=5000, description="The post as published.")
    channel: Channel
    verdict: Verdict = Field(description="`do`: a good post; `dont`: one to avoid.")
    explanation: Text = Field(min_length=1, max_length=5000)
    clause_number: ClauseNumber | None = None


class ExampleRead(ExampleIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    id: uuid.UUID
    position: int


class ScenarioOptionIn(BaseModel):
    key: Text = Field(pattern=r"^[a-z0-9_-]{1,16}$", examples=["a"])
    text: Text = Field(min_length=1, max_length=2000)
    feedback: Text = Field(min_length=1, max_length=5000, description="Shown once chosen.")


class ScenarioIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    situation: Text = Field(min_length=1, max_length=5000)
    options: list[ScenarioOptionIn] = Field(min_length=2, max_length=8)
    recommended_key: Text = Field(description="The key of the recommended option.")
    recommended_why: Text = Field(min_length=1, max_length=5000)
    clause_number: ClauseNumber | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ScenarioIn:
        keys = [option.key for option in self.options]
        if len(set(keys)) != len(keys):
            raise FieldInvalid("options", "option keys must be unique within a scenario")
        if self.recommended_key not in keys:
            raise FieldInvalid(
                "recommended_key", f"must be one of the option keys: {', '.join(keys)}"
            )
        return self


class ScenarioRead(ScenarioIn):
    """The author's view, feedback included."""

    model_config = ConfigDict(from_attributes=True, extra="ignore")

    id: uuid.UUID
    position: int


class ScenarioOptionPublic(BaseModel):
    key: str
    text: str


class ScenarioPublicRead(BaseModel):
    """The reader's view: no feedback and no recommendation until they answer."""

    id: uuid.UUID
    position: int
    situation: str
    options: list[ScenarioOptionPublic]
    clause_number: str | None


class ModuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Text = Field(min_length=1, max_length=200)
    summary: Text = Field(min_length=1, max_length=2000)
    body_markdown: Text = Field(min_length=1, max_length=100_000)
    core: Flag = Field(
        default=False, description="The social media core training (what ambassadors need)."
    )
    clause_numbers: list[ClauseNumber] | None = Field(
        default=None,
        max_length=50,
        description="The policy clauses the module teaches (an incident breaching one "
        "assigns it as remedial training). Default: the clauses its examples and scenarios "
        "cite.",
    )
    renew_every_months: Integer | None = Field(
        default=None,
        ge=1,
        le=120,
        description="Recertification: each completion is valid this many months; a renewal "
        "is assigned ahead of expiry, due on the expiry day. Omitted: valid forever.",
    )
    examples: list[ExampleIn] = Field(default_factory=list, max_length=100)
    scenarios: list[ScenarioIn] = Field(default_factory=list, max_length=100)


class ModuleUpdate(BaseModel):
    """Only the fields given change; `examples` and `scenarios` replace their lists."""

    model_config = ConfigDict(extra="forbid")

    title: Text | None = Field(default=None, min_length=1, max_length=200)
    summary: Text | None = Field(default=None, min_length=1, max_length=2000)
    body_markdown: Text | None = Field(default=None, min_length=1, max_length=100_000)
    core: Flag | None = None
    clause_numbers: list[ClauseNumber] | None = Field(default=None, max_length=50)
    renew_every_months: Integer | None = Field(default=None, ge=1, le=120)
    material: Flag | None = Field(default=None, description="Only for a revision.")
    material_due_days: Integer | None = Field(default=None, ge=1, le=365)
    examples: list[ExampleIn] | None = Field(default=None, max_length=100)
    scenarios: list[ScenarioIn] | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _no_nulls(self) -> ModuleUpdate:
        nulls = [name for name in self.model_fields_set if getattr(self, name) is None]
        if nulls:
            raise FieldInvalid(min(nulls), f"cannot be null: {', '.join(sorted(nulls))}")
        return self


class RevisionCreate(BaseModel):
    """A new version of a published module states whether its change is material."""

    model_config = ConfigDict(extra="forbid")

    material: Flag = Field(
        description="`true`: everyone the module is assigned to takes the new version again "
        "(older completions stay on record). `false` (a correction): open assignments move to "
        "the new version with their progress and completions stay valid."
    )
    material_due_days: Integer = Field(
        default=30,
        ge=1,
        le=365,
        description="For a material revision: its new assignments are due this many days "
        "after publication.",
    )


class ModuleSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    lineage_id: uuid.UUID = Field(description="Shared by every version of the module.")
    number: int = Field(description="The version number within the lineage.")
    title: str
    summary: str
    core: bool
    clause_numbers: list[str] = Field(description="The policy clauses the module teaches.")
    renew_every_months: int | None = Field(
        description="Each completion is valid this many months (null: forever)."
    )
    material: bool = Field(description="Whether this revision's change is material.")
    material_due_days: int
    status: ModuleStatus
    published_at: dt.datetime | None
    created_at: dt.datetime


class ModuleRead(ModuleSummary):
    body_markdown: str
    examples: list[ExampleRead]
    scenarios: list[ScenarioRead] | list[ScenarioPublicRead]
    has_quiz: bool


class ScenarioAnswerCreate(BaseModel):
    option_key: Text = Field(max_length=16)


class ScenarioFeedback(BaseModel):
    scenario_id: uuid.UUID
    option_key: str
    feedback: str
    recommended: bool = Field(description="Whether the chosen option is the recommended one.")
    recommended_key: str
    recommended_why: str
    clause_number: str | None


class ModuleProgressRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    module_id: uuid.UUID
    person_id: uuid.UUID
    started_at: dt.datetime
    read_at: dt.datetime | None
    completed_at: dt.datetime | None
