"""On real connection pools: while an incident is being decided and coaching is slow to
answer, the incidents database is not held. Other writes (another report, a note, a status
change) go through at once, and a change made meanwhile is not decided over."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.incidents.conftest import (
    Org,
    as_hr,
    coaching_down,
    days_ago,
    etag_of,
    fresh_coaching_breaker,
    incident_body,
    make_org,
    report,
    seed_policy,
    worker,
)
from tests.support.stack import StackHandle

# Far below SQLite's 30 s busy timeout: a write that had to wait for the deciding
# transaction's lock would not finish in time.
PROMPTLY_SECONDS = 5.0


class HeldHistory(httpx.AsyncBaseTransport):
    """Coaching, reached through the gateway, answering history questions only once the
    test releases them (a slow coaching); ``asked`` is set when one arrives."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.asked = asyncio.Event()
        self.release = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(("/history", "/remedial-counts")):
            self.asked.set()
            await self.release.wait()
        return await self.inner.handle_async_request(request)


@contextlib.contextmanager
def slow_coaching(stack: StackHandle) -> Iterator[HeldHistory]:
    upstream = stack.stack.upstreams["coaching"]
    original = upstream.inner
    held = HeldHistory(original)
    upstream.inner = held  # type: ignore[assignment]  # the gateway's ASGI hop to coaching
    try:
        yield held
    finally:
        held.release.set()
        upstream.inner = original


@pytest.fixture
async def org(committed_stack: StackHandle) -> AsyncIterator[Org]:
    await seed_policy(committed_stack)
    with fresh_coaching_breaker(committed_stack):
        yield await make_org(committed_stack)


async def promptly(call: Any) -> httpx.Response:
    response: httpx.Response = await asyncio.wait_for(call, timeout=PROMPTLY_SECONDS)
    return response


async def note(stack: StackHandle, org: Org, incident_id: str, text: str) -> httpx.Response:
    return await stack.as_user(org.hr).post(
        f"/api/v1/incidents/{incident_id}/timeline", json={"text": text}
    )


class TestWritesGoOnWhileCoachingIsSlow:
    async def test_a_report_waiting_for_history_holds_up_no_other_write(
        self, committed_stack: StackHandle, org: Org
    ) -> None:
        stack = committed_stack
        await report(stack, org.reporter, org.employee, occurred_at=days_ago(30))
        earlier = await report(stack, org.reporter, org.outsider, severity="low")
        reporter = stack.as_user(org.reporter)

        with slow_coaching(stack) as coaching:
            deciding = asyncio.create_task(
                reporter.post("/api/v1/incidents", json=incident_body(org.employee))
            )
            await asyncio.wait_for(coaching.asked.wait(), timeout=PROMPTLY_SECONDS)
            noted = await promptly(note(stack, org, earlier["id"], "Spoke to the reporter."))
            critical = await promptly(
                reporter.post(
                    "/api/v1/incidents", json=incident_body(org.outsider, severity="critical")
                )
            )
            still_asking = not deciding.done()
            coaching.release.set()
            reported = await asyncio.wait_for(deciding, timeout=PROMPTLY_SECONDS)

        assert still_asking
        assert noted.status_code == 201, noted.text
        assert critical.status_code == 201, critical.text
        assert critical.json()["status"] == "decided"
        assert reported.status_code == 201, reported.text
        decided = await as_hr(stack, org, reported.json()["id"])
        assert decided["status"] == "decided"
        assert decided["decision"]["facts"]["coaching_history"] == "asked"

    async def test_deciding_again_lets_a_note_on_the_same_incident_through(
        self, committed_stack: StackHandle, org: Org
    ) -> None:
        stack = committed_stack
        await report(stack, org.reporter, org.employee, occurred_at=days_ago(30))
        created = await report(stack, org.reporter, org.employee)
        url = f"/api/v1/incidents/{created['id']}/decision"

        with slow_coaching(stack) as coaching:
            deciding = asyncio.create_task(stack.as_user(org.hr).post(url))
            await asyncio.wait_for(coaching.asked.wait(), timeout=PROMPTLY_SECONDS)
            noted = await promptly(note(stack, org, created["id"], "Manager informed."))
            coaching.release.set()
            decided = await asyncio.wait_for(deciding, timeout=PROMPTLY_SECONDS)

        assert noted.status_code == 201, noted.text
        assert decided.status_code == 200, decided.text
        assert [d["trigger"] for d in decided.json()["decisions"]] == ["reported", "requested"]

    async def test_an_incident_dismissed_meanwhile_is_not_decided_over(
        self, committed_stack: StackHandle, org: Org
    ) -> None:
        stack = committed_stack
        await report(stack, org.reporter, org.employee, occurred_at=days_ago(30))
        created = await report(stack, org.reporter, org.employee)
        hr = stack.as_user(org.hr)
        etag = await etag_of(hr, created["id"])

        with slow_coaching(stack) as coaching:
            deciding = asyncio.create_task(hr.post(f"/api/v1/incidents/{created['id']}/decision"))
            await asyncio.wait_for(coaching.asked.wait(), timeout=PROMPTLY_SECONDS)
            dismissed = await promptly(
                hr.patch(
                    f"/api/v1/incidents/{created['id']}",
                    json={"status": "dismissed", "reason": "Duplicate of an earlier report."},
                    headers={"If-Match": etag},
                )
            )
            coaching.release.set()
            refused = await asyncio.wait_for(deciding, timeout=PROMPTLY_SECONDS)

        assert dismissed.status_code == 200, dismissed.text
        assert refused.status_code == 409, refused.text
        assert "dismissed" in refused.json()["detail"]
        incident = await as_hr(stack, org, created["id"])
        assert incident["status"] == "dismissed"
        assert len(incident["decisions"]) == 1

    async def test_a_retry_by_the_worker_holds_up_no_write(
        self, committed_stack: StackHandle, org: Org
    ) -> None:
        stack = committed_stack
        await report(stack, org.reporter, org.employee, occurred_at=days_ago(30))
        with coaching_down(stack):
            waiting = await report(stack, org.reporter, org.employee)

        with slow_coaching(stack) as coaching:
            retrying = asyncio.create_task(worker(stack).run_due())
            await asyncio.wait_for(coaching.asked.wait(), timeout=PROMPTLY_SECONDS)
            noted = await promptly(note(stack, org, waiting["id"], "Coaching is slow today."))
            coaching.release.set()
            await asyncio.wait_for(retrying, timeout=PROMPTLY_SECONDS)

        assert waiting["status"] == "awaiting_history"
        assert noted.status_code == 201, noted.text
        incident = await as_hr(stack, org, waiting["id"])
        assert incident["status"] == "decided"
        assert incident["decision"]["trigger"] == "retried"
