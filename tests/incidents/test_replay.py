"""Replaying a draft of the escalation policy over the decisions of a past window: how
many decisions would change and how, counted by hand on a seeded history."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from gateway.models import Person
from incidents.policy.replay import PriorIndex
from kit.db import utcnow
from tests.incidents.conftest import Org, add_to_group, days_ago, directory_lookup_down, report
from tests.support.stack import StackHandle

POLICIES = "/api/v1/incidents/escalation-policies"


@dataclass
class History:
    """Three people, decided by the default scheme (prior incidents in 365 days in
    brackets): Ann (Sales) low 400 d ago, outside the default window, low 100 d ago (1),
    medium 50 d (2); Bob (Support) medium 80 d (0), high 20 d (1); Cem (Marketing)
    critical 60 d (0), low 10 d (1)."""

    ann: Person
    bob: Person
    cem: Person
    ids: dict[str, str]


@pytest.fixture
async def history(stack: StackHandle, org: Org) -> History:
    ann = await stack.person(display_name="Ann", department="Sales")
    bob = await stack.person(display_name="Bob", department="Support")
    cem = await stack.person(display_name="Cem", department="Marketing")
    ids = {}
    for name, person, severity, ago in [
        ("ann-old", ann, "low", 400),
        ("ann-low", ann, "low", 100),
        ("bob-medium", bob, "medium", 80),
        ("cem-critical", cem, "critical", 60),
        ("ann-medium", ann, "medium", 50),
        ("bob-high", bob, "high", 20),
        ("cem-low", cem, "low", 10),
    ]:
        created = await report(
            stack, org.reporter, person, severity=severity, occurred_at=days_ago(ago)
        )
        ids[name] = created["id"]
    return History(ann=ann, bob=bob, cem=cem, ids=ids)


async def draft_with(stack: StackHandle, org: Org, change: Callable[[list[Any]], None]) -> str:
    hr = stack.as_user(org.hr)
    draft = await hr.post(POLICIES, json={})
    assert draft.status_code == 201, draft.text
    rules = draft.json()["rules"]
    change(rules)
    for rule in rules:  # the list order is the evaluation order
        rule.pop("position", None)
    edited = await hr.put(
        f"{POLICIES}/{draft.json()['id']}",
        json={"rules": rules},
        headers={"If-Match": draft.headers["ETag"]},
    )
    assert edited.status_code == 200, edited.text
    return str(draft.json()["id"])


def medium_to_the_manager(rules: list[Any]) -> None:
    rules[4].update(action="manager_review", owner_role="manager")


def repeat_goes_to_hr(window_days: int) -> Callable[[list[Any]], None]:
    def change(rules: list[Any]) -> None:
        rules.insert(
            0,
            {
                "name": "Any repeat: HR",
                "min_prior_incidents": 1,
                "window_days": window_days,
                "action": "hr_review",
                "contacts": ["hr"],
                "owner_role": "hr",
                "deadline_hours": 72,
            },
        )

    return change


async def replay(stack: StackHandle, person: Person, policy_id: str, **body: Any) -> dict[str, Any]:
    response = await stack.as_user(person).post(f"{POLICIES}/{policy_id}/replay", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


class TestReplay:
    async def test_changed_decisions_match_a_hand_count(
        self, stack: StackHandle, org: Org, history: History
    ) -> None:
        policy_id = await draft_with(stack, org, medium_to_the_manager)

        body = await replay(stack, org.hr, policy_id)

        result = body["result"]
        assert body["status"] == "done"
        assert (result["replayed"], result["changed"], result["unchanged"]) == (6, 2, 4)
        assert [(t["from_action"], t["to_action"], t["count"]) for t in result["transitions"]] == [
            ("coaching", "manager_review", 2)
        ]
        assert set(result["transitions"][0]["incident_ids"]) == {
            history.ids["ann-medium"],
            history.ids["bob-medium"],
        }
        assert result["by_rule"] == [
            {"position": 5, "name": "Medium: coaching, manager informed", "count": 2}
        ]
        assert result["by_severity"] == [{"severity": "medium", "count": 2}]
        assert result["by_department"] == [
            {"department": "Sales", "count": 1},
            {"department": "Support", "count": 1},
        ]

    async def test_without_the_directory_the_departments_are_unknown_not_a_failure(
        self, stack: StackHandle, org: Org, history: History
    ) -> None:
        policy_id = await draft_with(stack, org, medium_to_the_manager)

        with directory_lookup_down(stack):
            body = await replay(stack, org.hr, policy_id)

        result = body["result"]
        assert (body["status"], result["changed"]) == ("done", 2)
        assert result["departments_known"] is False
        assert result["by_department"] == [{"department": "unknown", "count": 2}]

    async def test_a_rule_on_recorded_history_changes_the_repeats(
        self, stack: StackHandle, org: Org, history: History
    ) -> None:
        policy_id = await draft_with(stack, org, repeat_goes_to_hr(365))

        result = (await replay(stack, org.legal, policy_id))["result"]

        assert result["changed"] == 3
        assert set(result["transitions"][0]["incident_ids"]) == {
            history.ids["ann-low"],
            history.ids["ann-medium"],
            history.ids["cem-low"],
        }
        assert result["by_rule"][0]["position"] == 1

    @pytest.mark.parametrize(("window_days", "changed"), [(55, 2), (45, 0)])
    async def test_a_window_the_decisions_did_not_record_is_counted_from_the_incidents(
        self, stack: StackHandle, org: Org, history: History, window_days: int, changed: int
    ) -> None:
        policy_id = await draft_with(stack, org, repeat_goes_to_hr(window_days))

        result = (await replay(stack, org.hr, policy_id))["result"]

        assert result["changed"] == changed
        assert result["undetermined"] == 0

    async def test_history_coaching_was_never_asked_for_is_undetermined_not_guessed(
        self, stack: StackHandle, org: Org, history: History
    ) -> None:
        def after_any_coaching(rules: list[Any]) -> None:
            rules.insert(0, {**rules[2], "name": "After coaching", "min_prior_incidents": None})

        policy_id = await draft_with(stack, org, after_any_coaching)

        result = (await replay(stack, org.hr, policy_id))["result"]

        assert result["undetermined"] == 2
        assert set(result["undetermined_incident_ids"]) == {
            history.ids["bob-medium"],
            history.ids["cem-critical"],
        }
        assert result["changed"] == 0

    async def test_an_overridden_incident_is_compared_with_the_schemes_decision(
        self, stack: StackHandle, org: Org, history: History
    ) -> None:
        hr = stack.as_user(org.hr)
        url = f"/api/v1/incidents/{history.ids['bob-medium']}"
        overridden = await hr.post(
            f"{url}/override",
            json={"action": "hr_review", "reason": "A customer complained as well."},
            headers={"If-Match": (await hr.get(url)).headers["ETag"]},
        )
        assert overridden.status_code == 200, overridden.text
        policy_id = await draft_with(stack, org, medium_to_the_manager)

        result = (await replay(stack, org.hr, policy_id))["result"]

        assert result["overridden"] == 1
        assert result["changed"] == 2
        assert history.ids["bob-medium"] in result["transitions"][0]["incident_ids"]

    async def test_a_chosen_window_replays_only_its_incidents(
        self, stack: StackHandle, org: Org, history: History
    ) -> None:
        policy_id = await draft_with(stack, org, medium_to_the_manager)

        body = await replay(stack, org.hr, policy_id, since=days_ago(500), until=days_ago(70))

        assert body["result"]["replayed"] == 3
        assert body["result"]["transitions"][0]["incident_ids"] == [history.ids["bob-medium"]]


class TestWhoSeesWhat:
    async def test_approvers_see_the_replay_beside_the_draft_and_an_edit_makes_it_stale(
        self, stack: StackHandle, org: Org, history: History
    ) -> None:
        member = await stack.person(display_name="Wim")
        await add_to_group(stack, "Works council", member)
        await stack.as_user(org.hr).put(
            "/api/v1/incidents/escalation-policy/approvers",
            json={"approvers": ["group:Works council"]},
        )
        policy_id = await draft_with(stack, org, medium_to_the_manager)
        await replay(stack, org.hr, policy_id)

        as_member = (await stack.as_user(member).get(f"{POLICIES}/{policy_id}")).json()
        as_legal = (await stack.as_user(org.legal).get(f"{POLICIES}/{policy_id}")).json()

        assert as_member["replay"]["result"]["changed"] == 2
        assert as_member["replay"]["result"]["transitions"][0]["incident_ids"] is None
        assert len(as_legal["replay"]["result"]["transitions"][0]["incident_ids"]) == 2
        assert as_legal["replay"]["stale"] is False
        hr = stack.as_user(org.hr)
        current = await hr.get(f"{POLICIES}/{policy_id}")
        edited = await hr.put(
            f"{POLICIES}/{policy_id}",
            json={"rules": current.json()["rules"], "notes": "Also for the works council."},
            headers={"If-Match": current.headers["ETag"]},
        )
        assert edited.status_code == 200, edited.text
        assert (await hr.get(f"{POLICIES}/{policy_id}")).json()["replay"]["stale"] is True

    async def test_an_employee_may_not_replay(
        self, stack: StackHandle, org: Org, history: History
    ) -> None:
        policy_id = await draft_with(stack, org, medium_to_the_manager)

        response = await stack.as_user(org.employee).post(f"{POLICIES}/{policy_id}/replay", json={})

        assert response.status_code == 403


class TestInTheBackground:
    async def test_a_large_window_runs_in_the_background_with_progress(
        self, stack: StackHandle, org: Org, history: History, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(stack.stack.settings["incidents"], "replay_inline_limit", 2)
        policy_id = await draft_with(stack, org, medium_to_the_manager)
        hr = stack.as_user(org.hr)

        started = await hr.post(f"{POLICIES}/{policy_id}/replay", json={})
        queued = await hr.get(started.headers["Location"])
        await stack.stack.apps["incidents"].state.replayer.run_due()
        done = await hr.get(started.headers["Location"])

        assert started.status_code == 202, started.text
        assert (queued.json()["status"], queued.json()["processed"], queued.json()["total"]) == (
            "queued",
            0,
            6,
        )
        assert queued.json()["result"] is None
        assert (done.json()["status"], done.json()["processed"]) == ("done", 6)
        assert done.json()["result"]["changed"] == 2


class TestRefusals:
    async def test_replaying_an_empty_window_is_a_422(
        self, stack: StackHandle, org: Org, history: History
    ) -> None:
        policy_id = await draft_with(stack, org, medium_to_the_manager)

        response = await stack.as_user(org.hr).post(
            f"{POLICIES}/{policy_id}/replay",
            json={"since": days_ago(1000), "until": days_ago(900)},
        )

        assert response.status_code == 422
        assert response.json()["type"] == "urn:smp:problem:replay-window-empty"
        assert "nothing to replay" in response.json()["detail"]

    async def test_a_window_that_ends_before_it_starts_is_a_422(
        self, stack: StackHandle, org: Org
    ) -> None:
        policy_id = await draft_with(stack, org, medium_to_the_manager)

        response = await stack.as_user(org.hr).post(
            f"{POLICIES}/{policy_id}/replay", json={"since": days_ago(1), "until": days_ago(2)}
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "#/since"

    async def test_replaying_the_published_version_is_a_409(
        self, stack: StackHandle, org: Org
    ) -> None:
        current = (await stack.as_user(org.hr).get("/api/v1/incidents/escalation-policy")).json()

        response = await stack.as_user(org.hr).post(f"{POLICIES}/{current['id']}/replay", json={})

        assert response.status_code == 409
        assert "cannot replay it" in response.json()["detail"]

    async def test_a_window_over_ten_years_is_a_422(self, stack: StackHandle, org: Org) -> None:
        policy_id = await draft_with(stack, org, medium_to_the_manager)

        response = await stack.as_user(org.hr).post(
            f"{POLICIES}/{policy_id}/replay", json={"since": days_ago(3651), "until": days_ago(0)}
        )

        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert "at most 3650 days" in response.json()["detail"]

    async def test_replaying_an_unknown_version_is_a_404(
        self, stack: StackHandle, org: Org
    ) -> None:
        response = await stack.as_user(org.hr).post(
            f"{POLICIES}/00000000-0000-4000-8000-000000000000/replay", json={}
        )

        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"

    async def test_an_unknown_replay_is_a_404(self, stack: StackHandle, org: Org) -> None:
        policy_id = await draft_with(stack, org, medium_to_the_manager)

        response = await stack.as_user(org.hr).get(
            f"{POLICIES}/{policy_id}/replays/00000000-0000-4000-8000-000000000000"
        )

        assert response.status_code == 404


class TestPriorIndex:
    def test_counts_strictly_earlier_incidents_within_the_window(self) -> None:
        now = utcnow()
        person = uuid.uuid4()
        index = PriorIndex([(person, now - dt.timedelta(days=d)) for d in (0, 1, 10, 40, 100)])

        assert index.count(person, now, 30) == 2
        assert index.count(person, now - dt.timedelta(days=10), 31) == 1
        assert index.count(uuid.uuid4(), now, 30) == 0
