"""A coaching decision reads the person from the directory once (issue 16): incidents passes
the record it read to coaching (the remedial engagement) and training (the remedial
modules), which take it from the incidents service instead of asking the directory again."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from incidents.decision import upstream
from tests.incidents.conftest import ManualClock, Org, as_hr, deactivate, report, worker
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

    async def test_without_the_cache_the_record_the_decision_used_is_passed_on(
        self, stack: StackHandle, org: Org
    ) -> None:
        await teaching_module(stack)

        with calls_through_gateway(stack) as calls:
            await report(stack, org.reporter, org.employee, severity="medium")
            await worker(stack).run_due()

        assert calls.person_lookups("incidents") == 1
        assert (calls.person_lookups("coaching"), calls.person_lookups("training")) == (0, 0)

    async def test_one_that_does_not_suspend_reads_the_person_once_too(
        self, stack: StackHandle, org: Org
    ) -> None:
        # Low severity coaches without suspending: no measures to tell coaching, so the
        # engagement is opened on its own (POST /engagements) and still told the record.
        await teaching_module(stack)

        with calls_through_gateway(stack) as calls:
            created = await report(stack, org.reporter, org.employee, severity="low")
            await worker(stack).run_due()

        assert calls.person_lookups("incidents") == 1
        assert (calls.person_lookups("coaching"), calls.person_lookups("training")) == (0, 0)
        assert (await as_hr(stack, org, created["id"]))["remedial_engagement_id"] is not None

    async def test_a_retried_job_reads_the_person_again_and_does_not_train_a_leaver(
        self, stack: StackHandle, org: Org
    ) -> None:
        await teaching_module(stack)
        with stack.upstream_down("training"):
            created = await report(stack, org.reporter, org.employee, severity="medium")
            await worker(stack).run_due()
        stack.stack.apps["gateway"].state.breakers["training"].record_success()
        await deactivate(stack, org.employee)

        with calls_through_gateway(stack) as calls:
            await worker(stack).run_due()

        assert calls.person_lookups("incidents") == 1
        [entry] = [
            e for e in await timeline(stack, org, created["id"]) if e["kind"] == "remedial_training"
        ]
        assert "not active in the directory" in entry["summary"]
        assigned = await stack.as_user(org.hr).get(
            f"{API}/remedial-training", params={"incident_id": created["id"]}
        )
        assert assigned.json()["items"] == []


class TestDecisionRecords:
    PERSON = upstream.DirectoryPerson(
        id=uuid.uuid4(), display_name="Emma", manager_id=None, active=True, department="Sales"
    )

    def test_a_record_is_handed_over_once(self) -> None:
        records, incident_id = upstream.DecisionRecords(), uuid.uuid4()
        records.put(incident_id, self.PERSON)

        assert records.take(incident_id) == self.PERSON
        assert records.take(incident_id) is None

    def test_a_record_older_than_its_seconds_is_not_handed_over(self) -> None:
        clock = ManualClock()
        records, incident_id = upstream.DecisionRecords(seconds=60, clock=clock), uuid.uuid4()
        records.put(incident_id, self.PERSON)

        clock.now += 61

        assert records.take(incident_id) is None

    def test_the_records_stay_bounded_the_newest_kept(self) -> None:
        records = upstream.DecisionRecords(max_entries=3)
        incidents = [uuid.uuid4() for _ in range(10)]
        for incident_id in incidents:
            records.put(incident_id, self.PERSON)

        assert [records.take(i) is not None for i in incidents] == [False] * 7 + [True] * 3
