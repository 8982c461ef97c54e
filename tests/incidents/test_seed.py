"""The demo data: the default policy and Northwind reports the worker decides."""

from __future__ import annotations

import gateway.seed
from incidents.seed import seed
from kit.demo import demo_person_id
from tests.incidents.conftest import worker
from tests.support.stack import StackHandle


class TestDemoSeed:
    async def test_the_demo_reports_are_decided_once_the_worker_runs(
        self, stack: StackHandle
    ) -> None:
        await gateway.seed.seed(stack.stack.database("gateway"))
        assert await seed(stack.stack.database("incidents"))
        hr = stack.as_user(demo_person_id("hannah.hr"))
        before = (await hr.get("/api/v1/incidents")).json()["items"]

        await worker(stack).run_due()

        after = (await hr.get("/api/v1/incidents")).json()["items"]
        assert {item["status"] for item in before} == {"reported"}
        decided = {item["person_id"]: item["action"] for item in after}
        assert decided == {
            str(demo_person_id("sam.sales")): "coaching",
            str(demo_person_id("emma.employee")): "coaching",
            str(demo_person_id("tom.support")): "hr_review",
        }

    async def test_seeding_twice_changes_nothing(self, stack: StackHandle) -> None:
        assert await seed(stack.stack.database("incidents"))

        assert not await seed(stack.stack.database("incidents"))
