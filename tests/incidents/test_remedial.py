"""Remedial coaching: one engagement per incident, opened in coaching, retried until it is."""

from __future__ import annotations

import uuid
from typing import Any

from incidents.decision import jobs
from incidents.decision.models import JobKind
from incidents.models import Incident
from tests.incidents.conftest import Org, coaching_down, report, worker
from tests.support.stack import StackHandle


async def as_hr(stack: StackHandle, org: Org, incident_id: str) -> dict[str, Any]:
    body: dict[str, Any] = (
        await stack.as_user(org.hr).get(f"/api/v1/incidents/{incident_id}")
    ).json()
    return body


async def remedial_engagements(stack: StackHandle, org: Org) -> list[dict[str, Any]]:
    response = await stack.as_user(org.hr).get(
        "/api/v1/coaching/engagements",
        params={"coachee_id": str(org.employee.id), "track": "remedial"},
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


class TestRemedialCoaching:
    async def test_a_coaching_decision_opens_an_engagement_linked_to_the_incident(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.reporter, org.employee, severity="medium")

        await worker(stack).run_due()

        incident = await as_hr(stack, org, created["id"])
        [engagement] = await remedial_engagements(stack, org)
        assert incident["remedial_engagement_id"] == engagement["id"]
        assert engagement["incident_id"] == created["id"]
        assert engagement["source"] == "incident"
        assert "4.2" in engagement["goals"]

    async def test_the_request_is_retried_until_coaching_answers(
        self, stack: StackHandle, org: Org
    ) -> None:
        with coaching_down(stack):
            created = await report(stack, org.reporter, org.employee, severity="low")
            await worker(stack).run_due()
            pending = await as_hr(stack, org, created["id"])

        await worker(stack).run_due()

        assert pending["status"] == "decided"
        assert pending["remedial_engagement_id"] is None
        assert (await as_hr(stack, org, created["id"]))["remedial_engagement_id"] is not None

    async def test_a_retry_after_a_lost_answer_gets_the_same_engagement(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.reporter, org.employee, severity="medium")
        await worker(stack).run_due()
        first = (await as_hr(stack, org, created["id"]))["remedial_engagement_id"]
        # As if the worker had died after coaching answered, before recording the answer.
        async with stack.stack.database("incidents").transaction() as session:
            incident = await session.get(Incident, uuid.UUID(created["id"]))
            assert incident is not None
            incident.remedial_engagement_id = None
            session.add(incident)
            await jobs.enqueue(session, incident_id=incident.id, kind=JobKind.OPEN_REMEDIAL)

        await worker(stack).run_due()

        assert (await as_hr(stack, org, created["id"]))["remedial_engagement_id"] == first
        assert len(await remedial_engagements(stack, org)) == 1

    async def test_deciding_again_does_not_open_a_second_engagement(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.reporter, org.employee, severity="medium")
        await worker(stack).run_due()

        again = await stack.as_user(org.hr).post(f"/api/v1/incidents/{created['id']}/decision")
        await worker(stack).run_due()

        assert again.status_code == 200
        assert len(await remedial_engagements(stack, org)) == 1

    async def test_an_action_without_coaching_opens_no_engagement(
        self, stack: StackHandle, org: Org
    ) -> None:
        await report(stack, org.reporter, org.employee, severity="high")

        await worker(stack).run_due()

        assert await remedial_engagements(stack, org) == []
