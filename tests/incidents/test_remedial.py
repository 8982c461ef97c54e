"""Remedial coaching: one engagement per incident, opened in coaching, retried until it is."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from incidents.decision import jobs
from incidents.decision.models import JobKind
from incidents.models import Incident
from tests.incidents.conftest import Org, coaching_down, etag_of, report, worker
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


class MeanwhileInCoaching(httpx.AsyncBaseTransport):
    """Coaching, reached through the gateway: ``meanwhile`` runs while the first remedial
    request (the engagement with the measures) is on its way to it."""

    def __init__(self, inner: httpx.AsyncBaseTransport, meanwhile: Callable[[], Awaitable[None]]):
        self.inner = inner
        self.meanwhile: Callable[[], Awaitable[None]] | None = meanwhile

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.meanwhile is not None and request.url.path.endswith("/measures"):
            meanwhile, self.meanwhile = self.meanwhile, None
            await meanwhile()
        return await self.inner.handle_async_request(request)


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

    async def test_an_incident_started_while_coaching_opens_the_engagement_keeps_both(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.reporter, org.employee, severity="medium")
        manager = stack.as_user(org.manager)
        url = f"/api/v1/incidents/{created['id']}"
        started: list[httpx.Response] = []

        async def start() -> None:
            etag = await etag_of(manager, created["id"])
            started.append(
                await manager.patch(url, json={"status": "in_progress"}, headers={"If-Match": etag})
            )

        upstream = stack.stack.upstreams["coaching"]
        original = upstream.inner
        upstream.inner = MeanwhileInCoaching(original, start)  # type: ignore[assignment]
        try:
            await worker(stack).run_due()
        finally:
            upstream.inner = original
        opened = await as_hr(stack, org, created["id"])
        await worker(stack).run_due()  # coaching is told the incident as it is now
        timeline = await stack.as_user(org.hr).get(f"{url}/timeline", params={"limit": 100})

        assert [response.status_code for response in started] == [200]
        [engagement] = await remedial_engagements(stack, org)
        assert opened["status"] == "in_progress"
        assert opened["remedial_engagement_id"] == engagement["id"]
        summaries = [entry["summary"] for entry in timeline.json()["items"]]
        assert "Coaching opened the remedial engagement." in summaries
        assert any("suspended the person's ambassador role" in s for s in summaries)

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
