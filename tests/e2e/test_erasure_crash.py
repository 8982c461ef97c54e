"""An erasure cut short by kill -9 resumes, on the real processes: the gateway kills itself
after the coaching step is recorded; the restarted gateway takes the erasure over when its
lease ends and finishes it from the incidents step."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from kit.demo import demo_person_id
from kit.failpoints import ENVIRONMENT_VARIABLE
from tests.support.processes import RunningStack

pytestmark = pytest.mark.e2e

LEASE = {"GATEWAY_ERASURE_LEASE_SECONDS": "2"}
DEADLINE_SECONDS = 40


async def test_an_erasure_interrupted_by_kill_9_resumes_and_finishes(
    running_processes: RunningStack,
) -> None:
    stack = running_processes
    person_id = str(demo_person_id("tom.support"))
    await stack.restart(
        "gateway", extra_env={**LEASE, ENVIRONMENT_VARIABLE: "erasure.after_coaching"}
    )
    token = stack.command("gateway", "token", "--user", "pia.privacy")
    async with httpx.AsyncClient(
        base_url=stack.url("gateway"), headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as officer:
        requested = await officer.post(
            "/api/v1/privacy/erasures",
            json={"person_id": person_id, "reason": "Left the company; asked to be forgotten."},
        )
        await asyncio.to_thread(stack.processes["gateway"].wait, 20)
        crashed_with = stack.processes["gateway"].returncode
        await stack.restart("gateway", extra_env=LEASE)
        erasure = await _until_done(officer, requested.json()["id"])
        person = (await officer.get(f"/api/v1/directory/people/{person_id}")).json()

    assert requested.status_code == 202, requested.text
    assert crashed_with == -9
    assert erasure["status"] == "done", erasure
    assert erasure["steps_done"] == ["training", "coaching", "incidents", "directory"]
    assert erasure["outcomes"]["training"]["erased"]["quiz_attempts"] >= 1
    assert person["display_name"] == "Erased person"
    assert person["active"] is False


async def _until_done(client: httpx.AsyncClient, erasure_id: str) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + DEADLINE_SECONDS
    while True:
        response = await client.get(f"/api/v1/privacy/erasures/{erasure_id}")
        body: dict[str, Any] = response.json()
        if response.status_code == 200 and body["status"] == "done":
            return body
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the erasure did not finish: {body}")
        await asyncio.sleep(0.5)
