"""Replaying a draft over past decisions: a pure tally, no database and no network.

Each past decision is evaluated again, by the draft's rules, on the facts it recorded
(severity, category, prior incidents and completed remedial coaching per window). Facts
the decision did not record are not guessed: prior incidents in a window the old policy
did not use are counted from the incidents (``PriorIndex``), but completed remedial
coaching that was never asked of coaching stays unknown, and a decision the draft could
only take with it counts as *undetermined*.

Few decisions have facts of their own: the same severity, category and counts recur, so
both parsing the stored facts and evaluating them are remembered per distinct value. A
hundred thousand decisions cost a few hundred evaluations.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from incidents.domain import Category, Severity
from incidents.policy.evaluation import EscalationRuleLike, Facts, Result, evaluate, windows_of
from kit.fields import looking_back

UNKNOWN_DEPARTMENT = "unknown"


class PriorIndex:
    """When each person's counting incidents happened, to count prior incidents in a
    window the recorded facts do not have (dismissed and no-violation ones left out)."""

    def __init__(self, occurrences: Iterable[tuple[Hashable, dt.datetime]]) -> None:
        by_person: dict[Hashable, list[dt.datetime]] = defaultdict(list)
        for person_id, occurred_at in occurrences:
            by_person[person_id].append(occurred_at)
        self._by_person = {person: sorted(times) for person, times in by_person.items()}

    def count(self, person_id: Hashable, occurred_at: dt.datetime, window_days: int) -> int:
        times = self._by_person.get(person_id, [])
        start = looking_back(occurred_at, dt.timedelta(days=window_days))
        return bisect.bisect_left(times, occurred_at) - bisect.bisect_left(times, start)


@dataclass(frozen=True, slots=True)
class _Outcome:
    result: Result
    position: int | None
    action: str | None


@dataclass(frozen=True, slots=True)
class _Change:
    incident_id: Hashable
    person_id: Hashable
    from_action: str
    to_action: str
    position: int
    severity: str


class Tally:
    """Add past decisions one by one; ``summary`` says what the draft would have changed."""

    def __init__(
        self, rules: Sequence[EscalationRuleLike], *, prior_index: PriorIndex | None = None
    ) -> None:
        self._rules = sorted(rules, key=lambda rule: rule.position)
        self._by_position = {rule.position: rule for rule in self._rules}
        self._windows = sorted(windows_of(self._rules))
        self._prior_index = prior_index
        self._parsed: dict[str | None, tuple[Any, ...]] = {}
        self._outcomes: dict[tuple[Any, ...], _Outcome] = {}
        self.replayed = 0
        self.unchanged = 0
        self.changes: list[_Change] = []
        self.undetermined: list[Hashable] = []
        self.no_rule: list[Hashable] = []

    def add(
        self,
        incident_id: Hashable,
        person_id: Hashable,
        occurred_at: Any,
        severity: str,
        category: str,
        action: str,
        facts: str | None,
    ) -> None:
        """One decided incident and the action the scheme took. Ids may come as the
        database driver gives them (any form ``uuid.UUID`` reads); ``occurred_at`` is
        read only when a window must be counted; ``facts`` is the stored JSON text."""
        self.replayed += 1
        parsed = self._parsed.get(facts)
        if parsed is None:
            parsed = self._parsed[facts] = self._parse(facts)
        recorded_severity, recorded_category, prior, remedial = parsed
        if prior is None:
            assert self._prior_index is not None
            prior = tuple(
                self._prior_index.count(person_id, occurred_at, window) for window in self._windows
            )
        key = (recorded_severity or severity, recorded_category or category, prior, remedial)
        outcome = self._outcomes.get(key)
        if outcome is None:
            outcome = self._outcomes[key] = self._evaluate(*key)
        if outcome.result is Result.AWAITING_HISTORY:
            self.undetermined.append(incident_id)
        elif outcome.action is None or outcome.position is None:
            self.no_rule.append(incident_id)
        elif outcome.action == action:
            self.unchanged += 1
        else:
            self.changes.append(
                _Change(
                    incident_id=incident_id,
                    person_id=person_id,
                    from_action=action,
                    to_action=outcome.action,
                    position=outcome.position,
                    severity=key[0],
                )
            )

    def people_changed(self) -> set[Hashable]:
        """Whose decisions would change (their departments are asked of the directory)."""
        return {change.person_id for change in self.changes}

    def summary(self, departments: Mapping[uuid.UUID, str | None] | None) -> dict[str, Any]:
        """The tally as stored with the replay (``departments``: ``None`` when the
        directory could not be asked). Incident ids are listed in order, however the
        decisions were read."""
        transitions: dict[tuple[str, str], list[str]] = defaultdict(list)
        by_rule: Counter[int] = Counter()
        by_severity: Counter[str] = Counter()
        by_department: Counter[str] = Counter()
        for change in self.changes:
            transitions[(change.from_action, change.to_action)].append(_id(change.incident_id))
            by_rule[change.position] += 1
            by_severity[change.severity] += 1
            department = (departments or {}).get(uuid.UUID(str(change.person_id)))
            by_department[department or UNKNOWN_DEPARTMENT] += 1
        return {
            "replayed": self.replayed,
            "changed": len(self.changes),
            "unchanged": self.unchanged,
            "undetermined": len(self.undetermined),
            "no_rule": len(self.no_rule),
            "transitions": [
                {"from_action": f, "to_action": t, "count": len(ids), "incident_ids": sorted(ids)}
                for (f, t), ids in sorted(transitions.items(), key=lambda item: -len(item[1]))
            ],
            "by_rule": [
                {
                    "position": position,
                    "name": self._by_position[position].name,
                    "count": count,
                }
                for position, count in sorted(by_rule.items())
            ],
            "by_severity": [
                {"severity": severity.value, "count": by_severity[severity.value]}
                for severity in Severity
                if by_severity[severity.value]
            ],
            "by_department": [
                {"department": department, "count": count}
                for department, count in sorted(by_department.items(), key=lambda i: (-i[1], i[0]))
            ],
            "departments_known": departments is not None,
            "undetermined_incident_ids": sorted(_id(i) for i in self.undetermined),
            "no_rule_incident_ids": sorted(_id(i) for i in self.no_rule),
        }

    def _parse(self, text: str | None) -> tuple[Any, ...]:
        stored: dict[str, Any] = (json.loads(text) if text else None) or {}
        recorded_prior = stored.get("prior_incidents") or {}
        recorded_remedial = stored.get("completed_remedial")
        prior: tuple[int, ...] | None = None
        if all(str(window) in recorded_prior for window in self._windows):
            prior = tuple(int(recorded_prior[str(window)]) for window in self._windows)
        elif self._prior_index is None:
            raise ValueError("a window the decisions did not record needs a PriorIndex")
        remedial: tuple[int | None, ...] | None = None
        if recorded_remedial is not None:
            remedial = tuple(
                int(recorded_remedial[str(window)]) if str(window) in recorded_remedial else None
                for window in self._windows
            )
        return (stored.get("severity"), stored.get("category"), prior, remedial)

    def _evaluate(
        self,
        severity: str,
        category: str,
        prior: tuple[int, ...],
        remedial: tuple[int | None, ...] | None,
    ) -> _Outcome:
        evaluation = evaluate(
            self._rules,
            Facts(
                severity=Severity(severity),
                category=Category(category),
                prior_incidents=dict(zip(self._windows, prior, strict=True)),
                # A window coaching was not asked about stays out: evaluation takes it
                # as unknown.
                completed_remedial=None
                if remedial is None
                else {
                    window: count
                    for window, count in zip(self._windows, remedial, strict=True)
                    if count is not None
                },
            ),
        )
        position = evaluation.rule_position
        rule = self._by_position.get(position) if position is not None else None
        action = getattr(rule, "action", None) if evaluation.result is Result.DECIDED else None
        return _Outcome(result=evaluation.result, position=position, action=action)


def _id(raw: Hashable) -> str:
    """An id as the API writes it, from however the driver gave it."""
    return str(uuid.UUID(str(raw)))
