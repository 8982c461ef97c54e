"""Remedial training: the modules that teach the clauses an incident breached, assigned to
the person once per incident."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx

from gateway.models import Person
from tests.support.calls import calls_through_gateway
from tests.support.stack import StackHandle
from tests.training.factories import (
    API,
    assign,
    policy_owner,
    publish_policy,
    published_module,
    take_quiz,
)


async def catalogue(stack: StackHandle) -> tuple[Person, dict[str, dict[str, Any]]]:
    """Three published modules, teaching 2.1, 3.1 and 1.1."""
    owner = await policy_owner(stack)
    await publish_policy(stack, owner)
    modules = {
        number: await published_module(
            stack, owner, title=f"Teaches {number}", clause_numbers=[number]
        )
        for number in ("2.1", "3.1", "1.1")
    }
    return owner, modules


async def ask(
    stack: StackHandle,
    person: Person,
    incident_id: uuid.UUID,
    *clauses: str,
    as_: httpx.AsyncClient | None = None,
    **fields: Any,
) -> Any:
    """What the incidents service (or ``as_``) sends when a decision includes coaching."""
    return await (as_ or stack.as_service("incidents")).post(
        f"{API}/remedial-training",
        json={
            "incident_id": str(incident_id),
            "person_id": str(person.id),
            "clause_numbers": list(clauses),
            **fields,
        },
    )


class TestAssignRemedial:
    async def test_the_modules_teaching_the_breached_clauses_are_assigned(
        self, stack: StackHandle
    ) -> None:
        _, modules = await catalogue(stack)
        person = await stack.person(department="Sales")

        response = await ask(stack, person, uuid.uuid4(), "2.1", "3.1", "9.9")

        assert response.status_code == 201, response.text
        body = response.json()
        assert {item["module_id"] for item in body["items"]} == {
            modules["2.1"]["id"],
            modules["3.1"]["id"],
        }
        assert body["uncovered_clauses"] == ["9.9"]
        assert {item["status"] for item in body["items"]} == {"not_started"}
        mine = await stack.as_user(person).get(f"{API}/me/assignments")
        assert len(mine.json()["items"]) == 2

    async def test_asking_again_for_the_incident_changes_nothing(self, stack: StackHandle) -> None:
        await catalogue(stack)
        person = await stack.person()
        incident = uuid.uuid4()
        first = await ask(stack, person, incident, "2.1")

        again = await ask(stack, person, incident, "2.1")

        assert again.status_code == 200
        assert again.json()["items"] == first.json()["items"]
        mine = await stack.as_user(person).get(f"{API}/me/assignments")
        assert len(mine.json()["items"]) == 1

    async def test_an_open_assignment_is_reused_with_the_earlier_due_date(
        self, stack: StackHandle
    ) -> None:
        owner, modules = await catalogue(stack)
        person = await stack.person()
        held = await assign(stack, owner, modules["2.1"], [person], due_in=dt.timedelta(days=60))

        response = await ask(stack, person, uuid.uuid4(), "2.1")

        [item] = response.json()["items"]
        assert item["assignment_id"] == held["created"][0]["assignment_id"]
        assert dt.datetime.fromisoformat(item["due_at"]) < dt.datetime.fromisoformat(
            held["created"][0]["due_at"]
        )

    async def test_completing_the_module_shows_in_the_incident_list(
        self, stack: StackHandle
    ) -> None:
        _, modules = await catalogue(stack)
        person = await stack.person()
        incident = uuid.uuid4()
        await ask(stack, person, incident, "2.1")

        await take_quiz(stack.as_user(person), modules["2.1"], passing=True)
        listed = await stack.as_service("coaching").get(
            f"{API}/remedial-training", params={"incident_id": str(incident)}
        )

        [item] = listed.json()["items"]
        assert item["status"] == "completed"
        assert item["completed_at"] is not None
        assert item["clause_numbers"] == ["2.1"]

    async def test_someone_not_in_the_directory_is_a_422(self, stack: StackHandle) -> None:
        await catalogue(stack)
        gone = await stack.person(active=False)

        response = await ask(stack, gone, uuid.uuid4(), "2.1")

        assert response.status_code == 422
        assert str(gone.id) in response.json()["detail"]


class TestTheDirectoryRecordIncidentsPassesOn:
    """Incidents read the person from the directory moments before: its record spares
    training the lookup (issue 16). Only the incidents service's word counts."""

    async def test_the_incidents_service_s_record_is_taken_without_asking_the_directory(
        self, stack: StackHandle
    ) -> None:
        await catalogue(stack)
        person = await stack.person(department="Sales")
        record = {"active": True, "department": "Sales"}

        with calls_through_gateway(stack) as calls:
            response = await ask(stack, person, uuid.uuid4(), "2.1", directory_record=record)

        assert response.status_code == 201, response.text
        assert calls.person_lookups("training") == 0
        [assignment] = (await stack.as_user(person).get(f"{API}/me/assignments")).json()["items"]
        assert assignment["department"] == "Sales"

    async def test_a_record_saying_the_person_left_is_a_422(self, stack: StackHandle) -> None:
        await catalogue(stack)
        person = await stack.person()

        response = await ask(stack, person, uuid.uuid4(), "2.1", directory_record={"active": False})

        assert response.status_code == 422
        assert str(person.id) in response.json()["detail"]

    async def test_hr_cannot_vouch_for_someone_who_left(self, stack: StackHandle) -> None:
        await catalogue(stack)
        gone = await stack.person(active=False)
        hr = stack.as_user(await stack.person(roles=["hr"]))

        response = await ask(
            stack, gone, uuid.uuid4(), "2.1", as_=hr, directory_record={"active": True}
        )

        assert response.status_code == 422
        assert str(gone.id) in response.json()["detail"]

    async def test_hr_s_record_is_ignored_and_the_directory_asked(self, stack: StackHandle) -> None:
        await catalogue(stack)
        person = await stack.person(department="Sales")
        hr = stack.as_user(await stack.person(roles=["hr"]))
        record = {"active": True, "department": "Made up"}

        with calls_through_gateway(stack) as calls:
            response = await ask(
                stack, person, uuid.uuid4(), "2.1", as_=hr, directory_record=record
            )

        assert response.status_code == 201, response.text
        assert calls.person_lookups("training") == 1
        [assignment] = (await stack.as_user(person).get(f"{API}/me/assignments")).json()["items"]
        assert assignment["department"] == "Sales"

    async def test_a_malformed_record_is_a_422_naming_the_field(self, stack: StackHandle) -> None:
        person = await stack.person()

        for record in ({"active": "yes"}, {"active": True, "manager_id": None}, {}):
            response = await ask(stack, person, uuid.uuid4(), "2.1", directory_record=record)

            assert response.status_code == 422, record
            assert response.json()["errors"][0]["pointer"].startswith("#/directory_record")


class TestAccess:
    async def test_employees_cannot_assign_remedial_training(self, stack: StackHandle) -> None:
        person = await stack.person()

        response = await stack.as_user(person).post(
            f"{API}/remedial-training",
            json={
                "incident_id": str(uuid.uuid4()),
                "person_id": str(person.id),
                "clause_numbers": ["2.1"],
            },
        )

        assert response.status_code == 403

    async def test_a_person_reads_their_own_remedial_training_only(
        self, stack: StackHandle
    ) -> None:
        await catalogue(stack)
        person, other = await stack.person(), await stack.person()
        await ask(stack, person, uuid.uuid4(), "2.1")

        own = await stack.as_user(person).get(
            f"{API}/remedial-training", params={"person_id": str(person.id)}
        )
        theirs = await stack.as_user(other).get(
            f"{API}/remedial-training", params={"person_id": str(person.id)}
        )
        everyone = await stack.as_user(other).get(f"{API}/remedial-training")

        assert len(own.json()["items"]) == 1
        assert theirs.status_code == 403
        assert everyone.status_code == 403


class TestModuleClauses:
    async def test_a_module_teaches_the_clauses_its_content_cites_by_default(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)

        module = await published_module(stack, owner)

        assert module["clause_numbers"] == ["2.1", "3.1"]

    async def test_a_clause_the_policy_does_not_have_is_a_422(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)

        response = await stack.as_user(owner).post(
            f"{API}/modules",
            json={
                "title": "T",
                "summary": "S",
                "body_markdown": "B",
                "clause_numbers": ["9.9"],
            },
        )

        assert response.status_code == 422
        assert "9.9" in response.json()["detail"]
