"""Engagements: who opens them, coach assignment within capacity, the legal transitions, and
who sees which engagement."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.models import Person
from tests.coaching.support import (
    BASE,
    act,
    active_engagement,
    assign,
    make_coach,
    open_remedial,
)
from tests.support.stack import StackHandle


def nomination(person: Person, **overrides: Any) -> dict[str, Any]:
    return {
        "coachee_id": str(person.id),
        "track": "development",
        "source": "self_nomination",
        "goals": "Share our product launches on LinkedIn without overstepping.",
        **overrides,
    }


async def create(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post(f"{BASE}/engagements", json=body)


class TestCreateEngagement:
    async def test_an_employee_nominates_themselves(self, stack: StackHandle) -> None:
        employee = await stack.person()

        response = await create(stack.as_user(employee), nomination(employee))

        assert response.status_code == 201, response.text
        assert response.json()["status"] == "proposed"
        assert response.headers["etag"] == '"1"'

    async def test_nobody_nominates_someone_else(self, stack: StackHandle) -> None:
        employee = await stack.person()
        colleague = await stack.person()

        response = await create(stack.as_user(employee), nomination(colleague))

        assert response.status_code == 403

    async def test_a_self_nomination_for_remedial_coaching_is_a_422(
        self, stack: StackHandle
    ) -> None:
        employee = await stack.person()

        response = await create(stack.as_user(employee), nomination(employee, track="remedial"))

        assert response.status_code == 422
        assert "development or ambassador" in response.json()["detail"]

    async def test_a_manager_refers_a_direct_report(self, stack: StackHandle) -> None:
        manager = await stack.person()
        report = await stack.person(manager=manager)

        response = await create(
            stack.as_user(manager), nomination(report, source="manager_referral")
        )

        assert response.status_code == 201, response.text
        assert response.json()["source"] == "manager_referral"

    async def test_a_manager_cannot_refer_someone_elses_report(self, stack: StackHandle) -> None:
        manager = await stack.person()
        await stack.person(manager=manager)
        other = await stack.person(manager=await stack.person())

        response = await create(
            stack.as_user(manager), nomination(other, source="manager_referral")
        )

        assert response.status_code == 403

    async def test_a_coach_opens_one_from_a_training_signal_and_takes_it_on(
        self, stack: StackHandle
    ) -> None:
        coach_person, coach = await make_coach(stack)
        coachee = await stack.person()

        response = await create(
            stack.as_user(coach_person),
            nomination(coachee, source="training_signal", coach_id=coach["id"]),
        )

        assert response.status_code == 201, response.text
        assert response.json()["coach_id"] == coach["id"]

    async def test_an_employee_cannot_open_one_from_a_training_signal(
        self, stack: StackHandle
    ) -> None:
        employee = await stack.person()

        response = await create(
            stack.as_user(employee), nomination(employee, source="training_signal")
        )

        assert response.status_code == 403

    async def test_an_incident_id_on_another_source_is_a_422(self, stack: StackHandle) -> None:
        employee = await stack.person()

        response = await create(
            stack.as_user(employee),
            nomination(employee, incident_id="6d1f7a2e-3c55-4f7e-9a51-6c0d2b9e8a10"),
        )

        assert response.status_code == 422


class TestAssignCoach:
    async def test_hr_assigns_a_coach(self, stack: StackHandle) -> None:
        hr = stack.as_user(await stack.person(roles=["hr"]))
        _, coach = await make_coach(stack)
        engagement = (await open_remedial(stack, await stack.person())).json()

        response = await assign(hr, engagement, coach["id"])

        assert response.status_code == 200, response.text
        assert response.json()["coach_id"] == coach["id"]
        assert response.headers["etag"] == '"2"'

    async def test_a_coach_takes_on_a_waiting_engagement(self, stack: StackHandle) -> None:
        coach_person, coach = await make_coach(stack)
        engagement = (await open_remedial(stack, await stack.person())).json()

        response = await assign(stack.as_user(coach_person), engagement, coach["id"])

        assert response.status_code == 200

    async def test_a_coach_cannot_assign_another_coach(self, stack: StackHandle) -> None:
        coach_person, _ = await make_coach(stack)
        _, other = await make_coach(stack)
        engagement = (await open_remedial(stack, await stack.person())).json()

        response = await assign(stack.as_user(coach_person), engagement, other["id"])

        assert response.status_code == 403

    async def test_a_full_coach_is_refused_with_409(self, stack: StackHandle) -> None:
        hr = stack.as_user(await stack.person(roles=["hr"]))
        _, coach = await make_coach(stack, capacity=1)
        first = (await open_remedial(stack, await stack.person())).json()
        await assign(hr, first, coach["id"])
        second = (await open_remedial(stack, await stack.person())).json()

        response = await assign(hr, second, coach["id"])

        assert response.status_code == 409
        assert response.json()["type"] == "urn:smp:problem:coach-at-capacity"
        assert (await hr.get(f"{BASE}/engagements/{second['id']}")).json()["coach_id"] is None

    async def test_completing_an_engagement_frees_the_slot(self, stack: StackHandle) -> None:
        hr = stack.as_user(await stack.person(roles=["hr"]))
        coach_person, engagement = await active_engagement(stack, await stack.person(), capacity=1)
        await act(stack.as_user(coach_person), engagement, "complete", {"outcome": "goals_met"})
        waiting = (await open_remedial(stack, await stack.person())).json()

        response = await assign(hr, waiting, engagement["coach_id"])

        assert response.status_code == 200

    async def test_without_if_match_is_a_428(self, stack: StackHandle) -> None:
        hr = stack.as_user(await stack.person(roles=["hr"]))
        _, coach = await make_coach(stack)
        engagement = (await open_remedial(stack, await stack.person())).json()

        response = await hr.put(
            f"{BASE}/engagements/{engagement['id']}/coach", json={"coach_id": coach["id"]}
        )

        assert response.status_code == 428

    async def test_a_stale_if_match_is_a_412(self, stack: StackHandle) -> None:
        hr = stack.as_user(await stack.person(roles=["hr"]))
        _, coach = await make_coach(stack)
        _, other = await make_coach(stack)
        engagement = (await open_remedial(stack, await stack.person())).json()
        await assign(hr, engagement, coach["id"])

        response = await assign(hr, engagement, other["id"])

        assert response.status_code == 412


class TestCoachCapacityListing:
    async def test_available_lists_only_coaches_with_a_free_slot(self, stack: StackHandle) -> None:
        hr = stack.as_user(await stack.person(roles=["hr"]))
        _, full = await make_coach(stack, capacity=1)
        _, free = await make_coach(stack, capacity=2)
        for coach in (full, free):
            engagement = (await open_remedial(stack, await stack.person())).json()
            await assign(hr, engagement, coach["id"])

        listed = (await hr.get(f"{BASE}/coaches", params={"available": "true"})).json()
        everyone = (await hr.get(f"{BASE}/coaches")).json()

        assert free["id"] in [c["id"] for c in listed["items"]]
        assert full["id"] not in [c["id"] for c in listed["items"]]
        loads = {c["id"]: (c["open_engagements"], c["available_slots"]) for c in everyone["items"]}
        assert loads[full["id"]] == (1, 0)
        assert loads[free["id"]] == (1, 1)


class TestTransitions:
    async def test_the_coach_starts_an_assigned_engagement(self, stack: StackHandle) -> None:
        _, engagement = await active_engagement(stack, await stack.person())

        assert engagement["status"] == "active"
        assert engagement["started_at"] is not None

    async def test_starting_without_a_coach_is_a_409(self, stack: StackHandle) -> None:
        hr = stack.as_user(await stack.person(roles=["hr"]))
        engagement = (await open_remedial(stack, await stack.person())).json()

        response = await act(hr, engagement, "start")

        assert response.status_code == 409
        assert "Assign a coach" in response.json()["detail"]

    async def test_the_coach_completes_with_an_outcome(self, stack: StackHandle) -> None:
        coach_person, engagement = await active_engagement(stack, await stack.person())

        response = await act(
            stack.as_user(coach_person),
            engagement,
            "complete",
            {"outcome": "partially_met", "summary": "Knows the rules; practise more."},
        )

        assert response.status_code == 200
        body = response.json()
        assert (body["status"], body["outcome"]) == ("completed", "partially_met")
        assert body["completed_at"] is not None

    async def test_completing_needs_an_outcome(self, stack: StackHandle) -> None:
        coach_person, engagement = await active_engagement(stack, await stack.person())

        response = await act(stack.as_user(coach_person), engagement, "complete", {})

        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "#/outcome"

    async def test_a_proposed_engagement_cannot_be_completed(self, stack: StackHandle) -> None:
        hr = stack.as_user(await stack.person(roles=["hr"]))
        coach_person, coach = await make_coach(stack)
        engagement = (await open_remedial(stack, await stack.person())).json()
        engagement = (await assign(hr, engagement, coach["id"])).json()

        response = await act(
            stack.as_user(coach_person), engagement, "complete", {"outcome": "goals_met"}
        )

        assert response.status_code == 409
        assert response.json()["type"] == "urn:smp:problem:illegal-transition"

    async def test_a_completed_engagement_cannot_be_cancelled(self, stack: StackHandle) -> None:
        coach_person, engagement = await active_engagement(stack, await stack.person())
        coach = stack.as_user(coach_person)
        done = (await act(coach, engagement, "complete", {"outcome": "goals_met"})).json()

        response = await act(coach, done, "cancel", {"reason": "changed my mind"})

        assert response.status_code == 409
        assert "completed" in response.json()["detail"]

    async def test_an_active_engagement_cannot_be_started_again(self, stack: StackHandle) -> None:
        coach_person, engagement = await active_engagement(stack, await stack.person())

        response = await act(stack.as_user(coach_person), engagement, "start")

        assert response.status_code == 409

    async def test_hr_cancels_an_active_engagement(self, stack: StackHandle) -> None:
        hr = stack.as_user(await stack.person(roles=["hr"]))
        _, engagement = await active_engagement(stack, await stack.person())

        response = await act(hr, engagement, "cancel", {"reason": "Incident dismissed."})

        assert response.status_code == 200
        assert response.json()["status"] == "cancelled"
        assert response.json()["cancelled_at"] is not None

    async def test_a_coachee_withdraws_their_own_self_nomination(self, stack: StackHandle) -> None:
        employee = await stack.person()
        client = stack.as_user(employee)
        engagement = (await create(client, nomination(employee))).json()

        response = await act(client, engagement, "cancel", {"reason": "No time this quarter."})

        assert response.status_code == 200
        assert response.json()["status"] == "cancelled"

    async def test_a_coachee_cannot_cancel_remedial_coaching(self, stack: StackHandle) -> None:
        coachee = await stack.person()
        engagement = (await open_remedial(stack, coachee)).json()

        response = await act(stack.as_user(coachee), engagement, "cancel", {"reason": "no"})

        assert response.status_code == 403

    async def test_the_coachee_cannot_complete_their_engagement(self, stack: StackHandle) -> None:
        coachee = await stack.person()
        _, engagement = await active_engagement(stack, coachee)

        response = await act(
            stack.as_user(coachee), engagement, "complete", {"outcome": "goals_met"}
        )

        assert response.status_code == 403


class TestWhoSeesWhat:
    async def test_a_stranger_gets_404(self, stack: StackHandle) -> None:
        engagement = (await open_remedial(stack, await stack.person())).json()

        response = await stack.as_user(await stack.person()).get(
            f"{BASE}/engagements/{engagement['id']}"
        )

        assert response.status_code == 404

    async def test_the_coachees_manager_sees_it_but_may_not_act(self, stack: StackHandle) -> None:
        manager = await stack.person()
        coachee = await stack.person(manager=manager)
        _, engagement = await active_engagement(stack, coachee)
        client = stack.as_user(manager)

        seen = await client.get(f"{BASE}/engagements/{engagement['id']}")
        cancel = await act(client, engagement, "cancel", {"reason": "no"})

        assert seen.status_code == 200
        assert cancel.status_code == 403

    async def test_a_coach_lists_only_their_engagements(self, stack: StackHandle) -> None:
        coach_person, mine = await active_engagement(stack, await stack.person())
        await active_engagement(stack, await stack.person())

        listed = (await stack.as_user(coach_person).get(f"{BASE}/engagements")).json()

        assert [e["id"] for e in listed["items"]] == [mine["id"]]

    async def test_an_employee_lists_only_their_own(self, stack: StackHandle) -> None:
        employee = await stack.person()
        client = stack.as_user(employee)
        own = (await create(client, nomination(employee))).json()
        await open_remedial(stack, await stack.person())

        listed = (await client.get(f"{BASE}/engagements")).json()

        assert [e["id"] for e in listed["items"]] == [own["id"]]

    async def test_a_manager_lists_a_direct_reports_engagements(self, stack: StackHandle) -> None:
        manager = await stack.person()
        report = await stack.person(manager=manager)
        engagement = (await open_remedial(stack, report)).json()

        listed = (
            await stack.as_user(manager).get(
                f"{BASE}/engagements", params={"coachee_id": str(report.id)}
            )
        ).json()

        assert [e["id"] for e in listed["items"]] == [engagement["id"]]

    async def test_hr_lists_everyone_filtered_and_paged(self, stack: StackHandle) -> None:
        hr = stack.as_user(await stack.person(roles=["hr"]))
        ids = [(await open_remedial(stack, await stack.person())).json()["id"] for _ in range(3)]

        first = (
            await hr.get(f"{BASE}/engagements", params={"track": "remedial", "limit": 2})
        ).json()
        second = (
            await hr.get(
                f"{BASE}/engagements",
                params={"track": "remedial", "limit": 2, "cursor": first["next_cursor"]},
            )
        ).json()

        listed = [e["id"] for e in first["items"] + second["items"]]
        assert listed[:3] == list(reversed(ids))
        assert second["next_cursor"] is None
