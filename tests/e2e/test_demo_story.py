"""The demo tells a true story: seeded with the real seed commands (``python -m <app>
migrate`` and ``seed``, as ``make run`` does), started, and left to the incidents worker,
every reference one service holds to another's data resolves there, and every ambassador
suspension has the incident that caused it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from kit.demo import demo_person_id
from tests.support.processes import RunningStack

pytestmark = pytest.mark.e2e

API = "/api/v1"
DECIDED_WITHIN_SECONDS = 120.0


@pytest.fixture(scope="module")
def tokens(running_processes: RunningStack) -> dict[str, str]:
    """One ``python -m gateway token`` for HR and the policy owner, as ``make run`` prints."""
    out = running_processes.command(
        "gateway", "token", "--user", "hannah.hr", "--user", "olivia.owner"
    )
    return dict(line.split() for line in out.splitlines())


async def _all(client: httpx.AsyncClient, path: str, token: str) -> list[dict[str, Any]]:
    """Every item of a paginated list."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": "100"} | ({"cursor": cursor} if cursor else {})
        response = await client.get(
            path, params=params, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, (path, response.text)
        body = response.json()
        items.extend(body["items"])
        cursor = body.get("next_cursor")
        if not cursor:
            return items


async def _decided(client: httpx.AsyncClient, hr: str) -> list[dict[str, Any]]:
    """The demo incidents once the worker has decided them and coaching has opened the
    remedial engagement of each decision of coaching."""
    deadline = asyncio.get_running_loop().time() + DECIDED_WITHIN_SECONDS
    while True:
        incidents = await _all(client, f"{API}/incidents", hr)
        if incidents and all(
            i["status"] != "reported"
            and (i["action"] != "coaching" or i["remedial_engagement_id"] is not None)
            for i in incidents
        ):
            return incidents
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"demo incidents not decided: {incidents}")
        await asyncio.sleep(0.5)


class TestTheDemoStory:
    async def test_every_cross_service_reference_resolves(
        self, running_processes: RunningStack, tokens: dict[str, str]
    ) -> None:
        hr, owner = tokens["hannah.hr"], tokens["olivia.owner"]
        async with httpx.AsyncClient(
            base_url=running_processes.url("gateway"), timeout=30
        ) as client:
            incidents = await _decided(client, hr)
            people = {p["id"] for p in await _all(client, f"{API}/directory/people", hr)}
            details = {
                i["id"]: (
                    await client.get(
                        f"{API}/incidents/{i['id']}", headers={"Authorization": f"Bearer {hr}"}
                    )
                ).json()
                for i in incidents
            }
            coaches = await _all(client, f"{API}/coaching/coaches", hr)
            engagements = await _all(client, f"{API}/coaching/engagements", hr)
            ambassadors = await _all(client, f"{API}/coaching/ambassadors", hr)
            applications = await _all(client, f"{API}/coaching/ambassadors/applications", owner)
            assignments = await _all(client, f"{API}/training/assignments", owner)
            remedial = await _all(client, f"{API}/training/remedial-training", hr)

        incident_ids = {i["id"] for i in incidents}
        engagement_by_id = {e["id"]: e for e in engagements}
        coach_ids = {c["id"] for c in coaches}

        # The directory: every person any service names exists there.
        named = (
            {i["person_id"] for i in incidents}
            | {i["reporter_id"] for i in incidents}
            | {i["owner_id"] for i in incidents if i["owner_id"]}
            | {c["person_id"] for c in coaches}
            | {e["coachee_id"] for e in engagements}
            | {a["person_id"] for a in ambassadors}
            | {a["person_id"] for a in applications}
            | {a["decided_by"] for a in applications if a["decided_by"]}
            | {a["person_id"] for a in assignments}
            | {r["person_id"] for r in remedial}
        )
        assert named <= people, f"not in the directory: {named - people}"
        # Coaching's engagements name real coaches and real incidents, and an incident's
        # remedial engagement is the one coaching opened for it.
        assert {e["coach_id"] for e in engagements if e["coach_id"]} <= coach_ids
        assert {e["incident_id"] for e in engagements if e["incident_id"]} <= incident_ids
        for incident in incidents:
            if incident["remedial_engagement_id"] is not None:
                engagement = engagement_by_id[incident["remedial_engagement_id"]]
                assert engagement["incident_id"] == incident["id"]
                assert engagement["coachee_id"] == incident["person_id"]
        # Training's remedial assignments come from real incidents, for their person.
        person_of = {i["id"]: i["person_id"] for i in incidents}
        assert remedial, "no decision of coaching assigned remedial training"
        assert all(person_of[r["incident_id"]] == r["person_id"] for r in remedial)
        # A suspended ambassador has an open incident whose decision suspends.
        for ambassador in ambassadors:
            causes = [
                details[i["id"]]
                for i in incidents
                if i["person_id"] == ambassador["person_id"]
                and i["closed_at"] is None
                and details[i["id"]]["decision"]["suspends_ambassador"]
            ]
            assert bool(causes) == (ambassador["status"] == "suspended"), ambassador

    async def test_the_story_the_readme_tells(
        self, running_processes: RunningStack, tokens: dict[str, str]
    ) -> None:
        hr = tokens["hannah.hr"]
        async with httpx.AsyncClient(
            base_url=running_processes.url("gateway"), timeout=30
        ) as client:
            incidents = await _decided(client, hr)
            ambassadors = await _all(client, f"{API}/coaching/ambassadors", hr)
            remedial = await _all(client, f"{API}/training/remedial-training", hr)

        emma, sam = str(demo_person_id("emma.employee")), str(demo_person_id("sam.sales"))
        # Emma's medium-severity report suspends her ambassador role; Sam's low-severity one
        # opens remedial coaching and training without suspending his.
        assert {a["person_id"]: a["status"] for a in ambassadors} == {
            emma: "suspended",
            sam: "active",
        }
        coached = {i["person_id"] for i in incidents if i["action"] == "coaching"}
        assert coached == {emma, sam}
        assert {r["person_id"] for r in remedial} == {emma, sam}
