"""Per-person progress: the contract coaching reads (``core_training_completed``)."""

from __future__ import annotations

import datetime as dt

import time_machine

from tests.support.stack import StackHandle
from tests.training.factories import (
    API,
    assign,
    policy_owner,
    publish_policy,
    published_module,
    take_quiz,
)


class TestPersonProgress:
    async def test_an_employee_sees_each_assignment_move_from_not_started_to_completed(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner, core=True)
        employee = await stack.person()
        await assign(stack, owner, module, [employee])
        client = stack.as_user(employee)
        url = f"{API}/people/{employee.id}/progress"

        before = (await client.get(url)).json()
        await client.post(f"{API}/modules/{module['id']}/quiz/attempts")
        during = (await client.get(url)).json()

        assert before["core_training_completed"] is False
        assert before["assignments"][0]["status"] == "not_started"
        assert before["assignments"][0]["module_title"] == "Confidential information"
        assert during["assignments"][0]["status"] == "in_progress"

    async def test_passing_the_core_quiz_completes_the_core_training(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner, core=True)
        employee = await stack.person()
        await assign(stack, owner, module, [employee])
        client = stack.as_user(employee)

        submitted = await take_quiz(client, module, passing=True)
        progress = (await client.get(f"{API}/people/{employee.id}/progress")).json()

        assert submitted.json()["result"]["passed"] is True
        assert progress["core_training_completed"] is True
        assert progress["assignments"][0]["status"] == "completed"
        assert progress["assignments"][0]["completed_at"] is not None

    async def test_a_failed_quiz_does_not_complete_it(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner, core=True)
        employee = await stack.person()
        client = stack.as_user(employee)

        await take_quiz(client, module, passing=False)
        progress = (await client.get(f"{API}/people/{employee.id}/progress")).json()

        assert progress["core_training_completed"] is False

    async def test_passing_a_module_that_is_not_core_is_not_the_core_training(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner, core=False)
        employee = await stack.person()
        client = stack.as_user(employee)

        await take_quiz(client, module, passing=True)
        progress = (await client.get(f"{API}/people/{employee.id}/progress")).json()

        assert progress["core_training_completed"] is False

    async def test_reading_a_module_without_a_quiz_completes_it(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner, quiz_body={}, core=True)
        employee = await stack.person()
        await assign(stack, owner, module, [employee])
        client = stack.as_user(employee)

        read = await client.post(f"{API}/modules/{module['id']}/read")
        progress = (await client.get(f"{API}/people/{employee.id}/progress")).json()

        assert read.status_code == 200
        assert progress["core_training_completed"] is True
        assert progress["assignments"][0]["status"] == "completed"

    async def test_reading_a_module_with_a_quiz_does_not_complete_it(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner, core=True)
        employee = await stack.person()
        await assign(stack, owner, module, [employee])
        client = stack.as_user(employee)

        await client.post(f"{API}/modules/{module['id']}/read")
        progress = (await client.get(f"{API}/people/{employee.id}/progress")).json()

        assert progress["assignments"][0]["status"] == "in_progress"
        assert progress["core_training_completed"] is False

    async def test_past_the_due_date_an_unfinished_assignment_is_overdue(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner)
        employee = await stack.person()
        await assign(stack, owner, module, [employee], due_in=dt.timedelta(days=3))

        with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=4)):
            response = await stack.as_user(employee).get(f"{API}/people/{employee.id}/progress")

        assert response.json()["assignments"][0]["status"] == "overdue"


class TestWhoReadsProgress:
    async def test_the_manager_reads_a_direct_reports_progress(self, stack: StackHandle) -> None:
        manager = await stack.person()
        report = await stack.person(manager=manager)

        response = await stack.as_user(manager).get(f"{API}/people/{report.id}/progress")

        assert response.status_code == 200
        assert response.json() == {
            "person_id": str(report.id),
            "core_training_completed": False,
            "assignments": [],
            "acknowledgement": None,
        }

    async def test_hr_reads_anyones_progress(self, stack: StackHandle) -> None:
        hr = await stack.person(department="People", roles=["hr"])
        someone = await stack.person()

        response = await stack.as_user(hr).get(f"{API}/people/{someone.id}/progress")

        assert response.status_code == 200

    async def test_the_coaching_service_reads_anyones_progress(self, stack: StackHandle) -> None:
        someone = await stack.person()

        response = await stack.as_service("coaching").get(f"{API}/people/{someone.id}/progress")

        assert response.status_code == 200
        assert response.json()["core_training_completed"] is False

    async def test_a_colleague_may_not_read_it(self, stack: StackHandle) -> None:
        someone = await stack.person()
        colleague = await stack.person()

        response = await stack.as_user(colleague).get(f"{API}/people/{someone.id}/progress")

        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"

    async def test_a_manager_may_not_read_another_managers_report(self, stack: StackHandle) -> None:
        manager = await stack.person()
        await stack.person(manager=manager)
        other_manager = await stack.person()
        their_report = await stack.person(manager=other_manager)

        response = await stack.as_user(manager).get(f"{API}/people/{their_report.id}/progress")

        assert response.status_code == 403
