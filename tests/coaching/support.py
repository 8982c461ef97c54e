"""Factories for the coaching tests: plain functions over the HTTP API, overridable defaults."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from gateway.models import Person
from tests.support.stack import StackHandle

BASE = "/api/v1/coaching"


async def make_coach(
    stack: StackHandle, *, capacity: int = 5, person: Person | None = None
) -> tuple[Person, dict[str, Any]]:
    """A person with the coach role and their coach record."""
    person = person or await stack.person(roles=["coach"])
    hr = stack.as_user(await stack.person(roles=["hr"]))
    response = await hr.post(
        f"{BASE}/coaches",
        json={
            "person_id": str(person.id),
            "display_name": person.display_name,
            "capacity": capacity,
        },
    )
    assert response.status_code == 201, response.text
    return person, response.json()


async def open_remedial(
    stack: StackHandle,
    coachee: Person,
    *,
    incident_id: uuid.UUID | None = None,
    key: str | None = None,
) -> httpx.Response:
    """What the incidents service sends when an incident's action includes coaching."""
    incident_id = incident_id or uuid.uuid4()
    return await stack.as_service("incidents").post(
        f"{BASE}/engagements",
        json={
            "coachee_id": str(coachee.id),
            "track": "remedial",
            "source": "incident",
            "incident_id": str(incident_id),
            "goals": "Understand what may not be shared about customers online.",
        },
        headers={"Idempotency-Key": key or str(incident_id)},
    )


async def assign(
    client: httpx.AsyncClient, engagement: dict[str, Any], coach_id: str
) -> httpx.Response:
    return await client.put(
        f"{BASE}/engagements/{engagement['id']}/coach",
        json={"coach_id": coach_id},
        headers={"If-Match": f'"{engagement["version"]}"'},
    )


async def act(
    client: httpx.AsyncClient,
    engagement: dict[str, Any],
    action: str,
    body: dict[str, Any] | None = None,
) -> httpx.Response:
    """start / complete / cancel with the engagement's current ETag."""
    return await client.post(
        f"{BASE}/engagements/{engagement['id']}/{action}",
        json=body,
        headers={"If-Match": f'"{engagement["version"]}"'},
    )


async def active_engagement(
    stack: StackHandle, coachee: Person, *, capacity: int = 5
) -> tuple[Person, dict[str, Any]]:
    """A remedial engagement from an incident, assigned and started by its coach."""
    coach_person, coach = await make_coach(stack, capacity=capacity)
    coach_client = stack.as_user(coach_person)
    engagement = (await open_remedial(stack, coachee)).json()
    engagement = (await assign(coach_client, engagement, coach["id"])).json()
    started = await act(coach_client, engagement, "start")
    assert started.status_code == 200, started.text
    return coach_person, started.json()
