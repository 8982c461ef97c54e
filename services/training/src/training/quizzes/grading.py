"""Quiz grading and the review rule: plain functions of their inputs."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from training.quizzes.models import QuestionKind, ReviewRule


@dataclass(frozen=True)
class KeyedQuestion:
    id: uuid.UUID
    kind: QuestionKind
    correct_option_ids: frozenset[str]


@dataclass(frozen=True)
class GradedQuestion:
    question_id: uuid.UUID
    credit: float

    @property
    def correct(self) -> bool:
        return self.credit == 1.0


@dataclass(frozen=True)
class Grade:
    score_percent: float
    passed: bool
    questions: list[GradedQuestion]


def question_credit(
    question: KeyedQuestion, chosen: frozenset[str], *, partial_credit: bool
) -> float:
    """1 for a right answer, 0 for a wrong one. With partial credit a multiple-choice
    question earns its share of right choices minus wrong ones (never below 0), so
    ticking every box does not pay."""
    if chosen == question.correct_option_ids:
        return 1.0
    if not partial_credit or question.kind is not QuestionKind.MULTIPLE_CHOICE:
        return 0.0
    right = len(chosen & question.correct_option_ids)
    wrong = len(chosen - question.correct_option_ids)
    return max(0.0, (right - wrong) / len(question.correct_option_ids))


def grade(
    questions: Sequence[KeyedQuestion],
    answers: Mapping[uuid.UUID, frozenset[str]],
    *,
    partial_credit: bool,
    pass_mark_percent: int,
) -> Grade:
    graded = [
        GradedQuestion(
            question_id=question.id,
            credit=question_credit(
                question, answers.get(question.id, frozenset()), partial_credit=partial_credit
            ),
        )
        for question in questions
    ]
    score = round(100 * sum(g.credit for g in graded) / len(graded), 2) if graded else 0.0
    return Grade(score_percent=score, passed=score >= pass_mark_percent, questions=graded)


def review_allowed(rule: ReviewRule, *, submitted: bool, quiz_passed: bool) -> bool:
    """Whether the right answers may be shown for a submitted attempt; ``quiz_passed`` is
    whether the person has passed the quiz in any attempt."""
    if not submitted:
        return False
    if rule is ReviewRule.AFTER_SUBMIT:
        return True
    if rule is ReviewRule.AFTER_PASSING:
        return quiz_passed
    return False
