"""Quiz tables. The answer key (``Question.correct_option_ids``) leaves the service only in
an author's view or in a review the quiz's rule allows."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field

from kit.db import UtcDateTime, str_enum, utcnow
from training.db import Base


class QuestionKind(StrEnum):
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    TRUE_FALSE = "true_false"


class ReviewRule(StrEnum):
    AFTER_SUBMIT = "after_submit"
    AFTER_PASSING = "after_passing"
    NEVER = "never"


class Quiz(Base, table=True):
    __tablename__ = "quizzes"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    module_id: uuid.UUID = Field(foreign_key="modules.id", unique=True)
    pass_mark_percent: int
    attempt_limit: int
    time_limit_seconds: int | None = None
    partial_credit: bool = False
    shuffle: bool = True
    review_rule: ReviewRule = Field(sa_type=str_enum(ReviewRule))


class Question(Base, table=True):
    __tablename__ = "questions"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    quiz_id: uuid.UUID = Field(foreign_key="quizzes.id", index=True)
    position: int
    kind: QuestionKind = Field(sa_type=str_enum(QuestionKind))
    prompt: str
    # [{"id": "3f9a1c2e", "text": "..."}]; ids are random so they reveal nothing.
    options: list[dict[str, str]] = Field(sa_type=JSON)
    correct_option_ids: list[str] = Field(sa_type=JSON)
    explanation: str
    clause_numbers: list[str] = Field(default_factory=list, sa_type=JSON)


class Attempt(Base, table=True):
    __tablename__ = "attempts"
    __table_args__ = (
        # Two concurrent starts cannot both take the last attempt: the second insert of
        # the same number fails.
        UniqueConstraint("quiz_id", "person_id", "number"),
        Index("ix_attempts_person_id_module_id", "person_id", "module_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    quiz_id: uuid.UUID = Field(foreign_key="quizzes.id", index=True)
    module_id: uuid.UUID = Field(foreign_key="modules.id")
    person_id: uuid.UUID
    number: int
    # The renewal cycle it counts towards (limits and passes are per cycle).
    cycle: int = 0
    started_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    deadline_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    submitted_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    score_percent: float | None = None
    passed: bool | None = None
    # The order this attempt shows: question ids, and option ids per question id.
    question_order: list[str] = Field(sa_type=JSON)
    option_order: dict[str, list[str]] = Field(sa_type=JSON)
    # {question id: [chosen option ids]}, set when submitted.
    answers: dict[str, list[str]] | None = Field(default=None, sa_type=JSON)


class QuestionResult(Base, table=True):
    """One graded question of a submitted attempt: the question statistics read these."""

    __tablename__ = "question_results"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    attempt_id: uuid.UUID = Field(foreign_key="attempts.id", index=True)
    question_id: uuid.UUID = Field(foreign_key="questions.id", index=True)
    correct: bool
    credit: float
