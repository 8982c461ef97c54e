"""Decisions through the real stack: each default rule, repeat offenders after completed
coaching, overrides and deciding again."""

from __future__ import annotations

import pytest

from tests.incidents.conftest import (
    Org,
    as_hr,
    complete_in_coaching,
    days_ago,
    etag_of,
    report,
    sign_off,
    worker,
)
from tests.support.stack import StackHandle


class TestDefaultRules:
    @pytest.mark.parametrize(
        ("severity", "rule", "action", "owner_role", "contacts"),
        [
            ("critical", 1, "legal_review", "legal", ["legal", "hr"]),
            ("high", 4, "hr_review", "hr", ["hr", "manager"]),
            ("medium", 5, "coaching", "manager", ["manager"]),
            ("low", 6, "coaching", "coach", []),
        ],
    )
    async def test_a_first_incident_is_decided_by_its_severity(
        self,
        stack: StackHandle,
        org: Org,
        severity: str,
        rule: int,
        action: str,
        owner_role: str,
        contacts: list[str],
    ) -> None:
        created = await report(stack, org.reporter, org.employee, severity=severity)

        decision = (await as_hr(stack, org, created["id"]))["decision"]

        assert decision["rule_position"] == rule
        assert decision["action"] == action
        assert decision["owner_role"] == owner_role
        assert [contact["spec"] for contact in decision["contacts"]] == contacts

    async def test_the_manager_contact_falls_back_to_hr_ownership_without_a_manager(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.reporter, org.manager, severity="medium")

        decision = (await as_hr(stack, org, created["id"]))["decision"]

        assert decision["contacts"][0]["person_id"] is None
        assert "no manager" in decision["contacts"][0]["note"]
        assert decision["owner_role"] == "hr"


class TestRepeatOffender:
    async def test_after_completed_coaching_a_repeat_goes_to_hr_then_disciplinary_review(
        self, stack: StackHandle, org: Org
    ) -> None:
        first = await report(stack, org.reporter, org.employee, occurred_at=days_ago(60))
        await worker(stack).run_due()
        engagement_id = (await as_hr(stack, org, first["id"]))["remedial_engagement_id"]
        assert engagement_id is not None
        await complete_in_coaching(stack, org, engagement_id)

        second = await report(
            stack, org.reporter, org.employee, severity="low", occurred_at=days_ago(20)
        )
        third = await report(
            stack, org.reporter, org.employee, severity="low", occurred_at=days_ago(2)
        )

        second_decision = (await as_hr(stack, org, second["id"]))["decision"]
        third_decision = (await as_hr(stack, org, third["id"]))["decision"]
        assert second_decision["action"] == "hr_review"
        assert second_decision["rule_position"] == 3
        assert second_decision["facts"]["prior_incidents"] == {"365": 1}
        assert second_decision["facts"]["completed_remedial"] == {"365": 1}
        assert third_decision["action"] == "disciplinary_review"
        assert third_decision["rule_position"] == 2
        assert third_decision["facts"]["prior_incidents"] == {"365": 2}

    async def test_repeats_without_completed_coaching_stay_with_their_severity(
        self, stack: StackHandle, org: Org
    ) -> None:
        await report(stack, org.reporter, org.employee, occurred_at=days_ago(30))

        second = await report(stack, org.reporter, org.employee, occurred_at=days_ago(1))

        decision = (await as_hr(stack, org, second["id"]))["decision"]
        assert decision["rule_position"] == 5
        assert decision["facts"]["completed_remedial"] == {"365": 0}
        assert decision["facts"]["coaching_history"] == "asked"

    async def test_a_dismissed_report_does_not_count_as_a_prior_incident(
        self, stack: StackHandle, org: Org
    ) -> None:
        first = await report(stack, org.reporter, org.employee, occurred_at=days_ago(30))
        hr = stack.as_user(org.hr)
        dismissed = await hr.patch(
            f"/api/v1/incidents/{first['id']}",
            json={"status": "dismissed", "reason": "The post was satire by another account."},
            headers={"If-Match": await etag_of(hr, first["id"])},
        )
        assert dismissed.status_code == 200, dismissed.text

        second = await report(stack, org.reporter, org.employee, occurred_at=days_ago(1))

        decision = (await as_hr(stack, org, second["id"]))["decision"]
        assert decision["facts"]["prior_incidents"] == {"365": 0}


class TestOverride:
    async def test_hr_overrides_with_a_reason_and_both_decisions_stay_visible(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.reporter, org.employee, severity="high")
        hr = stack.as_user(org.hr)

        response = await hr.post(
            f"/api/v1/incidents/{created['id']}/override",
            json={
                "action": "legal_review",
                "reason": "The post names a client; legal must assess the exposure.",
                "owner_role": "legal",
                "contacts": ["legal", "manager"],
            },
            headers={"If-Match": await etag_of(hr, created["id"])},
        )

        assert response.status_code == 200, response.text
        incident = response.json()
        assert [d["kind"] for d in incident["decisions"]] == ["policy", "override"]
        assert incident["decisions"][0]["action"] == "hr_review"
        assert incident["decision"]["action"] == "legal_review"
        assert incident["decision"]["reason"].startswith("The post names a client")
        assert incident["decision"]["decided_by"] == str(org.hr.id)
        assert incident["action"] == "legal_review"
        assert incident["owner_role"] == "legal"

    async def test_an_override_without_a_reason_is_a_422(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.reporter, org.employee, severity="high")
        hr = stack.as_user(org.hr)

        response = await hr.post(
            f"/api/v1/incidents/{created['id']}/override",
            json={"action": "coaching"},
            headers={"If-Match": await etag_of(hr, created["id"])},
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "#/reason"

    async def test_an_override_without_if_match_is_a_428(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.reporter, org.employee, severity="high")

        response = await stack.as_user(org.hr).post(
            f"/api/v1/incidents/{created['id']}/override",
            json={"action": "coaching", "reason": "A first slip; coaching is enough here."},
        )

        assert response.status_code == 428

    async def test_only_hr_overrides(self, stack: StackHandle, org: Org) -> None:
        created = await report(stack, org.reporter, org.employee, severity="medium")
        manager = stack.as_user(org.manager)

        response = await manager.post(
            f"/api/v1/incidents/{created['id']}/override",
            json={"action": "manager_review", "reason": "I would rather handle this myself."},
            headers={"If-Match": await etag_of(manager, created["id"])},
        )

        assert response.status_code == 403

    async def test_overriding_to_coaching_requests_a_remedial_engagement(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.reporter, org.employee, severity="high")
        hr = stack.as_user(org.hr)
        await hr.post(
            f"/api/v1/incidents/{created['id']}/override",
            json={"action": "coaching", "reason": "HR agreed coaching is proportionate."},
            headers={"If-Match": await etag_of(hr, created["id"])},
        )

        await worker(stack).run_due()

        incident = await as_hr(stack, org, created["id"])
        assert incident["remedial_engagement_id"] is not None


class TestDecideAgain:
    async def test_hr_asks_for_a_fresh_decision_under_a_newly_published_policy(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.reporter, org.employee, severity="low")
        hr = stack.as_user(org.hr)
        draft = await hr.post("/api/v1/incidents/escalation-policies", json={})
        rules = draft.json()["rules"]
        rules[-1] = {**rules[-1], "action": "manager_review", "owner_role": "manager"}
        rules[-1]["contacts"] = ["manager"]
        updated = await hr.put(
            f"/api/v1/incidents/escalation-policies/{draft.json()['id']}",
            json={"notes": "Low incidents go to the manager.", "rules": rules},
            headers={"If-Match": draft.headers["ETag"]},
        )
        assert updated.status_code == 200, updated.text
        etag = await sign_off(stack, org, draft.json()["id"], etag=updated.headers["ETag"])
        published = await hr.post(
            f"/api/v1/incidents/escalation-policies/{draft.json()['id']}/publish",
            headers={"If-Match": etag},
        )
        assert published.status_code == 200, published.text

        response = await hr.post(f"/api/v1/incidents/{created['id']}/decision")

        assert response.status_code == 200, response.text
        decisions = response.json()["decisions"]
        assert [(d["policy_number"], d["action"]) for d in decisions] == [
            (1, "coaching"),
            (2, "manager_review"),
        ]
        assert decisions[1]["trigger"] == "requested"

    async def test_an_incident_in_progress_is_not_decided_again(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.reporter, org.employee, severity="high")
        hr = stack.as_user(org.hr)
        await hr.patch(
            f"/api/v1/incidents/{created['id']}",
            json={"status": "in_progress"},
            headers={"If-Match": await etag_of(hr, created["id"])},
        )

        response = await hr.post(f"/api/v1/incidents/{created['id']}/decision")

        assert response.status_code == 409
        assert response.json()["type"] == "urn:smp:problem:decision-not-possible"
