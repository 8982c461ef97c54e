"""The ambassador program: eligibility asked of the real training app, applications decided
by policy owners, suspension while a decision that suspends is in force, and training being
down."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from gateway.models import Person
from tests.coaching.support import (
    BASE,
    PROGRAM,
    act,
    active_engagement,
    ambassador,
    apply,
    decide,
    open_remedial,
    pass_core_training,
)
from tests.support.stack import StackHandle


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


async def tell_measures(
    stack: StackHandle, engagement: dict[str, Any], *, suspends: bool, status: str
) -> dict[str, Any]:
    """What the incidents service sends when the incident's decision or status changes."""
    response = await stack.as_service("incidents").put(
        f"{BASE}/incidents/{engagement['incident_id']}/measures",
        json={
            "person_id": engagement["coachee_id"],
            "suspends_ambassador": suspends,
            "status": status,
            "reason": "dismissed" if status == "withdrawn" else None,
        },
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def refer(stack: StackHandle, person: Person) -> None:
    """HR refers the person to remedial coaching (not from an incident)."""
    hr = stack.as_user(await stack.person(roles=["hr"]))
    referral = await hr.post(
        f"{BASE}/engagements",
        json={
            "coachee_id": str(person.id),
            "track": "remedial",
            "source": "manager_referral",
            "goals": "Agree how to answer customers in public.",
        },
    )
    assert referral.status_code == 201, referral.text


def statuses(listed: httpx.Response) -> list[tuple[str, str]]:
    return [(a["person_id"], a["status"]) for a in listed.json()["items"]]


class TestSuspension:
    async def test_remedial_coaching_alone_does_not_suspend(self, stack: StackHandle) -> None:
        person, owner = await ambassador(stack)
        await active_engagement(stack, person)

        assert statuses(await owner.get(PROGRAM)) == [(str(person.id), "active")]

    async def test_a_decision_that_suspends_lasts_until_closed_and_coached(
        self, stack: StackHandle
    ) -> None:
        person, owner = await ambassador(stack)
        coach, engagement = await active_engagement(stack, person)
        employee = stack.as_user(await stack.person())

        told = await tell_measures(stack, engagement, suspends=True, status="open")
        while_open = await owner.get(PROGRAM)
        public_while_open = await employee.get(PROGRAM)
        await tell_measures(stack, engagement, suspends=True, status="closed")
        closed_but_coaching = await owner.get(PROGRAM)
        await act(stack.as_user(coach), engagement, "complete", {"outcome": "goals_met"})
        after = await employee.get(PROGRAM)

        assert (told["ambassador_suspended"], told["suspension_lifted"]) == (True, False)
        assert statuses(while_open) == [(str(person.id), "suspended")]
        assert public_while_open.json()["items"] == []
        assert statuses(closed_but_coaching) == [(str(person.id), "suspended")]
        assert statuses(after) == [(str(person.id), "active")]

    async def test_a_withdrawn_incident_lifts_it_and_cancels_its_coaching(
        self, stack: StackHandle
    ) -> None:
        person, owner = await ambassador(stack)
        coach, engagement = await active_engagement(stack, person)
        await tell_measures(stack, engagement, suspends=True, status="open")

        told = await tell_measures(stack, engagement, suspends=True, status="withdrawn")
        again = await tell_measures(stack, engagement, suspends=True, status="withdrawn")

        assert (told["suspension_lifted"], told["engagement_cancelled"]) == (True, True)
        assert (again["suspension_lifted"], again["engagement_cancelled"]) == (False, False)
        assert statuses(await owner.get(PROGRAM)) == [(str(person.id), "active")]
        cancelled = (
            await stack.as_user(coach).get(f"{BASE}/engagements/{engagement['id']}")
        ).json()
        assert cancelled["status"] == "cancelled"
        assert cancelled["closing_note"] == "Cancelled: the incident was dismissed."

    async def test_no_remedial_coaching_opens_for_a_withdrawn_incident(
        self, stack: StackHandle
    ) -> None:
        person = await stack.person()
        incident = {"incident_id": str(uuid.uuid4()), "coachee_id": str(person.id)}
        await tell_measures(stack, incident, suspends=False, status="withdrawn")

        response = await open_remedial(
            stack, person, incident_id=uuid.UUID(incident["incident_id"])
        )

        assert response.status_code == 409
        assert response.json()["type"].endswith("incident-withdrawn")

    async def test_a_manager_referral_suspends_while_it_is_open(self, stack: StackHandle) -> None:
        person, owner = await ambassador(stack)
        await refer(stack, person)

        assert statuses(await owner.get(PROGRAM)) == [(str(person.id), "suspended")]

    async def test_a_decision_that_does_not_suspend_leaves_a_referral_s_suspension(
        self, stack: StackHandle
    ) -> None:
        person, owner = await ambassador(stack)
        await refer(stack, person)
        incident = {"incident_id": str(uuid.uuid4()), "coachee_id": str(person.id)}

        told = await tell_measures(stack, incident, suspends=False, status="open")

        assert (told["ambassador_suspended"], told["suspension_lifted"]) == (True, False)
        assert statuses(await owner.get(PROGRAM)) == [(str(person.id), "suspended")]

    async def test_only_the_incidents_service_tells_coaching_about_an_incident(
        self, stack: StackHandle
    ) -> None:
        hr = stack.as_user(await stack.person(roles=["hr"]))

        response = await hr.put(
            f"{BASE}/incidents/{uuid.uuid4()}/measures",
            json={"person_id": str(uuid.uuid4()), "suspends_ambassador": True, "status": "open"},
        )

        assert response.status_code == 403
