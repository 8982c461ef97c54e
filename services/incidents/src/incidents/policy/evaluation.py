"""Evaluating the escalation policy: a pure function of the rules and the facts.

The first rule that matches decides. Coaching history may be unavailable (coaching is
down); then a rule whose other conditions hold but which also asks for completed remedial
coaching cannot be settled, and evaluation stops there: the incident waits for the
history rather than being decided as if the person had none. A rule whose known
conditions already fail cannot match whatever the history says, so evaluation goes on
past it; and a rule before the undecidable one that matches on known facts decides at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from incidents.domain import Category, Severity


class EscalationRuleLike(Protocol):
    """What evaluation reads of a rule (a stored rule or a draft's)."""

    @property
    def position(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def severities(self) -> Sequence[str]: ...
    @property
    def categories(self) -> Sequence[str]: ...
    @property
    def min_prior_incidents(self) -> int | None: ...
    @property
    def min_completed_remedial(self) -> int | None: ...
    @property
    def window_days(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Facts:
    severity: Severity
    category: Category
    # Prior incidents about the person, per look-back window (in days) the rules use.
    prior_incidents: Mapping[int, int]
    # Completed remedial coaching per window; ``None`` when coaching could not be asked.
    completed_remedial: Mapping[int, int] | None

    @property
    def history_available(self) -> bool:
        return self.completed_remedial is not None


class Verdict(StrEnum):
    MATCHED = "matched"
    NOT_MATCHED = "not_matched"
    NEEDS_HISTORY = "needs_history"
    NOT_EVALUATED = "not_evaluated"


@dataclass(frozen=True, slots=True)
class Condition:
    name: str  # severity | category | prior_incidents | completed_remedial
    met: bool | None  # None: it depends on history that is unavailable
    detail: str


@dataclass(frozen=True, slots=True)
class RuleCheck:
    position: int
    name: str
    verdict: Verdict
    conditions: tuple[Condition, ...]


class Result(StrEnum):
    DECIDED = "decided"
    AWAITING_HISTORY = "awaiting_history"
    NO_MATCH = "no_match"


@dataclass(frozen=True, slots=True)
class Evaluation:
    result: Result
    # The rule that matched (decided) or that needs the missing history (awaiting_history).
    rule_position: int | None
    checks: tuple[RuleCheck, ...]

    def explain(self) -> str:
        """One sentence a person can read: which rule and why."""
        if self.rule_position is None:
            return "No rule of the policy matches these facts."
        check = self.checks[self.rule_position - 1]
        because = "; ".join(c.detail for c in check.conditions) or "it applies to every incident"
        if self.result is Result.AWAITING_HISTORY:
            return f"Rule {check.position} ({check.name}) cannot be settled: {because}."
        return f"Rule {check.position} ({check.name}) matches: {because}."


def evaluate(rules: Sequence[EscalationRuleLike], facts: Facts) -> Evaluation:
    """Check ``rules`` in order against ``facts``; the first that matches decides."""
    checks: list[RuleCheck] = []
    ordered = sorted(rules, key=lambda rule: rule.position)
    for index, rule in enumerate(ordered):
        check = check_rule(rule, facts)
        checks.append(check)
        if check.verdict is Verdict.NOT_MATCHED:
            continue
        checks.extend(_not_evaluated(rule) for rule in ordered[index + 1 :])
        result = Result.DECIDED if check.verdict is Verdict.MATCHED else Result.AWAITING_HISTORY
        return Evaluation(result=result, rule_position=check.position, checks=tuple(checks))
    return Evaluation(result=Result.NO_MATCH, rule_position=None, checks=tuple(checks))


def check_rule(rule: EscalationRuleLike, facts: Facts) -> RuleCheck:
    conditions = [
        *_severity_condition(rule, facts),
        *_category_condition(rule, facts),
        *_prior_incidents_condition(rule, facts),
        *_completed_remedial_condition(rule, facts),
    ]
    if any(condition.met is False for condition in conditions):
        verdict = Verdict.NOT_MATCHED
    elif any(condition.met is None for condition in conditions):
        verdict = Verdict.NEEDS_HISTORY
    else:
        verdict = Verdict.MATCHED
    return RuleCheck(
        position=rule.position, name=rule.name, verdict=verdict, conditions=tuple(conditions)
    )


def _not_evaluated(rule: EscalationRuleLike) -> RuleCheck:
    return RuleCheck(
        position=rule.position, name=rule.name, verdict=Verdict.NOT_EVALUATED, conditions=()
    )


def _severity_condition(rule: EscalationRuleLike, facts: Facts) -> list[Condition]:
    if not rule.severities:
        return []
    wanted = ", ".join(rule.severities)
    return [
        Condition(
            name="severity",
            met=facts.severity in rule.severities,
            detail=f"severity is {facts.severity} (rule: {wanted})",
        )
    ]


def _category_condition(rule: EscalationRuleLike, facts: Facts) -> list[Condition]:
    if not rule.categories:
        return []
    wanted = ", ".join(rule.categories)
    return [
        Condition(
            name="category",
            met=facts.category in rule.categories,
            detail=f"category is {facts.category} (rule: {wanted})",
        )
    ]


def _prior_incidents_condition(rule: EscalationRuleLike, facts: Facts) -> list[Condition]:
    if rule.min_prior_incidents is None:
        return []
    count = facts.prior_incidents[rule.window_days]
    return [
        Condition(
            name="prior_incidents",
            met=count >= rule.min_prior_incidents,
            detail=f"{count} prior incident(s) in {rule.window_days} days "
            f"(rule: at least {rule.min_prior_incidents})",
        )
    ]


def _completed_remedial_condition(rule: EscalationRuleLike, facts: Facts) -> list[Condition]:
    if rule.min_completed_remedial is None:
        return []
    wanted = f"rule: at least {rule.min_completed_remedial}"
    # Unknown for this window (a replay of a decision that never asked for it) is unknown.
    if facts.completed_remedial is None or rule.window_days not in facts.completed_remedial:
        return [
            Condition(
                name="completed_remedial",
                met=None,
                detail=f"completed remedial coaching in {rule.window_days} days is unknown: "
                f"coaching history is unavailable ({wanted})",
            )
        ]
    count = facts.completed_remedial[rule.window_days]
    return [
        Condition(
            name="completed_remedial",
            met=count >= rule.min_completed_remedial,
            detail=f"{count} completed remedial coaching in {rule.window_days} days ({wanted})",
        )
    ]


def windows_of(rules: Sequence[EscalationRuleLike]) -> set[int]:
    """The look-back windows the facts must cover for ``rules``."""
    return {rule.window_days for rule in rules}
