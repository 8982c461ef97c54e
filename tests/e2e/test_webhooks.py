"""Webhooks on the real processes: a receiver started by the test verifies every
signature, and gets each event exactly once through its own outage and a kill -9 of the
service that handed the events over (after the gateway took them, before the service
could note it)."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from kit.demo import demo_person_id
from kit.failpoints import ENVIRONMENT_VARIABLE
from tests.e2e.test_crash_exactly_once import Clients, report_about, retry_until_answered
from tests.support.polling import eventually
from tests.support.processes import RunningStack
from tests.support.webhooks import WebhookReceiver

pytestmark = pytest.mark.e2e


async def outbox_empty(stack: RunningStack, app: str) -> bool:
    async with httpx.AsyncClient() as client:
        metrics = (await client.get(f"{stack.url(app)}/metrics")).text
    return f'smp_outbox_lag_seconds{{app="{app}"}} 0.0' in metrics


async def test_each_event_arrives_once_through_an_outage_and_a_kill_9(
    running_processes: RunningStack,
) -> None:
    stack = running_processes
    clients = Clients(stack)
    async with (
        WebhookReceiver(status=503).running() as receiver,  # down from the start
        clients.as_user("grace.admin") as admin,
        clients.as_user("marc.manager") as reporter,
    ):
        subscribed = await admin.post(
            "/api/v1/admin/webhooks",
            json={"url": receiver.url, "event_types": ["incident.reported", "incident.decided"]},
        )
        assert subscribed.status_code == 201, subscribed.text
        receiver.secrets.append(subscribed.json()["secret"])
        await eventually(lambda: outbox_empty(stack, "incidents"), what="the seed's events")
        await stack.restart("incidents", extra_env={ENVIRONMENT_VARIABLE: "outbox.handed_over"})

        body, key = report_about(str(demo_person_id("nina.engineer"))), str(uuid.uuid4())
        await reporter.post("/api/v1/incidents", json=body, headers={"Idempotency-Key": key})
        await asyncio.to_thread(stack.processes["incidents"].wait, 30)
        await stack.restart("incidents")
        answer = await retry_until_answered(reporter, "/api/v1/incidents", body=body, key=key)
        incident_id = answer.json()["id"]
        await eventually(lambda: len(receiver.received) >= 2, what="attempts in the outage")
        receiver.status = 204  # the receiver is back

        def both_accepted() -> bool:
            types = {r.body["type"] for r in receiver.accepted()}
            return types == {"incident.reported", "incident.decided"}

        await eventually(both_accepted, what="both events after the outage", seconds=90)
        await asyncio.sleep(3)  # room for a duplicate to show up (there must be none)

    assert stack.processes["incidents"].returncode is None
    assert answer.status_code in (200, 201), answer.text
    accepted = receiver.accepted()
    assert len(accepted) == 2
    assert len({r.webhook_id for r in accepted}) == 2
    assert {r.body["data"]["incident_id"] for r in accepted} == {incident_id}
    assert all(r.verified_by == receiver.secrets for r in receiver.received)
    assert any(r.answered == 503 for r in receiver.received)
