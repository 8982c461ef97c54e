"""The ambassador program: eligibility asked of the real training app, applications decided
by policy owners, suspension while remedial coaching is open, and training being down."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.models import Person
from tests.coaching.support import BASE, act, active_engagement, open_remedial, pass_core_training
from tests.support.stack import StackHandle

PROGRAM = f"{BASE}/ambassadors"
MOTIVATION = "I post about our work every week and want to help colleagues do it well."


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


class TestEligibility:
    async def test_someone_who_passed_the_training_is_eligible(self, stack: StackHandle) -> None:
        person = await stack.person()
        await pass_core_training(stack, person)

        response = await stack.as_user(person).get(f"{PROGRAM}/eligibility")

        assert response.status_code == 200
        assert response.json() == {"person_id": str(person.id), "eligible": True, "reasons": []}

    async def test_without_the_training_the_answer_says_why(self, stack: StackHandle) -> None:
        person = await stack.person()

        body = (await stack.as_user(person).get(f"{PROGRAM}/eligibility")).json()

        assert body["eligible"] is False
        assert [r["code"] for r in body["reasons"]] == ["training_not_completed"]
        assert "training" in body["reasons"][0]["detail"]

    async def test_an_open_remedial_engagement_makes_one_ineligible(
        self, stack: StackHandle
    ) -> None:
        person = await stack.person()
        await pass_core_training(stack, person)
        await open_remedial(stack, person)

        body = (await stack.as_user(person).get(f"{PROGRAM}/eligibility")).json()

        assert body["eligible"] is False
        assert [r["code"] for r in body["reasons"]] == ["open_remedial_engagement"]

    async def test_an_employee_may_not_ask_about_someone_else(self, stack: StackHandle) -> None:
        other = await stack.person()

        response = await stack.as_user(await stack.person()).get(
            f"{PROGRAM}/eligibility", params={"person_id": str(other.id)}
        )

        assert response.status_code == 403

    async def test_a_policy_owner_asks_about_anyone(self, stack: StackHandle) -> None:
        owner = stack.as_user(await stack.person(roles=["policy_owner"]))
        person = await stack.person()

        response = await owner.get(f"{PROGRAM}/eligibility", params={"person_id": str(person.id)})

        assert response.status_code == 200
        assert response.json()["person_id"] == str(person.id)

    async def test_training_down_is_a_503_never_a_guess(self, stack: StackHandle) -> None:
        person = await stack.person()
        await pass_core_training(stack, person)

        with stack.upstream_down("training"):
            response = await stack.as_user(person).get(f"{PROGRAM}/eligibility")

        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["unavailable_source"] == "training"
        assert "training" in body["detail"]
        assert response.headers["retry-after"]


class TestApply:
    async def test_an_eligible_employee_applies(self, stack: StackHandle) -> None:
        person = await stack.person()
        await pass_core_training(stack, person)

        response = await apply(stack, person)

        assert response.status_code == 201, response.text
        assert (response.json()["status"], response.json()["person_id"]) == (
            "pending",
            str(person.id),
        )

    async def test_an_ineligible_employee_is_told_why(self, stack: StackHandle) -> None:
        person = await stack.person()

        response = await apply(stack, person)

        assert response.status_code == 422
        body = response.json()
        assert body["type"] == "urn:smp:problem:not-eligible"
        assert "training" in body["detail"]
        assert [r["code"] for r in body["reasons"]] == ["training_not_completed"]

    async def test_a_second_application_is_refused(self, stack: StackHandle) -> None:
        person = await stack.person()
        await pass_core_training(stack, person)
        await apply(stack, person)

        response = await apply(stack, person)

        assert response.status_code == 422
        assert [r["code"] for r in response.json()["reasons"]] == ["already_applied"]

    async def test_a_short_motivation_is_a_422_naming_the_field(self, stack: StackHandle) -> None:
        response = await stack.as_user(await stack.person()).post(
            f"{PROGRAM}/applications", json={"motivation": "pls"}
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "#/motivation"

    async def test_training_down_writes_nothing(self, stack: StackHandle) -> None:
        person = await stack.person()
        await pass_core_training(stack, person)

        with stack.upstream_down("training"):
            response = await apply(stack, person)
        mine = (await stack.as_user(person).get(f"{PROGRAM}/applications")).json()

        assert response.status_code == 503
        assert mine["items"] == []


class TestDecide:
    async def test_a_policy_owner_approves_and_the_applicant_becomes_an_ambassador(
        self, stack: StackHandle
    ) -> None:
        person, _ = await ambassador(stack)

        listed = (await stack.as_user(await stack.person()).get(PROGRAM)).json()

        assert [(a["person_id"], a["status"]) for a in listed["items"]] == [
            (str(person.id), "active")
        ]

    async def test_a_policy_owner_rejects_with_a_reason_the_applicant_sees(
        self, stack: StackHandle
    ) -> None:
        person = await stack.person()
        await pass_core_training(stack, person)
        application = (await apply(stack, person)).json()
        owner = stack.as_user(await stack.person(roles=["policy_owner"]))

        await decide(owner, application, "reject", "We are full this quarter; apply in June.")
        seen = await stack.as_user(person).get(f"{PROGRAM}/applications/{application['id']}")

        assert seen.json()["status"] == "rejected"
        assert seen.json()["decision_reason"] == "We are full this quarter; apply in June."

    async def test_hr_may_not_decide(self, stack: StackHandle) -> None:
        person = await stack.person()
        await pass_core_training(stack, person)
        application = (await apply(stack, person)).json()
        hr = stack.as_user(await stack.person(roles=["hr"]))

        response = await decide(hr, application, "approve")

        assert response.status_code == 403

    async def test_a_decided_application_cannot_be_decided_again(self, stack: StackHandle) -> None:
        person = await stack.person()
        await pass_core_training(stack, person)
        application = (await apply(stack, person)).json()
        owner = stack.as_user(await stack.person(roles=["policy_owner"]))
        rejected = (await decide(owner, application, "reject", "Not now.")).json()

        response = await decide(owner, rejected, "approve")

        assert response.status_code == 409

    async def test_deciding_without_if_match_is_a_428(self, stack: StackHandle) -> None:
        person = await stack.person()
        await pass_core_training(stack, person)
        application = (await apply(stack, person)).json()
        owner = stack.as_user(await stack.person(roles=["policy_owner"]))

        response = await owner.post(f"{PROGRAM}/applications/{application['id']}/approve", json={})

        assert response.status_code == 428

    async def test_someone_elses_application_is_a_404(self, stack: StackHandle) -> None:
        person = await stack.person()
        await pass_core_training(stack, person)
        application = (await apply(stack, person)).json()

        response = await stack.as_user(await stack.person()).get(
            f"{PROGRAM}/applications/{application['id']}"
        )

        assert response.status_code == 404

    async def test_policy_owners_list_pending_applications(self, stack: StackHandle) -> None:
        person = await stack.person()
        await pass_core_training(stack, person)
        application = (await apply(stack, person)).json()
        owner = stack.as_user(await stack.person(roles=["policy_owner"]))

        listed = (await owner.get(f"{PROGRAM}/applications", params={"status": "pending"})).json()

        assert [a["id"] for a in listed["items"]] == [application["id"]]


class TestSuspension:
    async def test_an_open_remedial_engagement_suspends_and_completing_it_reinstates(
        self, stack: StackHandle
    ) -> None:
        person, owner = await ambassador(stack)
        coach, engagement = await active_engagement(stack, person)
        employee = stack.as_user(await stack.person())

        while_open = (await owner.get(PROGRAM)).json()["items"]
        public_while_open = (await employee.get(PROGRAM)).json()["items"]
        await act(stack.as_user(coach), engagement, "complete", {"outcome": "goals_met"})
        after = (await employee.get(PROGRAM)).json()["items"]

        assert [(a["person_id"], a["status"]) for a in while_open] == [
            (str(person.id), "suspended")
        ]
        assert public_while_open == []
        assert [(a["person_id"], a["status"]) for a in after] == [(str(person.id), "active")]
