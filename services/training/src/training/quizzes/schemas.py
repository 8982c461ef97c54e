"""Quiz API models. Nothing a learner receives before review carries the answer key:
``AttemptQuestion`` has no correctness field, and ``ReviewItem`` is sent only when the
quiz's review rule allows it."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kit.fields import FieldInvalid, Flag, Integer, Text
from training.policy.schemas import ClauseNumber
from training.quizzes.models import QuestionKind, ReviewRule


class OptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Text = Field(min_length=1, max_length=1000)
    correct: Flag = False


class QuestionIn(BaseModel):
    """Single and multiple choice take `options`; true/false takes `answer`."""

    model_config = ConfigDict(extra="forbid")

    kind: QuestionKind
    prompt: Text = Field(min_length=1, max_length=2000)
    options: list[OptionIn] | None = Field(default=None, max_length=10)
    answer: Flag | None = Field(default=None, description="The right answer of a true/false.")
    explanation: Text = Field(min_length=1, max_length=5000, description="Shown in the review.")
    clause_numbers: list[ClauseNumber] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _shape_fits_kind(self) -> QuestionIn:
        if self.kind is QuestionKind.TRUE_FALSE:
            if self.answer is None or self.options is not None:
                raise FieldInvalid(
                    "answer", "a true_false question takes `answer` (true or false), no options"
                )
            return self
        if self.options is None or len(self.options) < 2 or self.answer is not None:
            raise FieldInvalid(
                "options", f"a {self.kind.value} question takes at least two `options`"
            )
        correct = sum(option.correct for option in self.options)
        if self.kind is QuestionKind.SINGLE_CHOICE and correct != 1:
            raise FieldInvalid("options", "a single_choice question has exactly one correct option")
        if self.kind is QuestionKind.MULTIPLE_CHOICE and correct < 1:
            raise FieldInvalid(
                "options", "a multiple_choice question has at least one correct option"
            )
        return self


class QuizIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pass_mark_percent: Integer = Field(ge=1, le=100)
    attempt_limit: Integer = Field(ge=1, le=20)
    time_limit_seconds: Integer | None = Field(default=None, ge=30, le=86_400)
    partial_credit: Flag = Field(
        default=False,
        description="Multiple choice: credit per right choice minus wrong ones, "
        "instead of all-or-nothing.",
    )
    shuffle: Flag = Field(default=True, description="Shuffle questions and options per attempt.")
    review_rule: ReviewRule = Field(
        default=ReviewRule.AFTER_SUBMIT,
        description="When the right answers and explanations are shown.",
    )
    questions: list[QuestionIn] = Field(min_length=1, max_length=100)


class OptionRead(BaseModel):
    id: str
    text: str


class QuestionAuthorRead(BaseModel):
    """The author's view, answer key included."""

    id: uuid.UUID
    position: int
    kind: QuestionKind
    prompt: str
    options: list[OptionRead]
    correct_option_ids: list[str]
    explanation: str
    clause_numbers: list[str]


class QuizSettings(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    module_id: uuid.UUID
    pass_mark_percent: int
    attempt_limit: int
    time_limit_seconds: int | None
    partial_credit: bool
    shuffle: bool
    review_rule: ReviewRule


class QuizAuthorRead(QuizSettings):
    questions: list[QuestionAuthorRead]


class QuizRead(QuizSettings):
    """The learner's view: the rules and where they stand, no questions."""

    question_count: int
    attempts_used: int
    attempts_left: int
    passed: bool


class AttemptStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    EXPIRED = "expired"


class AttemptQuestion(BaseModel):
    id: uuid.UUID
    kind: QuestionKind
    prompt: str
    options: list[OptionRead]
    clause_numbers: list[str]


class ReviewItem(BaseModel):
    question_id: uuid.UUID
    chosen_option_ids: list[str]
    correct_option_ids: list[str]
    correct: bool
    credit: float
    explanation: str


class AttemptResult(BaseModel):
    score_percent: float
    passed: bool
    pass_mark_percent: int
    review: list[ReviewItem] | None = Field(
        description="Right answers and explanations, when the review rule allows; else null."
    )


class AttemptRead(BaseModel):
    id: uuid.UUID
    module_id: uuid.UUID
    number: int
    status: AttemptStatus
    started_at: dt.datetime
    deadline_at: dt.datetime | None
    submitted_at: dt.datetime | None
    questions: list[AttemptQuestion]
    result: AttemptResult | None


class AnswerIn(BaseModel):
    question_id: uuid.UUID
    option_ids: list[Text] = Field(max_length=10)


class SubmissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: list[AnswerIn] = Field(
        max_length=100, description="Unanswered questions count as wrong."
    )
