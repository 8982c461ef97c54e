"""kill -9 at the worst instants of a request with an ``Idempotency-Key``, on the real
processes: the retry after the restart gets exactly one incident (or coach) and the
original answer. The process kills itself at a crash point (``kit.failpoints``): after its
claim on the key is committed, or after the work and its answer are committed but before
a byte of the answer is sent."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from kit.demo import demo_person_id
from kit.failpoints import ENVIRONMENT_VARIABLE
from kit.idempotency import IN_FLIGHT_LEASE
from tests.support.processes import RunningStack

pytestmark = pytest.mark.e2e

RETRY_DEADLINE_SECONDS = IN_FLIGHT_LEASE.total_seconds() + 20


def report_about(person_id: str) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "channel": "x",
        "links": [f"https://x.com/post/{uuid.uuid4().hex}"],
        "occurred_at": "2026-11-30T09:00:00+00:00",
        "category": "misleading_claims",
        "description": "Claimed a product feature the company never announced.",
        "severity": "low",
    }


async def retry_until_answered(
    client: httpx.AsyncClient, url: str, *, body: dict[str, Any], key: str
) -> httpx.Response:
    """What a client does after a dropped connection: send again, with the same key, while
    the key is still held by the request that died (409)."""
    deadline = asyncio.get_running_loop().time() + RETRY_DEADLINE_SECONDS
    while True:
        response = await client.post(url, json=body, headers={"Idempotency-Key": key})
        if response.status_code not in (409, 502, 503):
            return response
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still {response.status_code} after the lease: {response.text}")
        await asyncio.sleep(0.5)


class Clients:
    def __init__(self, stack: RunningStack) -> None:
        self.stack = stack

    def as_user(self, user_name: str) -> httpx.AsyncClient:
        token = self.stack.command("gateway", "token", "--user", user_name)
        return httpx.AsyncClient(
            base_url=self.stack.url("gateway"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )


async def incidents_about(hr: httpx.AsyncClient, person_id: str) -> list[dict[str, Any]]:
    response = await hr.get("/api/v1/incidents", params={"person_id": person_id, "limit": 200})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.mark.parametrize("crash_at", ["idempotency.claimed", "idempotency.committed"])
async def test_a_keyed_report_survives_kill_9_exactly_once(
    running_processes: RunningStack, crash_at: str
) -> None:
    stack = running_processes
    clients = Clients(stack)
    async with clients.as_user("marc.manager") as reporter, clients.as_user("hannah.hr") as hr:
        person_id = str(demo_person_id("nina.engineer"))
        before = len(await incidents_about(hr, person_id))
        body, key = report_about(person_id), f"report-{uuid.uuid4()}"
        await stack.restart("incidents", extra_env={ENVIRONMENT_VARIABLE: crash_at})

        first = await reporter.post(
            "/api/v1/incidents", json=body, headers={"Idempotency-Key": key}
        )
        await asyncio.to_thread(stack.processes["incidents"].wait, 10)
        await stack.restart("incidents")
        retry = await retry_until_answered(reporter, "/api/v1/incidents", body=body, key=key)

        after = await incidents_about(hr, person_id)

    assert first.status_code == 502  # the connection broke: the client cannot know more
    assert stack.processes["incidents"].returncode is None
    assert retry.status_code == 201, retry.text
    assert len(after) == before + 1
    assert retry.json()["id"] in {incident["id"] for incident in after}
    # After the commit the retry is the original answer; after only the claim, the work.
    replayed = retry.headers.get("idempotent-replayed") == "true"
    assert replayed is (crash_at == "idempotency.committed")


async def test_a_keyed_create_on_the_request_session_survives_kill_9_after_its_commit(
    running_processes: RunningStack,
) -> None:
    stack = running_processes
    clients = Clients(stack)
    async with clients.as_user("hannah.hr") as hr:
        person_id = str(demo_person_id("ethan.lead"))
        body = {"person_id": person_id, "display_name": "Ethan as a coach", "capacity": 2}
        key = f"coach-{uuid.uuid4()}"
        await stack.restart("coaching", extra_env={ENVIRONMENT_VARIABLE: "idempotency.committed"})

        first = await hr.post(
            "/api/v1/coaching/coaches", json=body, headers={"Idempotency-Key": key}
        )
        await asyncio.to_thread(stack.processes["coaching"].wait, 10)
        await stack.restart("coaching")
        retry = await retry_until_answered(hr, "/api/v1/coaching/coaches", body=body, key=key)
        coaches = (await hr.get("/api/v1/coaching/coaches", params={"limit": 200})).json()

    assert first.status_code == 502
    assert (retry.status_code, retry.headers.get("idempotent-replayed")) == (201, "true")
    assert [c["person_id"] for c in coaches["items"]].count(person_id) == 1
