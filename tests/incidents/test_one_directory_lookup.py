"""A coaching decision reads the person from the directory once (issue 16): incidents passes
the record it read to coaching (the remedial engagement) and training (the remedial
modules), which take it from the incidents service instead of asking the directory again."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from incidents.decision import upstream
from tests.incidents.conftest import Org, as_hr, deactivate, report, worker
from tests.incidents.test_remedial_training import teaching_module, timeline
from tests.support.calls import calls_through_gateway
from tests.support.stack import StackHandle
from tests.training.factories import API


@pytest.fixture
def directory_cache(stack: StackHandle) -> Iterator[None]:
    """Incidents keeps the directory's answers, as it does outside the tests."""
    gateway: httpx.AsyncClient = stack.stack.apps["incidents"].state.gateway
    upstream.cache_directory(gateway, seconds=60)
    yield
    upstream.cache_directory(gateway, seconds=0)


class TestACoachingDecision:
    @pytest.mark.usefixtures("directory_cache")
    async def test_reads_the_person_once_and_still_opens_coaching_and_training(
        self, stack: StackHandle, org: Org
    ) -> None:
        module = await teaching_module(stack)

        with calls_through_gateway(stack) as calls:
            created = await report(stack, org.reporter, org.employee, severity="medium")
            await worker(stack).run_due()

        assert (calls.person_lookups("incidents"), calls.person_lookups("coaching")) == (1, 0)
        assert calls.person_lookups("training") == 0
        incident = await as_hr(stack, org, created["id"])
        engagement = await stack.as_user(org.hr).get(
            f"/api/v1/coaching/engagements/{incident['remedial_engagement_id']}"
        )
        assert engagement.status_code == 200, engagement.text
        assert engagement.json()["coachee_id"] == str(org.employee.id)
        [assignment] = (await stack.as_user(org.employee).get(f"{API}/me/assignments")).json()[
            "items"
        ]
        # The department came with incidents' record: training's reports group by it.
        assert (assignment["module_id"], assignment["department"]) == (module["id"], "Sales")

    async def test_without_the_cache_incidents_asks_again_and_the_others_still_do_not(
        self, stack: StackHandle, org: Org
    ) -> None:
        await teaching_module(stack)

        with calls_through_gateway(stack) as calls:
            await report(stack, org.reporter, org.employee, severity="medium")
            await worker(stack).run_due()

        assert calls.person_lookups("incidents") == 2
        assert (calls.person_lookups("coaching"), calls.person_lookups("training")) == (0, 0)

    async def test_a_person_who_left_before_the_remedial_job_is_not_trained(
        self, stack: StackHandle, org: Org
    ) -> None:
        await teaching_module(stack)
        created = await report(stack, org.reporter, org.employee, severity="medium")

        await deactivate(stack, org.employee)
        await worker(stack).run_due()

        [entry] = [
            e for e in await timeline(stack, org, created["id"]) if e["kind"] == "remedial_training"
        ]
        assert "not active in the directory" in entry["summary"]
        mine = await stack.as_user(org.hr).get(
            f"{API}/remedial-training", params={"incident_id": created["id"]}
        )
        assert mine.json()["items"] == []
