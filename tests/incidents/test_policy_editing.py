"""Editing the escalation policy: HR drafts, publishes; published versions never change;
the dry run explains which rule would match."""

from __future__ import annotations

from typing import Any

import httpx

from tests.incidents.conftest import Org, report, sign_off
from tests.support.stack import StackHandle

POLICIES = "/api/v1/incidents/escalation-policies"

CATCH_ALL = {
    "name": "Everything else: HR decides",
    "action": "hr_review",
    "contacts": ["hr"],
    "owner_role": "hr",
    "deadline_hours": 48,
}


async def new_draft(hr: httpx.AsyncClient, **body: Any) -> httpx.Response:
    response = await hr.post(POLICIES, json=body)
    assert response.status_code == 201, response.text
    return response


class TestDrafts:
    async def test_a_draft_starts_as_a_copy_of_the_published_policy(
        self, stack: StackHandle, org: Org
    ) -> None:
        draft = await new_draft(stack.as_user(org.hr), notes="Yearly review")

        body = draft.json()
        assert body["status"] == "draft"
        assert body["number"] == 2
        assert len(body["rules"]) == 6
        assert draft.headers["ETag"] == '"1"'

    async def test_hr_edits_and_publishes_and_new_decisions_use_the_new_version(
        self, stack: StackHandle, org: Org
    ) -> None:
        hr = stack.as_user(org.hr)
        draft = await new_draft(hr)
        policy_url = f"{POLICIES}/{draft.json()['id']}"
        edited = await hr.put(
            policy_url,
            json={"notes": "Simplified", "rules": [CATCH_ALL]},
            headers={"If-Match": draft.headers["ETag"]},
        )
        etag = await sign_off(stack, org, draft.json()["id"], etag=edited.headers["ETag"])
        published = await hr.post(f"{policy_url}/publish", headers={"If-Match": etag})

        created = await report(stack, org.reporter, org.employee, severity="low")

        assert edited.status_code == 200, edited.text
        assert published.status_code == 200, published.text
        assert published.json()["status"] == "published"
        current = (await hr.get("/api/v1/incidents/escalation-policy")).json()
        assert current["number"] == 2
        incident = (await hr.get(f"/api/v1/incidents/{created['id']}")).json()
        assert incident["decision"]["policy_number"] == 2
        assert incident["decision"]["action"] == "hr_review"
        versions = (await hr.get(POLICIES)).json()["items"]
        assert [(v["number"], v["status"]) for v in versions] == [(2, "published"), (1, "retired")]

    async def test_a_published_version_never_changes(self, stack: StackHandle, org: Org) -> None:
        hr = stack.as_user(org.hr)
        current = await hr.get("/api/v1/incidents/escalation-policy")

        response = await hr.put(
            f"{POLICIES}/{current.json()['id']}",
            json={"rules": [CATCH_ALL]},
            headers={"If-Match": current.headers["ETag"]},
        )

        assert response.status_code == 409
        assert response.json()["type"] == "urn:smp:problem:escalation-policy-not-editable"

    async def test_there_is_one_draft_at_a_time(self, stack: StackHandle, org: Org) -> None:
        hr = stack.as_user(org.hr)
        first = await new_draft(hr)

        second = await hr.post(POLICIES, json={})

        assert second.status_code == 409
        assert second.json()["draft_id"] == first.json()["id"]

    async def test_editing_with_a_stale_etag_is_a_412(self, stack: StackHandle, org: Org) -> None:
        hr = stack.as_user(org.hr)
        draft = await new_draft(hr)
        url = f"{POLICIES}/{draft.json()['id']}"
        await hr.put(url, json={"rules": [CATCH_ALL]}, headers={"If-Match": draft.headers["ETag"]})

        response = await hr.put(
            url, json={"rules": [CATCH_ALL]}, headers={"If-Match": draft.headers["ETag"]}
        )

        assert response.status_code == 412

    async def test_a_policy_that_leaves_incidents_undecided_is_not_published(
        self, stack: StackHandle, org: Org
    ) -> None:
        hr = stack.as_user(org.hr)
        only_critical = {**CATCH_ALL, "severities": ["critical"]}
        draft = await new_draft(hr, rules=[only_critical])

        response = await hr.post(
            f"{POLICIES}/{draft.json()['id']}/publish", headers={"If-Match": draft.headers["ETag"]}
        )

        assert response.status_code == 422
        assert "No rule decides a first low-severity incident" in response.json()["detail"]

    async def test_an_invalid_rule_is_a_422_pointing_at_it(
        self, stack: StackHandle, org: Org
    ) -> None:
        bad = {**CATCH_ALL, "action": "fire_them", "contacts": ["ceo"]}

        response = await stack.as_user(org.hr).post(POLICIES, json={"rules": [bad]})

        assert response.status_code == 422
        pointers = {error["pointer"] for error in response.json()["errors"]}
        assert pointers == {"#/rules/0/action", "#/rules/0/contacts/0"}

    async def test_only_hr_edits(self, stack: StackHandle, org: Org) -> None:
        response = await stack.as_user(org.legal).post(POLICIES, json={})

        assert response.status_code == 403


class TestDryRun:
    async def test_it_says_which_rule_matches_and_why(self, stack: StackHandle, org: Org) -> None:
        response = await stack.as_user(org.legal).post(
            "/api/v1/incidents/escalation-policy/dry-run",
            json={
                "severity": "low",
                "category": "misleading_claims",
                "prior_incidents": 2,
                "completed_remedial": 1,
            },
        )

        result = response.json()
        assert response.status_code == 200
        assert result["result"] == "decided"
        assert result["rule"]["action"] == "disciplinary_review"
        assert result["explanation"].startswith("Rule 2")
        assert [check["verdict"] for check in result["checks"][:2]] == ["not_matched", "matched"]

    async def test_unknown_history_shows_where_a_decision_would_wait(
        self, stack: StackHandle, org: Org
    ) -> None:
        response = await stack.as_user(org.hr).post(
            "/api/v1/incidents/escalation-policy/dry-run",
            json={
                "severity": "medium",
                "category": "other",
                "prior_incidents": 1,
                "completed_remedial": None,
            },
        )

        assert response.json()["result"] == "awaiting_history"
        assert response.json()["rule"]["position"] == 3

    async def test_a_draft_can_be_tried_before_publishing(
        self, stack: StackHandle, org: Org
    ) -> None:
        hr = stack.as_user(org.hr)
        draft = await new_draft(hr, rules=[CATCH_ALL])

        response = await hr.post(
            "/api/v1/incidents/escalation-policy/dry-run",
            json={"severity": "critical", "category": "other", "policy_id": draft.json()["id"]},
        )

        assert response.json()["policy_number"] == 2
        assert response.json()["rule"]["name"] == CATCH_ALL["name"]

    async def test_an_employee_may_not_dry_run(self, stack: StackHandle, org: Org) -> None:
        response = await stack.as_user(org.employee).post(
            "/api/v1/incidents/escalation-policy/dry-run",
            json={"severity": "low", "category": "other"},
        )

        assert response.status_code == 403
