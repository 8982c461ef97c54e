"""Candidates for coaching: coaching's own (proposed remedial, self-nominations) and
training's signals, filtered by reason and department, paged, and honest when training is
down."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.models import Person
from tests.coaching.support import (
    BASE,
    assign_core_module,
    make_coach,
    open_remedial,
    overdue_later,
)
from tests.support.stack import StackHandle

CANDIDATES = f"{BASE}/candidates"


async def nominate(stack: StackHandle, person: Person) -> dict[str, Any]:
    response = await stack.as_user(person).post(
        f"{BASE}/engagements",
        json={
            "coachee_id": str(person.id),
            "track": "development",
            "source": "self_nomination",
            "goals": "Learn to write posts about our research.",
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def reader(stack: StackHandle) -> httpx.AsyncClient:
    return stack.as_user(await stack.person(roles=["hr"]))


def reasons(page: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["person_id"], c["reason"]) for c in page["items"]]


class TestCoachingsOwnCandidates:
    async def test_proposed_remedial_and_self_nominations_with_names(
        self, stack: StackHandle
    ) -> None:
        slipped = await stack.person(display_name="Sam Patel", department="Sales")
        keen = await stack.person(display_name="Nina Kowalski", department="Engineering")
        remedial = (await open_remedial(stack, slipped)).json()
        await nominate(stack, keen)
        hr = await reader(stack)

        page = (await hr.get(CANDIDATES, params={"reason": "remedial_proposed"})).json()
        nominations = (await hr.get(CANDIDATES, params={"reason": "self_nomination"})).json()

        assert reasons(page) == [(str(slipped.id), "remedial_proposed")]
        first = page["items"][0]
        assert (first["display_name"], first["department"]) == ("Sam Patel", "Sales")
        assert first["engagement_id"] == remedial["id"]
        assert reasons(nominations) == [(str(keen.id), "self_nomination")]

    async def test_a_started_engagement_is_no_longer_a_candidate(self, stack: StackHandle) -> None:
        coachee = await stack.person()
        coach_person, coach = await make_coach(stack)
        client = stack.as_user(coach_person)
        engagement = (await open_remedial(stack, coachee)).json()
        assigned = (
            await client.put(
                f"{BASE}/engagements/{engagement['id']}/coach",
                json={"coach_id": coach["id"]},
                headers={"If-Match": '"1"'},
            )
        ).json()
        await client.post(
            f"{BASE}/engagements/{engagement['id']}/start",
            headers={"If-Match": f'"{assigned["version"]}"'},
        )

        page = (
            await (await reader(stack)).get(CANDIDATES, params={"reason": "remedial_proposed"})
        ).json()

        assert page["items"] == []

    async def test_filtered_by_department(self, stack: StackHandle) -> None:
        sales = await stack.person(department="Sales")
        engineering = await stack.person(department="Engineering")
        for person in (sales, engineering):
            await nominate(stack, person)

        page = (
            await (await reader(stack)).get(
                CANDIDATES, params={"reason": "self_nomination", "department": "Engineering"}
            )
        ).json()

        assert reasons(page) == [(str(engineering.id), "self_nomination")]

    async def test_pages_through_with_the_cursor(self, stack: StackHandle) -> None:
        people = [await stack.person() for _ in range(3)]
        for person in people:
            await nominate(stack, person)
        hr = await reader(stack)
        seen: list[str] = []
        cursor = None

        for _ in range(3):
            params = {"reason": "self_nomination", "limit": "1"}
            if cursor:
                params["cursor"] = cursor
            page = (await hr.get(CANDIDATES, params=params)).json()
            seen += [c["person_id"] for c in page["items"]]
            cursor = page["next_cursor"]

        assert seen == [str(p.id) for p in people]
        assert cursor is None

    async def test_a_bad_cursor_is_a_400(self, stack: StackHandle) -> None:
        response = await (await reader(stack)).get(CANDIDATES, params={"cursor": "garbage"})

        assert response.status_code == 400


class TestTrainingSignals:
    async def test_overdue_training_is_a_candidate_after_coachings_own(
        self, stack: StackHandle
    ) -> None:
        late = await stack.person(department="Sales")
        await assign_core_module(stack, late)
        slipped = await stack.person()
        await open_remedial(stack, slipped)

        with overdue_later():
            page = (await (await reader(stack)).get(CANDIDATES)).json()

        assert reasons(page) == [
            (str(slipped.id), "remedial_proposed"),
            (str(late.id), "training_overdue"),
        ]
        overdue = page["items"][1]
        assert overdue["module_id"] is not None
        assert "due" in overdue["detail"]
        assert overdue["department"] == "Sales"

    async def test_one_page_at_a_time_across_both_sources(self, stack: StackHandle) -> None:
        late = await stack.person()
        await assign_core_module(stack, late)
        keen = await stack.person()
        await nominate(stack, keen)

        with overdue_later():
            hr = await reader(stack)
            first = (await hr.get(CANDIDATES, params={"limit": 1})).json()
            second = (
                await hr.get(CANDIDATES, params={"limit": 1, "cursor": first["next_cursor"]})
            ).json()

        assert reasons(first) == [(str(keen.id), "self_nomination")]
        assert reasons(second) == [(str(late.id), "training_overdue")]

    async def test_filtered_by_training_reason_and_department(self, stack: StackHandle) -> None:
        sales = await stack.person(department="Sales")
        support = await stack.person(department="Customer Support")
        await assign_core_module(stack, sales)
        await assign_core_module(stack, support)
        await nominate(stack, await stack.person(department="Customer Support"))

        with overdue_later():
            page = (
                await (await reader(stack)).get(
                    CANDIDATES,
                    params={"reason": "training_overdue", "department": "Customer Support"},
                )
            ).json()

        assert reasons(page) == [(str(support.id), "training_overdue")]


class TestTrainingDown:
    async def test_a_training_reason_is_a_503(self, stack: StackHandle) -> None:
        with stack.upstream_down("training"):
            response = await (await reader(stack)).get(
                CANDIDATES, params={"reason": "training_overdue"}
            )

        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["unavailable_source"] == "training"

    async def test_the_full_list_is_a_503_not_a_list_missing_trainings_candidates(
        self, stack: StackHandle
    ) -> None:
        await nominate(stack, await stack.person())

        with stack.upstream_down("training"):
            response = await (await reader(stack)).get(CANDIDATES)

        assert response.status_code == 503

    async def test_coachings_own_reasons_still_answer(self, stack: StackHandle) -> None:
        keen = await stack.person()
        await nominate(stack, keen)

        with stack.upstream_down("training"):
            response = await (await reader(stack)).get(
                CANDIDATES, params={"reason": "self_nomination"}
            )

        assert response.status_code == 200
        assert reasons(response.json()) == [(str(keen.id), "self_nomination")]


class TestAccess:
    async def test_a_coach_reads_candidates(self, stack: StackHandle) -> None:
        coach = await stack.person(roles=["coach"])

        response = await stack.as_user(coach).get(CANDIDATES, params={"reason": "self_nomination"})

        assert response.status_code == 200

    async def test_an_employee_may_not(self, stack: StackHandle) -> None:
        response = await stack.as_user(await stack.person()).get(CANDIDATES)

        assert response.status_code == 403
