"""Assignments: to people or whole departments, with a due date; "my assignments"."""

from __future__ import annotations

import datetime as dt
import uuid

from tests.support.stack import StackHandle
from tests.training.factories import (
    API,
    assign,
    draft_module,
    policy_owner,
    publish_policy,
    published_module,
    take_quiz,
)

DUE = (dt.datetime.now(dt.UTC) + dt.timedelta(days=10)).isoformat()


class TestAssign:
    async def test_assigning_a_department_assigns_each_active_member(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner)
        members = [await stack.person(department="Legal") for _ in range(2)]
        await stack.person(department="Legal", active=False)
        await stack.person(department="Sales")

        response = await stack.as_user(owner).post(
            f"{API}/assignments",
            json={"module_id": module["id"], "departments": ["Legal"], "due_at": DUE},
        )

        assert response.status_code == 201
        created = response.json()["created"]
        assert {a["person_id"] for a in created} == {str(p.id) for p in members}
        assert {a["department"] for a in created} == {"Legal"}
        assert {a["status"] for a in created} == {"not_started"}

    async def test_assigning_again_keeps_the_first_assignment(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner)
        employee = await stack.person()
        await assign(stack, owner, module, [employee])

        again = await assign(stack, owner, module, [employee])

        assert again["created"] == []
        assert again["already_assigned"] == [str(employee.id)]

    async def test_an_unknown_person_is_a_422_naming_them_and_nothing_is_assigned(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner)
        known, unknown = await stack.person(), uuid.uuid4()

        response = await stack.as_user(owner).post(
            f"{API}/assignments",
            json={
                "module_id": module["id"],
                "person_ids": [str(known.id), str(unknown)],
                "due_at": DUE,
            },
        )
        listed = await stack.as_user(owner).get(f"{API}/assignments")

        assert response.status_code == 422
        assert response.json()["person_ids"] == [str(unknown)]
        assert listed.json()["items"] == []

    async def test_a_due_date_in_the_past_is_a_422(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        past = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat()

        response = await stack.as_user(owner).post(
            f"{API}/assignments",
            json={"module_id": str(uuid.uuid4()), "departments": ["Sales"], "due_at": past},
        )

        assert response.status_code == 422
        assert "future" in response.json()["detail"]

    async def test_nobody_to_assign_is_a_422(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)

        response = await stack.as_user(owner).post(
            f"{API}/assignments", json={"module_id": str(uuid.uuid4()), "due_at": DUE}
        )

        assert response.status_code == 422

    async def test_a_draft_module_cannot_be_assigned(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        draft = await draft_module(stack, owner, quiz_body={})

        response = await stack.as_user(owner).post(
            f"{API}/assignments",
            json={"module_id": draft.json()["id"], "departments": ["Sales"], "due_at": DUE},
        )

        assert response.status_code == 409
        assert response.json()["type"] == "urn:smp:problem:module-not-published"

    async def test_an_employee_may_not_assign(self, stack: StackHandle) -> None:
        response = await stack.as_user(await stack.person()).post(
            f"{API}/assignments",
            json={"module_id": str(uuid.uuid4()), "departments": ["Sales"], "due_at": DUE},
        )

        assert response.status_code == 403


class TestMyAssignments:
    async def test_i_see_only_mine_one_page_at_a_time(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        modules = [await published_module(stack, owner) for _ in range(3)]
        me, someone = await stack.person(), await stack.person()
        for module in modules:
            await assign(stack, owner, module, [me, someone])
        client = stack.as_user(me)

        first = await client.get(f"{API}/me/assignments", params={"limit": 2})
        second = await client.get(
            f"{API}/me/assignments", params={"limit": 2, "cursor": first.json()["next_cursor"]}
        )

        items = first.json()["items"] + second.json()["items"]
        assert [a["module_id"] for a in items] == [m["id"] for m in modules]
        assert {a["person_id"] for a in items} == {str(me.id)}

    async def test_filtering_by_status(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        done, todo = await published_module(stack, owner), await published_module(stack, owner)
        me = await stack.person()
        await assign(stack, owner, done, [me])
        await assign(stack, owner, todo, [me])
        client = stack.as_user(me)
        await take_quiz(client, done, passing=True)

        completed = await client.get(f"{API}/me/assignments", params={"status": "completed"})
        open_ = await client.get(f"{API}/me/assignments", params={"status": "not_started"})

        assert [a["module_id"] for a in completed.json()["items"]] == [done["id"]]
        assert [a["module_id"] for a in open_.json()["items"]] == [todo["id"]]

    async def test_a_module_passed_before_it_was_assigned_is_listed_as_completed(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner)
        me = await stack.person()
        client = stack.as_user(me)
        await take_quiz(client, module, passing=True)
        await assign(stack, owner, module, [me])

        completed = await client.get(f"{API}/me/assignments", params={"status": "completed"})
        not_started = await client.get(f"{API}/me/assignments", params={"status": "not_started"})

        assert [a["status"] for a in completed.json()["items"]] == ["completed"]
        assert not_started.json()["items"] == []

    async def test_reading_the_module_moves_it_from_not_started_to_in_progress(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner)
        me = await stack.person()
        await assign(stack, owner, module, [me])
        client = stack.as_user(me)
        before = await client.get(f"{API}/me/assignments", params={"status": "not_started"})

        read = await client.post(f"{API}/modules/{module['id']}/read")
        in_progress = await client.get(f"{API}/me/assignments", params={"status": "in_progress"})
        after = await client.get(f"{API}/me/assignments", params={"status": "not_started"})

        assert read.status_code == 200
        assert [a["module_id"] for a in before.json()["items"]] == [module["id"]]
        assert [a["status"] for a in in_progress.json()["items"]] == ["in_progress"]
        assert after.json()["items"] == []


class TestOneAssignment:
    async def test_the_assignee_and_their_manager_see_it_a_colleague_does_not(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner)
        manager = await stack.person()
        employee = await stack.person(manager=manager)
        batch = await assign(stack, owner, module, [employee])
        url = f"{API}/assignments/{batch['created'][0]['assignment_id']}"

        mine = await stack.as_user(employee).get(url)
        managers = await stack.as_user(manager).get(url)
        colleagues = await stack.as_user(await stack.person()).get(url)

        assert (mine.status_code, managers.status_code) == (200, 200)
        assert colleagues.status_code == 404
