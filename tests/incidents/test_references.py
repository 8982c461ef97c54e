"""Rules that refer to clauses of the organisation's other policies (a code of conduct):
shown to approvers, indexed by clause, read by employees, copied into each decision."""

from __future__ import annotations

from typing import Any

from tests.incidents.conftest import Org, as_hr, publish_rules, report
from tests.support.stack import StackHandle

POLICIES = "/api/v1/incidents/escalation-policies"
CODE_OF_CONDUCT = {
    "policy": "Code of conduct",
    "clause": "3.2",
    "note": "Respectful behaviour towards colleagues and customers, online too.",
}
PRIVACY_POLICY = {"policy": "Privacy policy", "clause": "5.1"}


def refer(rules: list[dict[str, Any]]) -> None:
    rules[3]["references"] = [CODE_OF_CONDUCT, PRIVACY_POLICY]  # high
    rules[4]["references"] = [{**CODE_OF_CONDUCT, "clause": "3.10"}, CODE_OF_CONDUCT]  # medium


def without_positions(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in rule.items() if k != "position"} for rule in rules]


async def draft_referring(stack: StackHandle, org: Org) -> dict[str, Any]:
    hr = stack.as_user(org.hr)
    draft = await hr.post(POLICIES, json={})
    rules = without_positions(draft.json()["rules"])
    refer(rules)
    edited = await hr.put(
        f"{POLICIES}/{draft.json()['id']}",
        json={"rules": rules},
        headers={"If-Match": draft.headers["ETag"]},
    )
    assert edited.status_code == 200, edited.text
    body: dict[str, Any] = edited.json()
    return body


class TestReferences:
    async def test_approvers_see_which_rules_refer_to_which_clause(
        self, stack: StackHandle, org: Org
    ) -> None:
        draft = await draft_referring(stack, org)

        as_legal = (await stack.as_user(org.legal).get(f"{POLICIES}/{draft['id']}")).json()
        index = await stack.as_user(org.legal).get(f"{POLICIES}/{draft['id']}/references")

        assert as_legal["rules"][3]["references"] == [
            CODE_OF_CONDUCT,
            {**PRIVACY_POLICY, "note": None},
        ]
        assert index.status_code == 200, index.text
        found = [
            (r["policy"], r["clause"], [x["position"] for x in r["rules"]]) for r in index.json()
        ]
        assert found == [
            ("Code of conduct", "3.2", [4, 5]),
            ("Code of conduct", "3.10", [5]),
            ("Privacy policy", "5.1", [4]),
        ]

    async def test_a_decision_carries_the_references_of_its_rule(
        self, stack: StackHandle, org: Org
    ) -> None:
        await publish_rules(stack, org, refer)

        created = await report(stack, org.reporter, org.employee, severity="high")

        decision = (await as_hr(stack, org, created["id"]))["decision"]
        assert decision["rule_position"] == 4
        assert [(r["policy"], r["clause"]) for r in decision["references"]] == [
            ("Code of conduct", "3.2"),
            ("Privacy policy", "5.1"),
        ]

    async def test_employees_read_them_in_their_language(
        self, stack: StackHandle, org: Org
    ) -> None:
        await publish_rules(stack, org, refer)
        employee = stack.as_user(org.employee)

        english = (await employee.get("/api/v1/incidents/escalation-policy")).json()
        dutch = (await employee.get("/api/v1/incidents/escalation-policy?lang=nl")).json()

        assert english["rules"][3]["plain"]["see_also"] == (
            "See also: Code of conduct, clause 3.2 and Privacy policy, clause 5.1."
        )
        assert dutch["rules"][3]["plain"]["text"].endswith(
            "Zie ook: Code of conduct, artikel 3.2 en Privacy policy, artikel 5.1."
        )
        assert english["rules"][0]["plain"]["see_also"] is None

    async def test_adding_a_reference_withdraws_the_approvals(
        self, stack: StackHandle, org: Org
    ) -> None:
        hr = stack.as_user(org.hr)
        draft = await hr.post(POLICIES, json={})
        url = f"{POLICIES}/{draft.json()['id']}"
        submitted = await hr.post(f"{url}/submit", headers={"If-Match": draft.headers["ETag"]})
        await stack.as_user(org.legal).post(f"{url}/approve", json={})
        rules = without_positions(draft.json()["rules"])
        refer(rules)

        edited = await hr.put(
            url, json={"rules": rules}, headers={"If-Match": submitted.headers["ETag"]}
        )

        assert edited.status_code == 200, edited.text
        assert edited.json()["signoff"]["verdicts"][0]["withdrawn_at"] is not None


class TestBadReferences:
    async def test_the_same_clause_twice_is_a_422(self, stack: StackHandle, org: Org) -> None:
        rule = {
            "name": "Everything: HR",
            "action": "hr_review",
            "owner_role": "hr",
            "deadline_hours": 48,
            "references": [CODE_OF_CONDUCT, {**CODE_OF_CONDUCT, "policy": "code of CONDUCT"}],
        }

        response = await stack.as_user(org.hr).post(POLICIES, json={"rules": [rule]})

        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "#/rules/0/references"

    async def test_a_reference_without_a_clause_is_a_422(
        self, stack: StackHandle, org: Org
    ) -> None:
        rule = {
            "name": "Everything: HR",
            "action": "hr_review",
            "owner_role": "hr",
            "deadline_hours": 48,
            "references": [{"policy": "Code of conduct", "clause": " "}],
        }

        response = await stack.as_user(org.hr).post(POLICIES, json={"rules": [rule]})

        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "#/rules/0/references/0/clause"
