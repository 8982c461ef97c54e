"""An export cut short by kill -9 resumes, on the real processes: the gateway kills itself
after the coaching part is recorded; the restarted gateway takes the export over when its
lease ends, asks only for the incidents part, and the document is complete."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from kit.demo import demo_person_id
from kit.failpoints import ENVIRONMENT_VARIABLE
from tests.support.processes import RunningStack

pytestmark = pytest.mark.e2e

LEASE = {"GATEWAY_EXPORT_LEASE_SECONDS": "2"}
DEADLINE_SECONDS = 40


async def test_an_export_interrupted_by_kill_9_resumes_and_finishes(
    running_processes: RunningStack,
) -> None:
    stack = running_processes
    person_id = str(demo_person_id("emma.employee"))
    await stack.restart(
        "gateway", extra_env={**LEASE, ENVIRONMENT_VARIABLE: "export.after_coaching"}
    )
    token = stack.command("gateway", "token", "--user", "pia.privacy")
    async with httpx.AsyncClient(
        base_url=stack.url("gateway"), headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as officer:
        requested = await officer.post("/api/v1/privacy/exports", json={"person_id": person_id})
        await asyncio.to_thread(stack.processes["gateway"].wait, 20)
        crashed_with = stack.processes["gateway"].returncode
        await stack.restart("gateway", extra_env=LEASE)
        export = await _until_ready(officer, requested.json()["id"])
        document = (await officer.get(export["download_url"])).json()

    assert requested.status_code == 202, requested.text
    assert crashed_with == -9
    assert (export["status"], export["parts_done"]) == ("ready", 4)
    assert document["directory"]["person"]["id"] == person_id
    assert {"training", "coaching", "incidents"} <= set(document)
    assert document["incidents"]["incidents_about_them"], "Emma's seeded incidents"


async def _until_ready(client: httpx.AsyncClient, export_id: str) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + DEADLINE_SECONDS
    while True:
        response = await client.get(f"/api/v1/privacy/exports/{export_id}")
        body: dict[str, Any] = response.json()
        if response.status_code == 200 and body["status"] == "ready":
            return body
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the export did not finish: {body}")
        await asyncio.sleep(0.5)
