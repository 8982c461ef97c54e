"""Sessions, and the confidentiality of their notes on every route that returns engagements
or sessions: only the coach and the coachee ever receive a note."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from gateway.models import Person
from tests.coaching.support import BASE, act, active_engagement, assign, make_coach, open_remedial
from tests.support.stack import StackHandle

NOTE = "Confidential: talked about the customer screenshot he posted on X."


def schedule_body(days: int = 2) -> dict[str, Any]:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    return {"scheduled_at": when.isoformat(), "duration_minutes": 45}


async def patch(
    client: httpx.AsyncClient, session: dict[str, Any], body: dict[str, Any]
) -> httpx.Response:
    return await client.patch(
        f"{BASE}/engagements/{session['engagement_id']}/sessions/{session['id']}",
        json=body,
        headers={"If-Match": f'"{session["version"]}"'},
    )


@dataclass
class Coaching:
    coach: Person
    coachee: Person
    manager: Person
    engagement: dict[str, Any]
    session: dict[str, Any]


@pytest.fixture
async def held_session(stack: StackHandle) -> Coaching:
    """An active remedial engagement with one held session that has a confidential note."""
    manager = await stack.person()
    coachee = await stack.person(manager=manager)
    coach, engagement = await active_engagement(stack, coachee)
    client = stack.as_user(coach)
    scheduled = await client.post(
        f"{BASE}/engagements/{engagement['id']}/sessions", json=schedule_body()
    )
    assert scheduled.status_code == 201, scheduled.text
    held = await patch(client, scheduled.json(), {"status": "held", "notes": NOTE})
    assert held.status_code == 200, held.text
    return Coaching(coach, coachee, manager, engagement, held.json())


class TestScheduleSession:
    async def test_the_coach_schedules_a_session(self, held_session: Coaching) -> None:
        assert held_session.session["status"] == "held"
        assert held_session.session["notes"] == NOTE

    async def test_a_proposed_engagement_gets_no_sessions(self, stack: StackHandle) -> None:
        coach_person, coach = await make_coach(stack)
        client = stack.as_user(coach_person)
        engagement = (await open_remedial(stack, await stack.person())).json()
        await assign(client, engagement, coach["id"])

        response = await client.post(
            f"{BASE}/engagements/{engagement['id']}/sessions", json=schedule_body()
        )

        assert response.status_code == 409
        assert "active engagements" in response.json()["detail"]

    async def test_the_coachee_cannot_schedule(
        self, stack: StackHandle, held_session: Coaching
    ) -> None:
        response = await stack.as_user(held_session.coachee).post(
            f"{BASE}/engagements/{held_session.engagement['id']}/sessions", json=schedule_body()
        )

        assert response.status_code == 403

    async def test_a_naive_time_is_a_422(self, stack: StackHandle, held_session: Coaching) -> None:
        response = await stack.as_user(held_session.coach).post(
            f"{BASE}/engagements/{held_session.engagement['id']}/sessions",
            json={"scheduled_at": "2030-01-01T10:00:00"},
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "#/scheduled_at"

    async def test_a_completed_engagement_gets_no_new_sessions(
        self, stack: StackHandle, held_session: Coaching
    ) -> None:
        client = stack.as_user(held_session.coach)
        engagement = (
            await client.get(f"{BASE}/engagements/{held_session.engagement['id']}")
        ).json()
        await act(client, engagement, "complete", {"outcome": "goals_met"})

        response = await client.post(
            f"{BASE}/engagements/{engagement['id']}/sessions", json=schedule_body()
        )

        assert response.status_code == 409


class TestSessionStatus:
    async def test_a_held_session_cannot_become_missed(
        self, stack: StackHandle, held_session: Coaching
    ) -> None:
        response = await patch(
            stack.as_user(held_session.coach), held_session.session, {"status": "missed"}
        )

        assert response.status_code == 409
        assert response.json()["type"] == "urn:smp:problem:illegal-transition"

    @pytest.mark.parametrize("status", ["missed", "cancelled"])
    async def test_a_scheduled_session_is_marked(
        self, stack: StackHandle, held_session: Coaching, status: str
    ) -> None:
        client = stack.as_user(held_session.coach)
        scheduled = (
            await client.post(
                f"{BASE}/engagements/{held_session.engagement['id']}/sessions",
                json=schedule_body(days=9),
            )
        ).json()

        response = await patch(client, scheduled, {"status": status})

        assert response.status_code == 200
        assert response.json()["status"] == status

    async def test_a_stale_if_match_is_a_412(
        self, stack: StackHandle, held_session: Coaching
    ) -> None:
        stale = {**held_session.session, "version": 1}

        response = await patch(stack.as_user(held_session.coach), stale, {"notes": "overwrite"})

        assert response.status_code == 412

    async def test_the_coachee_cannot_edit_notes(
        self, stack: StackHandle, held_session: Coaching
    ) -> None:
        response = await patch(
            stack.as_user(held_session.coachee), held_session.session, {"notes": "mine"}
        )

        assert response.status_code == 403

    async def test_sessions_are_listed_in_date_order(
        self, stack: StackHandle, held_session: Coaching
    ) -> None:
        client = stack.as_user(held_session.coach)
        later = await client.post(
            f"{BASE}/engagements/{held_session.engagement['id']}/sessions",
            json=schedule_body(days=30),
        )

        listed = (
            await client.get(f"{BASE}/engagements/{held_session.engagement['id']}/sessions")
        ).json()

        assert [s["id"] for s in listed["items"]] == [
            held_session.session["id"],
            later.json()["id"],
        ]


def read_routes(c: Coaching) -> list[str]:
    """Every route that returns this engagement or its sessions."""
    engagement = f"{BASE}/engagements/{c.engagement['id']}"
    return [
        f"{BASE}/engagements?coachee_id={c.coachee.id}",
        engagement,
        f"{engagement}/sessions",
        f"{engagement}/sessions/{c.session['id']}",
    ]


class TestNotesConfidentiality:
    async def test_the_coach_and_the_coachee_read_the_notes(
        self, stack: StackHandle, held_session: Coaching
    ) -> None:
        for person in (held_session.coach, held_session.coachee):
            client = stack.as_user(person)
            engagement = f"{BASE}/engagements/{held_session.engagement['id']}"
            one = (await client.get(f"{engagement}/sessions/{held_session.session['id']}")).json()
            listed = (await client.get(f"{engagement}/sessions")).json()

            assert one["notes"] == NOTE
            assert listed["items"][0]["notes"] == NOTE

    @pytest.mark.parametrize("reader", ["hr", "manager"])
    async def test_hr_and_the_manager_never_receive_notes(
        self, stack: StackHandle, held_session: Coaching, reader: str
    ) -> None:
        person = held_session.manager if reader == "manager" else await stack.person(roles=["hr"])
        client = stack.as_user(person)

        for route in read_routes(held_session):
            response = await client.get(route)

            assert response.status_code == 200, (route, response.text)
            assert NOTE not in response.text, route
        one = await client.get(read_routes(held_session)[-1])
        assert one.json()["notes"] is None

    async def test_the_incidents_service_never_receives_notes(
        self, stack: StackHandle, held_session: Coaching
    ) -> None:
        client = stack.as_service("incidents")
        routes = [
            *read_routes(held_session),
            f"{BASE}/people/{held_session.coachee.id}/history",
        ]

        for route in routes:
            response = await client.get(route)

            assert response.status_code == 200, (route, response.text)
            assert NOTE not in response.text, route

    async def test_engagement_changes_never_carry_notes(
        self, stack: StackHandle, held_session: Coaching
    ) -> None:
        hr = stack.as_user(await stack.person(roles=["hr"]))
        engagement = (await hr.get(f"{BASE}/engagements/{held_session.engagement['id']}")).json()

        response = await act(hr, engagement, "cancel", {"reason": "Moved to another team."})

        assert response.status_code == 200
        assert NOTE not in response.text

    async def test_the_coach_of_another_engagement_does_not_see_it(
        self, stack: StackHandle, held_session: Coaching
    ) -> None:
        other_coach, _ = await active_engagement(stack, await stack.person())

        response = await stack.as_user(other_coach).get(read_routes(held_session)[-1])

        assert response.status_code == 404
