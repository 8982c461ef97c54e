"""Reports for HR and policy owners."""

from __future__ import annotations

import base64
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


class TestAcknowledgementReport:
    async def test_counts_who_has_and_has_not_acknowledged_by_department(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        version = await publish_policy(stack, owner)
        signed = await stack.person(department="Legal")
        unsigned = await stack.person(department="Legal")
        await stack.as_user(signed).post(
            f"{API}/policy/acknowledgements", json={"version_id": version["id"]}
        )
        hr = stack.as_user(await stack.person(department="People", roles=["hr"]))

        summary = await hr.get(f"{API}/reports/acknowledgements", params={"department": "Legal"})
        people = await hr.get(
            f"{API}/reports/acknowledgements/people", params={"department": "Legal"}
        )

        assert summary.json()["departments"] == [
            {
                "department": "Legal",
                "people": 2,
                "acknowledged": 1,
                "renewal_due": 0,
                "pending": 1,
                "overdue": 0,
            }
        ]
        by_person = {p["person_id"]: p["acknowledged_at"] for p in people.json()["items"]}
        assert by_person[str(unsigned.id)] is None
        assert by_person[str(signed.id)] is not None

    async def test_the_people_list_pages_through_the_directory(self, stack: StackHandle) -> None:
        await publish_policy(stack, await policy_owner(stack))
        for _ in range(3):
            await stack.person(department="Legal")
        hr = stack.as_user(await stack.person(department="People", roles=["hr"]))
        url = f"{API}/reports/acknowledgements/people"

        first = await hr.get(url, params={"department": "Legal", "limit": 2})
        second = await hr.get(
            url, params={"department": "Legal", "limit": 2, "cursor": first.json()["next_cursor"]}
        )

        assert len(first.json()["items"]) == 2
        assert len(second.json()["items"]) == 1
        assert second.json()["next_cursor"] is None

    async def test_a_forged_cursor_is_the_callers_400_not_a_directory_outage(
        self, stack: StackHandle
    ) -> None:
        await publish_policy(stack, await policy_owner(stack))
        hr = stack.as_user(await stack.person(department="People", roles=["hr"]))
        naive = base64.urlsafe_b64encode(b'["2026-01-01T00:00:00", "x"]').decode()

        for cursor in (naive, "garbage", base64.urlsafe_b64encode(b"[" * 3000).decode()):
            response = await hr.get(
                f"{API}/reports/acknowledgements/people", params={"cursor": cursor}
            )

            assert response.status_code == 400, response.text
            assert response.json()["errors"][0]["parameter"] == "cursor"

    async def test_an_employee_may_not_read_it(self, stack: StackHandle) -> None:
        response = await stack.as_user(await stack.person()).get(f"{API}/reports/acknowledgements")

        assert response.status_code == 403


class TestCompletionReport:
    async def test_completion_and_overdue_by_department(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner)
        done = await stack.person(department="Legal")
        started = await stack.person(department="Legal")
        late = await stack.person(department="Sales")
        await assign(stack, owner, module, [done, started, late], due_in=dt.timedelta(days=2))
        await take_quiz(stack.as_user(done), module, passing=True)
        await stack.as_user(started).post(f"{API}/modules/{module['id']}/read")

        with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=3)):
            hr = stack.as_user(await stack.person(department="People", roles=["hr"]))
            report = await hr.get(f"{API}/reports/completion", params={"module_id": module["id"]})

        assert report.json()["departments"] == [
            {
                "department": "Legal",
                "assigned": 2,
                "completed": 1,
                "in_progress": 0,
                "not_started": 0,
                "overdue": 1,
                "superseded": 0,
                "left": 0,
            },
            {
                "department": "Sales",
                "assigned": 1,
                "completed": 0,
                "in_progress": 0,
                "not_started": 0,
                "overdue": 1,
                "superseded": 0,
                "left": 0,
            },
        ]

    async def test_before_the_due_date_started_and_not_started_are_apart(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner)
        started, idle = (
            await stack.person(department="Legal"),
            await stack.person(department="Legal"),
        )
        await assign(stack, owner, module, [started, idle])
        await stack.as_user(started).post(f"{API}/modules/{module['id']}/read")

        report = await stack.as_user(owner).get(f"{API}/reports/completion")

        [legal] = report.json()["departments"]
        assert (legal["in_progress"], legal["not_started"], legal["overdue"]) == (1, 1, 0)


class TestQuestionReport:
    async def test_the_most_missed_question_comes_first(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner)
        first, second = module["quiz"]["questions"]
        for _ in range(2):
            client = stack.as_user(await stack.person())
            attempt = (await client.post(f"{API}/modules/{module['id']}/quiz/attempts")).json()
            wrong_second = next(
                o["id"] for o in second["options"] if o["id"] not in second["correct_option_ids"]
            )
            await client.post(
                f"{API}/attempts/{attempt['id']}/submit",
                json={
                    "answers": [
                        {"question_id": first["id"], "option_ids": first["correct_option_ids"]},
                        {"question_id": second["id"], "option_ids": [wrong_second]},
                    ]
                },
            )

        report = await stack.as_user(owner).get(f"{API}/reports/modules/{module['id']}/questions")

        stats = report.json()["questions"]
        assert report.json()["submitted_attempts"] == 2
        assert [(q["question_id"], q["missed"], q["miss_rate"]) for q in stats] == [
            (second["id"], 2, 1.0),
            (first["id"], 0, 0.0),
        ]

    async def test_an_employee_may_not_read_it(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner)

        response = await stack.as_user(await stack.person()).get(
            f"{API}/reports/modules/{module['id']}/questions"
        )

        assert response.status_code == 403
