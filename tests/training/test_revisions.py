"""Module revisions: a non-material one carries open assignments over with their progress, a
material one asks everyone assigned to take the new version again. Either way no open
assignment is left on a retired version to turn overdue."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import time_machine

from gateway.models import Person
from tests.support.stack import StackHandle
from tests.training.factories import (
    API,
    assign,
    policy_owner,
    publish_policy,
    published_module,
    take_quiz,
)

LATER = dt.timedelta(days=3)


@dataclass
class Cohort:
    """One module assigned to four people, one in each state at ``LATER``."""

    owner: Person
    module: dict[str, Any]
    not_started: Person
    in_progress: Person
    completed: Person
    overdue: Person
    failed_attempt_id: str


async def cohort(stack: StackHandle) -> Cohort:
    owner = await policy_owner(stack)
    await publish_policy(stack, owner)
    module = await published_module(stack, owner)
    people = [await stack.person() for _ in range(4)]
    not_started, in_progress, completed, overdue = people
    await assign(stack, owner, module, people[:3], due_in=dt.timedelta(days=10))
    await assign(stack, owner, module, [overdue], due_in=dt.timedelta(days=1))
    failed = await take_quiz(stack.as_user(in_progress), module, passing=False)
    await take_quiz(stack.as_user(completed), module, passing=True)
    return Cohort(owner, module, not_started, in_progress, completed, overdue, failed.json()["id"])


async def revise(
    stack: StackHandle, owner: Person, module: dict[str, Any], **body: Any
) -> dict[str, Any]:
    client = stack.as_user(owner)
    draft = await client.post(f"{API}/modules/{module['id']}/revisions", json=body)
    assert draft.status_code == 201, draft.text
    published = await client.post(
        f"{API}/modules/{draft.json()['id']}/publish", headers={"If-Match": draft.headers["ETag"]}
    )
    assert published.status_code == 200, published.text
    revision: dict[str, Any] = published.json()
    revision["quiz"] = (await client.get(f"{API}/modules/{revision['id']}/quiz")).json()
    return revision


async def assignments_of(stack: StackHandle, owner: Person, person: Person) -> list[dict[str, Any]]:
    response = await stack.as_user(owner).get(
        f"{API}/assignments", params={"person_id": str(person.id)}
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def states(assignments: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((a["module_id"], a["status"]) for a in assignments)


class TestNonMaterialRevision:
    async def test_open_assignments_move_with_their_progress_and_completions_stay(
        self, stack: StackHandle
    ) -> None:
        c = await cohort(stack)
        with time_machine.travel(dt.datetime.now(dt.UTC) + LATER):
            revision = await revise(stack, c.owner, c.module, material=False)
            v1, v2 = c.module["id"], revision["id"]

            assert states(await assignments_of(stack, c.owner, c.not_started)) == [
                (v2, "not_started")
            ]
            assert states(await assignments_of(stack, c.owner, c.in_progress)) == [
                (v2, "in_progress")
            ]
            assert states(await assignments_of(stack, c.owner, c.completed)) == [(v1, "completed")]
            assert states(await assignments_of(stack, c.owner, c.overdue)) == [(v2, "overdue")]

    async def test_the_moved_assignment_completes_on_the_new_version_and_attempts_stay_put(
        self, stack: StackHandle
    ) -> None:
        c = await cohort(stack)
        revision = await revise(stack, c.owner, c.module, material=False)
        learner = stack.as_user(c.in_progress)

        passed = await take_quiz(learner, revision, passing=True)
        old_attempt = await learner.get(f"{API}/attempts/{c.failed_attempt_id}")
        [assignment] = await assignments_of(stack, c.owner, c.in_progress)

        assert passed.json()["result"]["passed"] is True
        assert old_attempt.json()["module_id"] == c.module["id"]
        assert assignment["status"] == "completed"
        assert assignment["module_id"] == revision["id"]


class TestMaterialRevision:
    async def test_everyone_assigned_gets_the_new_version_and_open_ones_close(
        self, stack: StackHandle
    ) -> None:
        c = await cohort(stack)
        with time_machine.travel(dt.datetime.now(dt.UTC) + LATER):
            revision = await revise(stack, c.owner, c.module, material=True, material_due_days=20)
            v1, v2 = c.module["id"], revision["id"]
            due = dt.datetime.now(dt.UTC) + dt.timedelta(days=20)

            for person, before in [
                (c.not_started, "superseded"),
                (c.in_progress, "superseded"),
                (c.completed, "completed"),
                (c.overdue, "superseded"),
            ]:
                assignments = await assignments_of(stack, c.owner, person)
                assert states(assignments) == sorted([(v1, before), (v2, "not_started")])
                [new] = [a for a in assignments if a["module_id"] == v2]
                assert abs(dt.datetime.fromisoformat(new["due_at"]) - due) < dt.timedelta(minutes=1)

    async def test_a_superseded_assignment_is_never_overdue_in_signals_or_reports(
        self, stack: StackHandle
    ) -> None:
        c = await cohort(stack)
        await revise(stack, c.owner, c.module, material=True, material_due_days=30)
        hr_person = await stack.person(department="People", roles=["hr"])

        with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=15)):
            hr = stack.as_user(hr_person)  # a token signed inside the frozen clock
            signals = await hr.get(f"{API}/signals", params={"reason": "training_overdue"})
            report = await hr.get(f"{API}/reports/completion", params={"module_id": c.module["id"]})

        assert signals.json()["items"] == []
        [department] = report.json()["departments"]
        assert department["assigned"] == 4
        assert department["completed"] == 1
        assert department["superseded"] == 3
        assert department["overdue"] == 0

    async def test_the_person_sees_the_new_version_in_their_training(
        self, stack: StackHandle
    ) -> None:
        c = await cohort(stack)
        revision = await revise(stack, c.owner, c.module, material=True)

        mine = await stack.as_user(c.completed).get(f"{API}/me/assignments")
        progress = await stack.as_user(c.completed).get(f"{API}/people/{c.completed.id}/progress")

        assert states(mine.json()["items"]) == sorted(
            [(c.module["id"], "completed"), (revision["id"], "not_started")]
        )
        # Passing the older version of a core module still counts as having passed it.
        assert len(progress.json()["assignments"]) == 2


class TestRevisionRequest:
    async def test_a_revision_must_say_whether_it_is_material(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner)

        response = await stack.as_user(owner).post(
            f"{API}/modules/{module['id']}/revisions", json={}
        )

        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert "material" in response.text

    async def test_the_draft_says_what_publishing_it_will_do(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner)

        response = await stack.as_user(owner).post(
            f"{API}/modules/{module['id']}/revisions",
            json={"material": True, "material_due_days": 45},
        )

        assert response.json()["material"] is True
        assert response.json()["material_due_days"] == 45
