"""On real connection pools: pending work survives a restart, and concurrent decisions and
retries still open exactly one remedial engagement per incident."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

import incidents.main
from incidents.config import IncidentsSettings
from tests.incidents.conftest import (
    Org,
    as_hr,
    coaching_down,
    days_ago,
    fresh_coaching_breaker,
    make_org,
    report,
    seed_policy,
    worker,
)
from tests.support.stack import StackHandle

DEADLINE_SECONDS = 15.0


@pytest.fixture
async def org(committed_stack: StackHandle) -> AsyncIterator[Org]:
    await seed_policy(committed_stack)
    with fresh_coaching_breaker(committed_stack):
        yield await make_org(committed_stack)


async def poll_until_decided(stack: StackHandle, org: Org, incident_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        incident = await as_hr(stack, org, incident_id)
        if incident["status"] == "decided":
            return incident
        await asyncio.sleep(0.05)
    raise AssertionError(f"incident {incident_id} was not decided within {DEADLINE_SECONDS} s")


class TestRestart:
    async def test_a_new_instance_decides_what_was_waiting_for_coaching(
        self, committed_stack: StackHandle, org: Org
    ) -> None:
        stack = committed_stack
        await report(stack, org.reporter, org.employee, occurred_at=days_ago(30))
        with coaching_down(stack):
            waiting = await report(stack, org.reporter, org.employee, severity="medium")
        settings: IncidentsSettings = stack.stack.settings["incidents"]
        restarted = incidents.main.create_app(
            settings.model_copy(
                update={
                    "background_worker": True,
                    "retry_base_seconds": 0.05,
                    "worker_poll_seconds": 0.2,
                }
            ),
            gateway_transport=httpx.ASGITransport(stack.stack.apps["gateway"]),
        )

        async with restarted.router.lifespan_context(restarted):
            decided = await poll_until_decided(stack, org, waiting["id"])

        assert waiting["status"] == "awaiting_history"
        assert decided["decision"]["trigger"] == "retried"
        assert decided["decision"]["action"] == "coaching"


class TestExactlyOneEngagement:
    async def test_concurrent_decisions_and_retries_open_one_engagement(
        self, committed_stack: StackHandle, org: Org
    ) -> None:
        stack = committed_stack
        created = await report(stack, org.reporter, org.employee, severity="medium")
        hr = stack.as_user(org.hr)
        url = f"/api/v1/incidents/{created['id']}/decision"

        outcomes = await asyncio.gather(
            hr.post(url),
            hr.post(url),
            worker(stack).run_due(),
            worker(stack).run_due(),
            worker(stack).run_due(),
        )
        await worker(stack).run_due()

        assert [r.status_code for r in outcomes[:2]] == [200, 200]
        engagements = (
            await hr.get(
                "/api/v1/coaching/engagements",
                params={"coachee_id": str(org.employee.id), "track": "remedial"},
            )
        ).json()["items"]
        assert [e["incident_id"] for e in engagements] == [created["id"]]
        incident = await as_hr(stack, org, created["id"])
        assert incident["remedial_engagement_id"] == engagements[0]["id"]
        assert len(incident["decisions"]) == 3
