"""Factories for the coaching tests: plain functions over the HTTP API, overridable defaults."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import time_machine

from gateway.models import Person
from tests.support.stack import StackHandle

BASE = "/api/v1/coaching"
PROGRAM = f"{BASE}/ambassadors"
MOTIVATION = "I post about our work every week and want to help colleagues do it well."


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
    stack: StackHandle,
    coachee: Person,
    *,
    capacity: int = 5,
    incident_id: uuid.UUID | None = None,
) -> tuple[Person, dict[str, Any]]:
    """A remedial engagement from an incident, assigned and started by its coach."""
    coach_person, coach = await make_coach(stack, capacity=capacity)
    coach_client = stack.as_user(coach_person)
    engagement = (await open_remedial(stack, coachee, incident_id=incident_id)).json()
    engagement = (await assign(coach_client, engagement, coach["id"])).json()
    started = await act(coach_client, engagement, "start")
    assert started.status_code == 200, started.text
    return coach_person, started.json()


# -- training, through its own HTTP API (the real training app is wired in the stack) ---------

TRAINING = "/api/v1/training"


async def publish_core_module(stack: StackHandle) -> str:
    """A published social media core training module without a quiz (reading completes it)."""
    owner = stack.as_user(await stack.person(roles=["policy_owner"]))
    created = await owner.post(
        f"{TRAINING}/modules",
        json={
            "title": "Social media essentials",
            "summary": "What you may and may not post about work.",
            "body_markdown": "# Be yourself, be careful\nNever share customer data.",
            "core": True,
        },
    )
    assert created.status_code == 201, created.text
    module_id: str = created.json()["id"]
    published = await owner.post(
        f"{TRAINING}/modules/{module_id}/publish", headers={"If-Match": created.headers["etag"]}
    )
    assert published.status_code == 200, published.text
    return module_id


async def pass_core_training(stack: StackHandle, person: Person) -> None:
    module_id = await publish_core_module(stack)
    read = await stack.as_user(person).post(f"{TRAINING}/modules/{module_id}/read")
    assert read.status_code == 200, read.text


async def assign_core_module(stack: StackHandle, person: Person) -> str:
    """Assign the core module to ``person``, due in a day: overdue once ``overdue_later()``."""
    module_id = await publish_core_module(stack)
    hr = stack.as_user(await stack.person(roles=["hr"]))
    due = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    response = await hr.post(
        f"{TRAINING}/assignments",
        json={"module_id": module_id, "person_ids": [str(person.id)], "due_at": due.isoformat()},
    )
    assert response.status_code == 201, response.text
    return module_id


def overdue_later() -> time_machine.travel:
    """Two days on: assignments from ``assign_core_module`` are overdue. Create clients
    inside the block (their tokens must be fresh then)."""
    return time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=2))


# -- the ambassador program ------------------------------------------------------------


async def apply(stack: StackHandle, person: Person) -> httpx.Response:
    return await stack.as_user(person).post(
        f"{PROGRAM}/applications", json={"motivation": MOTIVATION}
    )


async def decide(
    client: httpx.AsyncClient, application: dict[str, Any], verdict: str, reason: str | None = None
) -> httpx.Response:
    return await client.post(
        f"{PROGRAM}/applications/{application['id']}/{verdict}",
        json={"reason": reason},
        headers={"If-Match": f'"{application["version"]}"'},
    )


async def ambassador(stack: StackHandle) -> tuple[Person, httpx.AsyncClient]:
    """An approved ambassador, and a policy owner's client."""
    person = await stack.person()
    await pass_core_training(stack, person)
    application = (await apply(stack, person)).json()
    owner = stack.as_user(await stack.person(roles=["policy_owner"]))
    approved = await decide(owner, application, "approve")
    assert approved.status_code == 200, approved.text
    return person, owner
