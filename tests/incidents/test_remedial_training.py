"""Remedial training: a decision of coaching assigns the modules that teach the breached
clauses (through training, once per incident), and their completion shows in the
incident's view for its owner."""

from __future__ import annotations

import uuid
from typing import Any

from incidents.decision import jobs
from incidents.decision.models import JobKind
from incidents.models import Incident
from tests.incidents.conftest import Org, report, worker
from tests.support.stack import StackHandle
from tests.training.factories import API, policy_owner, publish_policy, published_module

CLAUSE = {"number": "4.2", "title": "No confidential information", "body": "Never post it."}


async def teaching_module(stack: StackHandle) -> dict[str, Any]:
    owner = await policy_owner(stack)
    await publish_policy(stack, owner, clauses=[CLAUSE])
    return await published_module(
        stack,
        owner,
        quiz_body={},
        title="Keeping confidential things in",
        examples=[],
        scenarios=[],
        clause_numbers=["4.2"],
    )


async def timeline(stack: StackHandle, org: Org, incident_id: str) -> list[dict[str, Any]]:
    response = await stack.as_user(org.hr).get(f"/api/v1/incidents/{incident_id}/timeline")
    items: list[dict[str, Any]] = response.json()["items"]
    return items


class TestRemedialTraining:
    async def test_a_coaching_decision_assigns_the_module_teaching_the_breached_clause(
        self, stack: StackHandle, org: Org
    ) -> None:
        module = await teaching_module(stack)
        created = await report(stack, org.reporter, org.employee, severity="medium")

        await worker(stack).run_due()

        mine = await stack.as_user(org.employee).get(f"{API}/me/assignments")
        [assignment] = mine.json()["items"]
        assert assignment["module_id"] == module["id"]
        entries = [
            e for e in await timeline(stack, org, created["id"]) if e["kind"] == "remedial_training"
        ]
        assert len(entries) == 1
        assert "Keeping confidential things in" in entries[0]["summary"]

    async def test_completing_it_shows_in_the_incident_for_its_owner_and_the_person(
        self, stack: StackHandle, org: Org
    ) -> None:
        module = await teaching_module(stack)
        created = await report(stack, org.reporter, org.employee, severity="medium")
        await worker(stack).run_due()
        path = f"/api/v1/incidents/{created['id']}/remedial-training"
        before = await stack.as_user(org.hr).get(path)

        await stack.as_user(org.employee).post(f"{API}/modules/{module['id']}/read")
        after = await stack.as_user(org.hr).get(path)
        own = await stack.as_user(org.employee).get(path)
        reporter = await stack.as_user(org.reporter).get(path)
        outsider = await stack.as_user(org.outsider).get(path)

        assert [m["status"] for m in before.json()] == ["not_started"]
        [done] = after.json()
        assert done["status"] == "completed"
        assert done["clause_numbers"] == ["4.2"]
        assert own.json() == after.json()
        assert reporter.status_code == 403
        assert outsider.status_code == 404

    async def test_a_retry_of_the_remedial_job_assigns_nothing_more(
        self, stack: StackHandle, org: Org
    ) -> None:
        await teaching_module(stack)
        created = await report(stack, org.reporter, org.employee, severity="medium")
        await worker(stack).run_due()
        async with stack.stack.database("incidents").transaction() as session:
            incident = await session.get(Incident, uuid.UUID(created["id"]))
            assert incident is not None
            incident.remedial_engagement_id = None
            session.add(incident)
            await jobs.enqueue(session, incident_id=incident.id, kind=JobKind.OPEN_REMEDIAL)

        await worker(stack).run_due()

        mine = await stack.as_user(org.employee).get(f"{API}/me/assignments")
        assert len(mine.json()["items"]) == 1

    async def test_training_down_delays_the_request_until_it_is_back(
        self, stack: StackHandle, org: Org
    ) -> None:
        await teaching_module(stack)
        with stack.upstream_down("training"):
            created = await report(stack, org.reporter, org.employee, severity="low")
            await worker(stack).run_due()
            path = f"/api/v1/incidents/{created['id']}/remedial-training"
            unavailable = await stack.as_user(org.hr).get(path)
        stack.stack.apps["gateway"].state.breakers["training"].record_success()

        await worker(stack).run_due()

        assert unavailable.status_code == 503
        assert unavailable.headers["content-type"] == "application/problem+json"
        assert len((await stack.as_user(org.hr).get(path)).json()) == 1

    async def test_clauses_no_module_teaches_are_said_on_the_timeline(
        self, stack: StackHandle, org: Org
    ) -> None:
        await teaching_module(stack)
        created = await report(
            stack, org.reporter, org.employee, severity="medium", clauses=["4.2", "9.1"]
        )

        await worker(stack).run_due()

        [entry] = [
            e for e in await timeline(stack, org, created["id"]) if e["kind"] == "remedial_training"
        ]
        assert "No module teaches 9.1" in entry["summary"]


class TestCoachingHistory:
    async def test_completing_the_module_shows_in_coaching_history(
        self, stack: StackHandle, org: Org
    ) -> None:
        module = await teaching_module(stack)
        created = await report(stack, org.reporter, org.employee, severity="medium")
        await worker(stack).run_due()
        path = f"/api/v1/coaching/people/{org.employee.id}/history"
        hr = stack.as_user(org.hr)

        await stack.as_user(org.employee).post(f"{API}/modules/{module['id']}/read")
        plain = await hr.get(path)
        with_training = await hr.get(path, params={"include_training": "true"})

        assert plain.json()["remedial_training"] is None
        [done] = with_training.json()["remedial_training"]
        assert done["incident_id"] == created["id"]
        assert done["status"] == "completed"
        assert done["completed_at"] is not None
        [engagement] = with_training.json()["engagements"]
        assert engagement["incident_id"] == created["id"]
