"""Fixtures for the incidents tests: a small organisation, the default policy, and helpers
to report incidents and to run the retry worker the way its background loop would."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from gateway.models import Group, GroupMember, Person
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


async def as_hr(stack: StackHandle, org: Org, incident_id: str) -> dict[str, Any]:
    """The incident as HR reads it (the decision, the timeline, the status)."""
    response = await stack.as_user(org.hr).get(f"/api/v1/incidents/{incident_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


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


async def add_to_group(stack: StackHandle, group_name: str, *people: Person) -> None:
    """Make ``people`` members of the directory group ``group_name`` (as SCIM would)."""
    async with stack.stack.database("gateway").transaction() as session:
        group = await session.scalar(select(Group).where(col(Group.display_name) == group_name))
        if group is None:
            group = Group(display_name=group_name)
            session.add(group)
            await session.flush()
        session.add_all(GroupMember(group_id=group.id, person_id=p.id) for p in people)


async def deactivate(stack: StackHandle, person: Person) -> None:
    """The identity provider deactivates ``person`` (they stay in the directory)."""
    async with stack.stack.database("gateway").transaction() as session:
        stored = await session.get(Person, person.id)
        assert stored is not None
        stored.active = False
        session.add(stored)


async def publish_rules(stack: StackHandle, org: Org, change: Callable[[list[Any]], None]) -> None:
    """HR publishes a new version of the escalation policy: the published rules, with
    ``change`` applied to them."""
    hr = stack.as_user(org.hr)
    draft = await hr.post("/api/v1/incidents/escalation-policies", json={})
    assert draft.status_code == 201, draft.text
    rules = draft.json()["rules"]
    change(rules)
    updated = await hr.put(
        f"/api/v1/incidents/escalation-policies/{draft.json()['id']}",
        json={"notes": "Changed by a test.", "rules": rules},
        headers={"If-Match": draft.headers["ETag"]},
    )
    assert updated.status_code == 200, updated.text
    etag = await sign_off(stack, org, draft.json()["id"], etag=updated.headers["ETag"])
    published = await hr.post(
        f"/api/v1/incidents/escalation-policies/{draft.json()['id']}/publish",
        headers={"If-Match": etag},
    )
    assert published.status_code == 200, published.text


async def sign_off(stack: StackHandle, org: Org, policy_id: str, *, etag: str) -> str:
    """HR submits the draft; another HR person (not its drafter) and legal approve it.
    Returns the draft's ETag after the submission."""
    policy_url = f"/api/v1/incidents/escalation-policies/{policy_id}"
    submitted = await stack.as_user(org.hr).post(f"{policy_url}/submit", headers={"If-Match": etag})
    assert submitted.status_code == 200, submitted.text
    second_hr = await stack.person(department="People", roles=["hr"])
    for approver in (second_hr, org.legal):
        approved = await stack.as_user(approver).post(
            f"{policy_url}/approve", json={"comment": "Agreed."}
        )
        assert approved.status_code == 200, approved.text
    return str(submitted.headers["ETag"])


class _DirectoryRouteDown(httpx.AsyncBaseTransport):
    """Incidents' transport to the gateway, failing every call to one directory route the
    way an unreachable gateway does."""

    def __init__(self, inner: httpx.AsyncBaseTransport, path: str) -> None:
        self.inner = inner
        self.path = path

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == self.path:
            raise httpx.ConnectError("connection refused (the test cut the directory off)")
        return await self.inner.handle_async_request(request)


@contextlib.contextmanager
def _directory_route_down(stack: StackHandle, path: str) -> Iterator[None]:
    client: httpx.AsyncClient = stack.stack.apps["incidents"].state.gateway
    original = client._transport
    client._transport = _DirectoryRouteDown(original, path)
    try:
        yield
    finally:
        client._transport = original


def directory_listing_down(stack: StackHandle) -> contextlib.AbstractContextManager[None]:
    """Within the block incidents can still look a person up, but cannot list who holds a
    role or who is in a group: the directory goes away while an incident is being decided."""
    return _directory_route_down(stack, "/api/v1/directory/people")


def directory_lookup_down(stack: StackHandle) -> contextlib.AbstractContextManager[None]:
    """Within the block incidents cannot look many people up at once (a replay's
    departments)."""
    return _directory_route_down(stack, "/api/v1/directory/lookup")
