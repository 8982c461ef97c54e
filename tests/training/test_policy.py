"""The current policy, read through the gateway."""

from __future__ import annotations

from tests.support.stack import StackHandle
from training.seed import CLAUSES, seed


class TestCurrentPolicy:
    async def test_an_employee_reads_the_published_policy_with_numbered_clauses(
        self, stack: StackHandle
    ) -> None:
        await seed(stack.stack.database("training"))
        employee = await stack.person()

        response = await stack.as_user(employee).get("/api/v1/training/policy")

        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "published"
        assert [clause["number"] for clause in body["clauses"]] == [c[0] for c in CLAUSES]
        assert body["clauses"][1]["title"] == "Do not share confidential information"

    async def test_without_a_published_version_it_is_a_404_problem(
        self, stack: StackHandle
    ) -> None:
        employee = await stack.person()

        response = await stack.as_user(employee).get("/api/v1/training/policy")

        assert response.status_code == 404
        assert "No version" in response.json()["detail"]

    async def test_straight_to_the_service_without_the_gateway_is_a_401(
        self, stack: StackHandle
    ) -> None:
        response = await stack.client("training").get("/api/v1/training/policy")

        assert response.status_code == 401
