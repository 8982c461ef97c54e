"""The escalation policy's evaluation, rule by rule, without a database or network."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from incidents.domain import Category, Severity
from incidents.policy.evaluation import Evaluation, Facts, Result, Verdict, evaluate
from incidents.seed import DEFAULT_RULES


@dataclass(frozen=True)
class Rule:
    position: int
    name: str
    action: str
    owner_role: str
    deadline_hours: int
    severities: Sequence[str] = ()
    categories: Sequence[str] = ()
    min_prior_incidents: int | None = None
    min_completed_remedial: int | None = None
    window_days: int = 365
    contacts: Sequence[str] = ()
    suspends_ambassador: bool = False


RULES = [Rule(position=position, **rule) for position, rule in enumerate(DEFAULT_RULES, start=1)]
WINDOW = 365
UNKNOWN = None


def facts(
    severity: Severity,
    *,
    prior: int = 0,
    remedial: int | None = 0,
    category: Category = Category.CONFIDENTIAL_INFORMATION,
) -> Facts:
    return Facts(
        severity=severity,
        category=category,
        prior_incidents={WINDOW: prior},
        completed_remedial=None if remedial is None else {WINDOW: remedial},
    )


def decided_by(evaluation: Evaluation) -> str:
    assert evaluation.result is Result.DECIDED, evaluation.explain()
    assert evaluation.rule_position is not None
    return RULES[evaluation.rule_position - 1].action


class TestDefaultRules:
    def test_rule_1_critical_goes_to_legal_and_hr(self) -> None:
        evaluation = evaluate(RULES, facts(Severity.CRITICAL))

        assert decided_by(evaluation) == "legal_review"
        assert evaluation.rule_position == 1

    def test_rule_2_a_third_incident_after_completed_coaching_is_disciplinary(self) -> None:
        evaluation = evaluate(RULES, facts(Severity.LOW, prior=2, remedial=1))

        assert decided_by(evaluation) == "disciplinary_review"
        assert evaluation.rule_position == 2

    def test_rule_3_a_second_incident_after_completed_coaching_goes_to_hr(self) -> None:
        evaluation = evaluate(RULES, facts(Severity.MEDIUM, prior=1, remedial=1))

        assert decided_by(evaluation) == "hr_review"
        assert evaluation.rule_position == 3

    def test_rule_4_high_goes_to_hr_with_the_manager(self) -> None:
        evaluation = evaluate(RULES, facts(Severity.HIGH))

        assert decided_by(evaluation) == "hr_review"
        assert evaluation.rule_position == 4

    def test_rule_5_medium_is_coaching_with_the_manager_informed(self) -> None:
        evaluation = evaluate(RULES, facts(Severity.MEDIUM))

        assert decided_by(evaluation) == "coaching"
        assert evaluation.rule_position == 5
        assert RULES[4].contacts == ["manager"]

    def test_rule_6_low_is_coaching(self) -> None:
        evaluation = evaluate(RULES, facts(Severity.LOW))

        assert decided_by(evaluation) == "coaching"
        assert evaluation.rule_position == 6


class TestRepeatOffenders:
    def test_repeats_without_completed_coaching_fall_through_to_severity(self) -> None:
        evaluation = evaluate(RULES, facts(Severity.MEDIUM, prior=3, remedial=0))

        assert evaluation.rule_position == 5
        assert evaluation.checks[1].verdict is Verdict.NOT_MATCHED
        assert evaluation.checks[2].verdict is Verdict.NOT_MATCHED

    def test_critical_wins_over_the_repeat_rules(self) -> None:
        evaluation = evaluate(RULES, facts(Severity.CRITICAL, prior=5, remedial=2))

        assert evaluation.rule_position == 1

    def test_the_prior_count_must_reach_the_rules_minimum(self) -> None:
        evaluation = evaluate(RULES, facts(Severity.LOW, prior=1, remedial=3))

        assert evaluation.rule_position == 3
        assert evaluation.checks[1].conditions[0].met is False


class TestHistoryUnavailable:
    def test_critical_is_decided_without_history(self) -> None:
        evaluation = evaluate(RULES, facts(Severity.CRITICAL, prior=4, remedial=UNKNOWN))

        assert decided_by(evaluation) == "legal_review"

    def test_a_repeat_offender_waits_for_history(self) -> None:
        evaluation = evaluate(RULES, facts(Severity.MEDIUM, prior=1, remedial=UNKNOWN))

        assert evaluation.result is Result.AWAITING_HISTORY
        assert evaluation.rule_position == 3
        assert evaluation.checks[2].verdict is Verdict.NEEDS_HISTORY
        assert "coaching history is unavailable" in evaluation.explain()

    def test_evaluation_stops_at_the_rule_that_needs_history(self) -> None:
        evaluation = evaluate(RULES, facts(Severity.HIGH, prior=2, remedial=UNKNOWN))

        assert evaluation.rule_position == 2
        verdicts = [check.verdict for check in evaluation.checks]
        assert verdicts[2:] == [Verdict.NOT_EVALUATED] * 4

    def test_a_first_incident_needs_no_history_since_no_repeat_rule_can_match(self) -> None:
        evaluation = evaluate(RULES, facts(Severity.MEDIUM, prior=0, remedial=UNKNOWN))

        assert decided_by(evaluation) == "coaching"
        assert evaluation.rule_position == 5


class TestRuleConditions:
    def test_an_empty_condition_matches_anything(self) -> None:
        catch_all = Rule(
            position=1, name="All", action="hr_review", owner_role="hr", deadline_hours=24
        )

        evaluation = evaluate([catch_all], facts(Severity.LOW, category=Category.OTHER))

        assert evaluation.result is Result.DECIDED
        assert evaluation.checks[0].conditions == ()

    @pytest.mark.parametrize(
        ("category", "expected"),
        [(Category.HARASSMENT_OR_HATE, 1), (Category.OTHER, 2)],
    )
    def test_a_category_rule_matches_only_its_categories(
        self, category: Category, expected: int
    ) -> None:
        rules = [
            Rule(
                position=1,
                name="Harassment",
                categories=["harassment_or_hate"],
                action="hr_review",
                owner_role="hr",
                deadline_hours=24,
            ),
            Rule(position=2, name="Rest", action="coaching", owner_role="coach", deadline_hours=24),
        ]

        evaluation = evaluate(rules, facts(Severity.LOW, category=category))

        assert evaluation.rule_position == expected

    def test_no_matching_rule_is_reported_as_such(self) -> None:
        evaluation = evaluate(RULES[:1], facts(Severity.LOW))

        assert evaluation.result is Result.NO_MATCH
        assert evaluation.rule_position is None

    def test_rules_are_evaluated_by_position_not_list_order(self) -> None:
        evaluation = evaluate(list(reversed(RULES)), facts(Severity.CRITICAL))

        assert evaluation.rule_position == 1

    def test_the_explanation_names_the_rule_and_the_facts(self) -> None:
        evaluation = evaluate(RULES, facts(Severity.MEDIUM, prior=1, remedial=1))

        explanation = evaluation.explain()
        assert "Rule 3" in explanation
        assert "1 prior incident(s) in 365 days" in explanation
        assert "1 completed remedial coaching" in explanation
