"""The contracts incidents consumes: idempotent remedial creation and a person's history."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import httpx
import time_machine
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from coaching.db import outbox
from coaching.models import Engagement, IncidentMeasure
from tests.coaching.support import BASE, act, active_engagement, open_remedial
from tests.support.calls import calls_through_gateway
from tests.support.stack import StackHandle


def from_incident(coachee_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
    """A remedial engagement's body as the incidents service sends it."""
    return {
        "coachee_id": str(coachee_id),
        "track": "remedial",
        "source": "incident",
        "incident_id": str(uuid.uuid4()),
        "goals": "x",
        **fields,
    }


class TestRemedialFromIncident:
    async def test_incidents_opens_a_proposed_remedial_engagement(self, stack: StackHandle) -> None:
        coachee = await stack.person()
        incident_id = uuid.uuid4()

        response = await open_remedial(stack, coachee, incident_id=incident_id)

        assert response.status_code == 201, response.text
        body = response.json()
        assert body["coachee_id"] == str(coachee.id)
        assert body["incident_id"] == str(incident_id)
        assert (body["track"], body["source"], body["status"]) == (
            "remedial",
            "incident",
            "proposed",
        )
        assert response.headers["location"] == f"{BASE}/engagements/{body['id']}"

    async def test_a_second_create_for_the_incident_returns_the_first_with_200(
        self, stack: StackHandle
    ) -> None:
        coachee = await stack.person()
        incident_id = uuid.uuid4()
        first = await open_remedial(stack, coachee, incident_id=incident_id, key="attempt-1")

        again = await open_remedial(stack, coachee, incident_id=incident_id, key="attempt-2")

        assert first.status_code == 201
        assert again.status_code == 200
        assert again.json()["id"] == first.json()["id"]

    async def test_a_replay_with_the_same_key_returns_the_first_response(
        self, stack: StackHandle
    ) -> None:
        coachee = await stack.person()
        incident_id = uuid.uuid4()
        first = await open_remedial(stack, coachee, incident_id=incident_id)

        replay = await open_remedial(stack, coachee, incident_id=incident_id)

        assert replay.status_code == 201
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.json()["id"] == first.json()["id"]

    async def test_the_incident_cannot_be_reused_for_another_person(
        self, stack: StackHandle
    ) -> None:
        incident_id = uuid.uuid4()
        await open_remedial(stack, await stack.person(), incident_id=incident_id)

        response = await open_remedial(
            stack, await stack.person(), incident_id=incident_id, key="other"
        )

        assert response.status_code == 409
        assert response.json()["type"] == "urn:smp:problem:incident-already-linked"

    async def test_an_unknown_coachee_is_a_422(self, stack: StackHandle) -> None:
        response = await stack.as_service("incidents").post(
            f"{BASE}/engagements", json=from_incident(uuid.uuid4())
        )

        assert response.status_code == 422
        assert response.json()["type"] == "urn:smp:problem:person-not-found"

    async def test_the_incidents_service_s_record_spares_the_directory(
        self, stack: StackHandle
    ) -> None:
        coachee = await stack.person()

        with calls_through_gateway(stack) as calls:
            response = await stack.as_service("incidents").post(
                f"{BASE}/engagements",
                json=from_incident(coachee.id, directory_record={"active": True}),
            )

        assert response.status_code == 201, response.text
        assert response.json()["coachee_id"] == str(coachee.id)
        assert calls.person_lookups("coaching") == 0

    async def test_hr_cannot_vouch_for_a_coachee_the_directory_does_not_know(
        self, stack: StackHandle
    ) -> None:
        hr = stack.as_user(await stack.person(roles=["hr"]))

        response = await hr.post(
            f"{BASE}/engagements",
            json=from_incident(uuid.uuid4(), directory_record={"active": True}),
        )

        assert response.status_code == 422
        assert response.json()["type"] == "urn:smp:problem:person-not-found"

    async def test_an_incident_engagement_without_incident_id_is_a_422(
        self, stack: StackHandle
    ) -> None:
        coachee = await stack.person()

        response = await stack.as_service("incidents").post(
            f"{BASE}/engagements",
            json={
                "coachee_id": str(coachee.id),
                "track": "remedial",
                "source": "incident",
                "goals": "x",
            },
        )

        assert response.status_code == 422
        assert "incident_id" in response.json()["detail"]

    async def test_an_employee_cannot_open_one_from_an_incident(self, stack: StackHandle) -> None:
        employee = await stack.person()
        other = await stack.person()

        response = await stack.as_user(employee).post(
            f"{BASE}/engagements", json=from_incident(other.id)
        )

        assert response.status_code == 403


async def engagements_of(stack: StackHandle, incident_id: uuid.UUID) -> int:
    """How many engagements coaching holds for the incident."""
    async with stack.stack.database("coaching").transaction(write=False) as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Engagement)
            .where(col(Engagement.incident_id) == incident_id)
        )
    return count or 0


class TestConcurrentRemedialCreation:
    async def test_racing_creates_for_one_incident_make_one_engagement(
        self, committed_stack: StackHandle
    ) -> None:
        coachee = await committed_stack.person()
        incident_id = uuid.uuid4()

        responses = await asyncio.gather(
            *(
                open_remedial(committed_stack, coachee, incident_id=incident_id, key=f"k{i}")
                for i in range(10)
            )
        )

        # One creates it; every other racer gets it back (never a 500 from the refused row).
        assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
        assert {r.json()["id"] for r in responses if r.status_code in (200, 201)} == {
            responses[0].json()["id"]
        }
        assert await engagements_of(committed_stack, incident_id) == 1


class TestMeasuresWithTheRemedialEngagement:
    """A coaching decision's measures and its remedial engagement in one call (issue 16)."""

    @staticmethod
    async def put(
        stack: StackHandle, coachee_id: uuid.UUID, incident_id: uuid.UUID, **fields: Any
    ) -> httpx.Response:
        body = {"person_id": str(coachee_id), "suspends_ambassador": True, "status": "open"}
        return await stack.as_service("incidents").put(
            f"{BASE}/incidents/{incident_id}/measures",
            json={**body, "remedial": {"goals": "Go through clause 4.2."}, **fields},
        )

    async def test_the_engagement_opens_with_the_measures(self, stack: StackHandle) -> None:
        coachee, incident_id = await stack.person(), uuid.uuid4()

        response = await self.put(stack, coachee.id, incident_id)

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["ambassador_suspended"] is True
        engagement = (
            await stack.as_user(await stack.person(roles=["hr"])).get(
                f"{BASE}/engagements/{body['engagement_id']}"
            )
        ).json()
        assert (engagement["incident_id"], engagement["coachee_id"]) == (
            str(incident_id),
            str(coachee.id),
        )
        assert (engagement["track"], engagement["source"], engagement["status"]) == (
            "remedial",
            "incident",
            "proposed",
        )
        assert engagement["goals"] == "Go through clause 4.2."

    async def test_saying_it_again_keeps_the_one_engagement(self, stack: StackHandle) -> None:
        coachee, incident_id = await stack.person(), uuid.uuid4()
        first = await self.put(stack, coachee.id, incident_id)

        again = await self.put(stack, coachee.id, incident_id)

        assert again.status_code == 200
        assert again.json()["engagement_id"] == first.json()["engagement_id"]
        opened = await open_remedial(stack, coachee, incident_id=incident_id)
        assert (opened.status_code, opened.json()["id"]) == (200, first.json()["engagement_id"])

    async def test_an_unknown_directory_records_neither(self, stack: StackHandle) -> None:
        incident_id = uuid.uuid4()

        response = await self.put(stack, uuid.uuid4(), incident_id)

        assert response.status_code == 422
        assert response.json()["type"] == "urn:smp:problem:person-not-found"
        database = stack.stack.database("coaching")
        async with database.transaction(write=False) as session:
            assert await session.get(IncidentMeasure, incident_id) is None

    async def test_a_withdrawn_incident_opens_no_engagement(self, stack: StackHandle) -> None:
        coachee = await stack.person()

        response = await self.put(stack, coachee.id, uuid.uuid4(), status="withdrawn")

        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "#/remedial"

    async def test_the_incidents_service_s_record_spares_the_directory(
        self, stack: StackHandle
    ) -> None:
        coachee, incident_id = await stack.person(), uuid.uuid4()
        record = {"active": True, "department": "Sales"}

        with calls_through_gateway(stack) as calls:
            response = await self.put(stack, coachee.id, incident_id, directory_record=record)

        assert response.status_code == 200, response.text
        assert response.json()["engagement_id"] is not None
        assert calls.person_lookups("coaching") == 0
        opened = await open_remedial(stack, coachee, incident_id=incident_id)
        assert (opened.status_code, opened.json()["id"]) == (200, response.json()["engagement_id"])

    async def test_the_opened_engagement_is_announced_once(self, stack: StackHandle) -> None:
        coachee, incident_id = await stack.person(), uuid.uuid4()
        record = {"active": True, "department": "Sales"}
        first = await self.put(stack, coachee.id, incident_id, directory_record=record)

        await self.put(stack, coachee.id, incident_id, directory_record=record)

        table = outbox.table
        async with stack.stack.database("coaching").transaction(write=False) as session:
            announced = (
                await session.scalars(
                    sa_select(table.c.data).where(table.c.type == "coaching.engagement.opened")
                )
            ).all()
        assert [data for data in announced if data["incident_id"] == str(incident_id)] == [
            {
                "engagement_id": first.json()["engagement_id"],
                "coachee_id": str(coachee.id),
                "coach_person_id": None,
                "track": "remedial",
                "source": "incident",
                "status": "proposed",
                "incident_id": str(incident_id),
            }
        ]

    async def test_racing_calls_for_one_incident_open_one_engagement(
        self, committed_stack: StackHandle
    ) -> None:
        coachee, incident_id = await committed_stack.person(), uuid.uuid4()
        record = {"active": True, "department": "Sales"}

        responses = await asyncio.gather(
            *(
                self.put(committed_stack, coachee.id, incident_id, directory_record=record)
                for _ in range(10)
            )
        )

        assert [r.status_code for r in responses] == [200] * 10
        assert len({r.json()["engagement_id"] for r in responses}) == 1
        assert await engagements_of(committed_stack, incident_id) == 1

    async def test_an_incident_linked_to_another_person_records_neither(
        self, stack: StackHandle
    ) -> None:
        someone, coachee, incident_id = await stack.person(), await stack.person(), uuid.uuid4()
        assert (await open_remedial(stack, someone, incident_id=incident_id)).status_code == 201

        response = await self.put(stack, coachee.id, incident_id, directory_record={"active": True})

        assert response.status_code == 409
        assert response.json()["type"] == "urn:smp:problem:incident-already-linked"
        database = stack.stack.database("coaching")
        async with database.transaction(write=False) as session:
            assert await session.get(IncidentMeasure, incident_id) is None

    async def test_nobody_but_the_incidents_service_sends_measures_with_a_record(
        self, stack: StackHandle
    ) -> None:
        incident_id = uuid.uuid4()
        hr = stack.as_user(await stack.person(roles=["hr"]))

        response = await hr.put(
            f"{BASE}/incidents/{incident_id}/measures",
            json={
                "person_id": str(uuid.uuid4()),
                "suspends_ambassador": False,
                "status": "open",
                "remedial": {"goals": "x"},
                "directory_record": {"active": True},
            },
        )

        assert response.status_code == 403
        database = stack.stack.database("coaching")
        async with database.transaction(write=False) as session:
            assert await session.get(IncidentMeasure, incident_id) is None

    async def test_a_malformed_record_is_a_422_naming_the_field(self, stack: StackHandle) -> None:
        coachee = await stack.person()

        response = await self.put(
            stack, coachee.id, uuid.uuid4(), directory_record={"active": 1, "department": None}
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "#/directory_record/active"


class TestHistory:
    async def test_counts_completed_and_open_remedial_engagements(self, stack: StackHandle) -> None:
        coachee = await stack.person()
        coach_person, engagement = await active_engagement(stack, coachee)
        completed = await act(
            stack.as_user(coach_person), engagement, "complete", {"outcome": "goals_met"}
        )
        assert completed.status_code == 200, completed.text
        still_open = (await open_remedial(stack, coachee)).json()

        response = await stack.as_service("incidents").get(
            f"{BASE}/people/{coachee.id}/history", params={"window_days": 90}
        )

        assert response.status_code == 200
        body = response.json()
        assert body["person_id"] == str(coachee.id)
        assert body["window_days"] == 90
        assert body["remedial_completed_in_window"] == 1
        assert body["remedial_active"] == 1
        assert [e["id"] for e in body["engagements"]] == [still_open["id"], engagement["id"]]
        done = body["engagements"][1]
        assert done["status"] == "completed"
        assert done["outcome"] == "goals_met"
        assert done["started_at"] is not None
        assert done["completed_at"] is not None
        assert set(done) == {
            "id",
            "track",
            "status",
            "outcome",
            "started_at",
            "completed_at",
            "incident_id",
        }

    async def test_a_person_without_coaching_has_an_empty_history(self, stack: StackHandle) -> None:
        hr = stack.as_user(await stack.person(roles=["hr"]))

        response = await hr.get(f"{BASE}/people/{uuid.uuid4()}/history")

        assert response.status_code == 200
        body = response.json()
        assert body["engagements"] == []
        assert body["window_days"] == 365
        assert (body["remedial_completed_in_window"], body["remedial_active"]) == (0, 0)

    async def test_development_engagements_do_not_count_as_remedial(
        self, stack: StackHandle
    ) -> None:
        coachee = await stack.person()
        await stack.as_user(coachee).post(
            f"{BASE}/engagements",
            json={
                "coachee_id": str(coachee.id),
                "track": "development",
                "source": "self_nomination",
                "goals": "Post about our products with confidence.",
            },
        )

        body = (
            await stack.as_service("incidents").get(f"{BASE}/people/{coachee.id}/history")
        ).json()

        assert [e["track"] for e in body["engagements"]] == ["development"]
        assert body["remedial_active"] == 0

    async def test_the_person_themselves_may_not_read_it(self, stack: StackHandle) -> None:
        person = await stack.person()

        response = await stack.as_user(person).get(f"{BASE}/people/{person.id}/history")

        assert response.status_code == 403

    async def test_a_window_out_of_range_is_a_422_naming_the_parameter(
        self, stack: StackHandle
    ) -> None:
        response = await stack.as_service("incidents").get(
            f"{BASE}/people/{uuid.uuid4()}/history", params={"window_days": 0}
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["parameter"] == "window_days"


class TestRemedialCounts:
    """``/remedial-counts``: the history's counts for several windows in one answer, which
    is all deciding an incident asks of coaching (issue 16)."""

    async def test_the_counts_of_the_history_for_each_window_in_one_answer(
        self, stack: StackHandle
    ) -> None:
        coachee = await stack.person()
        coach_person, engagement = await active_engagement(stack, coachee)
        completed = await act(
            stack.as_user(coach_person), engagement, "complete", {"outcome": "goals_met"}
        )
        assert completed.status_code == 200, completed.text
        await open_remedial(stack, coachee)
        incidents = stack.as_service("incidents")

        response = await incidents.get(
            f"{BASE}/people/{coachee.id}/remedial-counts",
            params=[("window_days", 365), ("window_days", 30)],
        )

        assert response.status_code == 200, response.text
        assert response.json() == {
            "person_id": str(coachee.id),
            "remedial_active": 1,
            "windows": [
                {"window_days": 365, "remedial_completed": 1},
                {"window_days": 30, "remedial_completed": 1},
            ],
        }
        for window in (365, 30):
            history = (
                await incidents.get(
                    f"{BASE}/people/{coachee.id}/history", params={"window_days": window}
                )
            ).json()
            assert (history["remedial_completed_in_window"], history["remedial_active"]) == (1, 1)

    async def test_a_completion_before_the_window_counts_only_in_the_longer_one(
        self, stack: StackHandle
    ) -> None:
        coachee = await stack.person()
        with time_machine.travel(dt.datetime.now(dt.UTC) - dt.timedelta(days=100)):
            coach_person, engagement = await active_engagement(stack, coachee)
            done = await act(
                stack.as_user(coach_person), engagement, "complete", {"outcome": "goals_met"}
            )
            assert done.status_code == 200, done.text
        incidents = stack.as_service("incidents")

        counts = (
            await incidents.get(
                f"{BASE}/people/{coachee.id}/remedial-counts",
                params=[("window_days", 90), ("window_days", 365)],
            )
        ).json()
        history = (
            await incidents.get(f"{BASE}/people/{coachee.id}/history", params={"window_days": 90})
        ).json()

        assert counts["windows"] == [
            {"window_days": 90, "remedial_completed": 0},
            {"window_days": 365, "remedial_completed": 1},
        ]
        assert counts["remedial_active"] == 0
        assert history["remedial_completed_in_window"] == 0

    async def test_development_engagements_do_not_count(self, stack: StackHandle) -> None:
        coachee = await stack.person()
        await stack.as_user(coachee).post(
            f"{BASE}/engagements",
            json={
                "coachee_id": str(coachee.id),
                "track": "development",
                "source": "self_nomination",
                "goals": "Post about our products with confidence.",
            },
        )

        body = (
            await stack.as_service("incidents").get(
                f"{BASE}/people/{coachee.id}/remedial-counts", params={"window_days": 365}
            )
        ).json()

        assert body["remedial_active"] == 0
        assert body["windows"] == [{"window_days": 365, "remedial_completed": 0}]

    async def test_the_person_themselves_may_not_read_them(self, stack: StackHandle) -> None:
        person = await stack.person()

        response = await stack.as_user(person).get(
            f"{BASE}/people/{person.id}/remedial-counts", params={"window_days": 365}
        )

        assert response.status_code == 403

    async def test_no_window_or_one_out_of_range_is_a_422_naming_the_parameter(
        self, stack: StackHandle
    ) -> None:
        incidents = stack.as_service("incidents")
        path = f"{BASE}/people/{uuid.uuid4()}/remedial-counts"
        cases: list[list[tuple[str, str | int | float | bool | None]]] = [
            [],
            [("window_days", 0)],
            [("window_days", 30), ("window_days", 99999)],
        ]
        for params in cases:
            response = await incidents.get(path, params=params)

            assert response.status_code == 422, (params, response.text)
            assert response.json()["errors"][0]["parameter"] == "window_days"
