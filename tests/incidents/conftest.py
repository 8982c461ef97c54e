"""Fixtures for the incidents tests: a small organisation, the default policy, and helpers
to report incidents and to run the retry worker the way its background loop would."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from gateway.models import Person
from gateway.resilience import CircuitBreaker
from incidents.decision.worker import Worker
from incidents.seed import publish_default_policy
from kit.db import utcnow
from tests.support.stack import StackHandle


@dataclass
class Org:
    hr: Person
    legal: Person
    coach: Person
    manager: Person
    employee: Person
    reporter: Person
    outsider: Person


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@contextlib.contextmanager
def fresh_coaching_breaker(stack: StackHandle) -> Iterator[None]:
    """The gateway's breaker for coaching, closed, on a clock the test moves: state left
    by another test does not leak in, and ``coaching_down`` can wait out its cool-down."""
    breakers = stack.stack.apps["gateway"].state.breakers
    original: CircuitBreaker = breakers["coaching"]
    breakers["coaching"] = CircuitBreaker(
        "coaching",
        failure_threshold=original.failure_threshold,
        reset_seconds=original.reset_seconds,
        clock=ManualClock(),
    )
    try:
        yield
    finally:
        breakers["coaching"] = original


@contextlib.contextmanager
def coaching_down(stack: StackHandle) -> Iterator[None]:
    """Coaching is stopped within the block; afterwards it is back and the gateway's
    breaker has cooled down (as it would a few seconds later)."""
    with stack.upstream_down("coaching"):
        yield
    breaker: CircuitBreaker = stack.stack.apps["gateway"].state.breakers["coaching"]
    assert isinstance(breaker.clock, ManualClock), "use fresh_coaching_breaker (the org fixture)"
    breaker.clock.now += breaker.reset_seconds


@pytest.fixture
async def org(stack: StackHandle) -> AsyncIterator[Org]:
    await seed_policy(stack)
    with fresh_coaching_breaker(stack):
        yield await make_org(stack)


async def seed_policy(stack: StackHandle) -> None:
    """The default escalation policy, published (without the demo reports)."""
    async with stack.stack.database("incidents").transaction() as session:
        await publish_default_policy(session)


async def make_org(stack: StackHandle) -> Org:
    manager = await stack.person(display_name="Marc Manager")
    return Org(
        hr=await stack.person(department="People", roles=["hr"]),
        legal=await stack.person(department="Legal", roles=["legal"]),
        coach=await stack.person(department="People", roles=["coach"]),
        manager=manager,
        employee=await stack.person(display_name="Emma Employee", manager=manager),
        reporter=await stack.person(),
        outsider=await stack.person(),
    )


def incident_body(person: Person, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "person_id": str(person.id),
        "channel": "linkedin",
        "links": ["https://www.linkedin.com/posts/emma-q3-numbers"],
        "occurred_at": (utcnow() - dt.timedelta(days=1)).isoformat(),
        "category": "confidential_information",
        "clauses": ["4.2"],
        "description": "Posted the unreleased Q3 revenue figures with a photo of the slide.",
        "severity": "medium",
    }
    body.update(overrides)
    return body


async def report(
    stack: StackHandle, reporter: Person, person: Person, **overrides: Any
) -> dict[str, Any]:
    response = await stack.as_user(reporter).post(
        "/api/v1/incidents", json=incident_body(person, **overrides)
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def days_ago(days: float) -> str:
    return (utcnow() - dt.timedelta(days=days)).isoformat()


def worker(stack: StackHandle) -> Worker:
    """The incidents app's retry worker; tests run it by hand (``run_due``)."""
    found: Worker = stack.stack.apps["incidents"].state.worker
    return found


async def etag_of(client: httpx.AsyncClient, incident_id: str) -> str:
    response = await client.get(f"/api/v1/incidents/{incident_id}")
    assert response.status_code == 200, response.text
    return response.headers["ETag"]


async def complete_in_coaching(stack: StackHandle, org: Org, engagement_id: str) -> None:
    """The remedial engagement runs its course in coaching: HR assigns the coach, who
    starts and completes it."""
    hr = stack.as_user(org.hr)
    coach = await hr.post(
        "/api/v1/coaching/coaches",
        json={"person_id": str(org.coach.id), "display_name": "Carla Coach", "capacity": 5},
    )
    if coach.status_code == 409:  # already a coach from an earlier engagement
        listed = await hr.get("/api/v1/coaching/coaches")
        coach_id = next(
            c["id"] for c in listed.json()["items"] if c["person_id"] == str(org.coach.id)
        )
    else:
        assert coach.status_code == 201, coach.text
        coach_id = coach.json()["id"]
    base = f"/api/v1/coaching/engagements/{engagement_id}"
    etag = (await hr.get(base)).headers["ETag"]
    assigned = await hr.put(
        f"{base}/coach", json={"coach_id": coach_id}, headers={"If-Match": etag}
    )
    assert assigned.status_code == 200, assigned.text
    as_coach = stack.as_user(org.coach)
    started = await as_coach.post(f"{base}/start", headers={"If-Match": assigned.headers["ETag"]})
    assert started.status_code == 200, started.text
    completed = await as_coach.post(
        f"{base}/complete",
        json={"outcome": "goals_met"},
        headers={"If-Match": started.headers["ETag"]},
    )
    assert completed.status_code == 200, completed.text
