"""Quiz grading and the review rule, as plain functions."""

from __future__ import annotations

import uuid

from training.quizzes.grading import KeyedQuestion, grade, question_credit, review_allowed
from training.quizzes.models import QuestionKind, ReviewRule

MULTIPLE = KeyedQuestion(uuid.uuid4(), QuestionKind.MULTIPLE_CHOICE, frozenset({"a", "b"}))
SINGLE = KeyedQuestion(uuid.uuid4(), QuestionKind.SINGLE_CHOICE, frozenset({"x"}))


class TestQuestionCredit:
    def test_the_exact_set_earns_full_credit(self) -> None:
        assert question_credit(MULTIPLE, frozenset({"a", "b"}), partial_credit=False) == 1.0

    def test_half_the_right_choices_earn_half_with_partial_credit(self) -> None:
        assert question_credit(MULTIPLE, frozenset({"a"}), partial_credit=True) == 0.5

    def test_a_wrong_choice_cancels_a_right_one(self) -> None:
        assert question_credit(MULTIPLE, frozenset({"a", "c"}), partial_credit=True) == 0.0

    def test_ticking_everything_does_not_pay(self) -> None:
        everything = frozenset({"a", "b", "c", "d"})
        assert question_credit(MULTIPLE, everything, partial_credit=True) == 0.0

    def test_partial_credit_does_not_apply_to_single_choice(self) -> None:
        assert question_credit(SINGLE, frozenset({"y"}), partial_credit=True) == 0.0


class TestGrade:
    def test_score_is_the_share_of_credit_and_the_pass_mark_is_inclusive(self) -> None:
        result = grade(
            [MULTIPLE, SINGLE],
            {MULTIPLE.id: frozenset({"a"}), SINGLE.id: frozenset({"x"})},
            partial_credit=True,
            pass_mark_percent=75,
        )

        assert result.score_percent == 75.0
        assert result.passed is True
        assert [g.correct for g in result.questions] == [False, True]


class TestReviewAllowed:
    def test_after_submit(self) -> None:
        assert review_allowed(ReviewRule.AFTER_SUBMIT, submitted=True, quiz_passed=False)

    def test_after_passing_waits_for_a_pass(self) -> None:
        assert not review_allowed(ReviewRule.AFTER_PASSING, submitted=True, quiz_passed=False)
        assert review_allowed(ReviewRule.AFTER_PASSING, submitted=True, quiz_passed=True)

    def test_never(self) -> None:
        assert not review_allowed(ReviewRule.NEVER, submitted=True, quiz_passed=True)

    def test_nothing_before_submission(self) -> None:
        assert not review_allowed(ReviewRule.AFTER_SUBMIT, submitted=False, quiz_passed=True)
