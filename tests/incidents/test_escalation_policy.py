"""The default escalation policy, read through the gateway."""

from __future__ import annotations

from incidents.seed import DEFAULT_RULES, seed
from tests.support.stack import StackHandle


class TestEscalationPolicy:
    async def test_the_default_policy_lists_its_rules_in_order(self, stack: StackHandle) -> None:
        await seed(stack.stack.database("incidents"))
        hr = await stack.person(roles=["hr"])

        response = await stack.as_user(hr).get("/api/v1/incidents/escalation-policy")

        assert response.status_code == 200
        rules = response.json()["rules"]
        assert [rule["name"] for rule in rules] == [rule["name"] for rule in DEFAULT_RULES]
        assert rules[0]["severities"] == ["critical"]
        assert rules[0]["action"] == "legal_review"
