"""Training signals: who needs guidance (read by HR and the coaching service)."""

from __future__ import annotations

import datetime as dt

import time_machine

from kit.identity import PrincipalKind
from tests.support.stack import StackHandle
from tests.training.factories import (
    API,
    assign,
    policy_owner,
    publish_policy,
    published_module,
    quiz,
    take_quiz,
)


class TestQuizAttemptsExhausted:
    async def test_failing_every_allowed_attempt_is_a_signal(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner, quiz_body=quiz(attempt_limit=2))
        employee = await stack.person()
        client = stack.as_user(employee)
        await take_quiz(client, module, passing=False)
        after_one = await stack.as_service("coaching").get(f"{API}/signals")
        await take_quiz(client, module, passing=False)

        response = await stack.as_service("coaching").get(
            f"{API}/signals", params={"reason": "quiz_attempts_exhausted"}
        )

        assert after_one.json()["items"] == []
        [signal] = response.json()["items"]
        assert signal["person_id"] == str(employee.id)
        assert signal["reason"] == "quiz_attempts_exhausted"
        assert signal["module_id"] == module["id"]
        assert "all 2 allowed attempts" in signal["detail"]

    async def test_passing_at_the_last_attempt_is_no_signal(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner, quiz_body=quiz(attempt_limit=2))
        client = stack.as_user(await stack.person())
        await take_quiz(client, module, passing=False)
        await take_quiz(client, module, passing=True)

        response = await stack.as_service("coaching").get(f"{API}/signals")

        assert response.json()["items"] == []


class TestTrainingOverdue:
    async def test_an_unfinished_assignment_past_its_due_date_is_a_signal(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner)
        late, on_time = await stack.person(), await stack.person()
        await assign(stack, owner, module, [late, on_time], due_in=dt.timedelta(days=2))
        await take_quiz(stack.as_user(on_time), module, passing=True)

        with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=3)):
            hr = await stack.person(department="People", roles=["hr"])
            response = await stack.as_user(hr).get(
                f"{API}/signals", params={"reason": "training_overdue"}
            )

        [signal] = response.json()["items"]
        assert signal["person_id"] == str(late.id)
        assert signal["reason"] == "training_overdue"
        assert "not started" in signal["detail"]

    async def test_both_reasons_come_together_oldest_first_one_page_at_a_time(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner, quiz_body=quiz(attempt_limit=1))
        late = [await stack.person() for _ in range(3)]
        await assign(stack, owner, module, late, due_in=dt.timedelta(days=1))
        with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=2)):
            failing = await stack.person()
            await take_quiz(stack.as_user(failing), module, passing=False)
            coaching = stack.as_service("coaching")
            first = await coaching.get(f"{API}/signals", params={"limit": 2})
            second = await coaching.get(
                f"{API}/signals", params={"limit": 2, "cursor": first.json()["next_cursor"]}
            )

        pages = first.json()["items"] + second.json()["items"]
        assert second.json()["next_cursor"] is None
        assert [s["reason"] for s in pages] == ["training_overdue"] * 3 + [
            "quiz_attempts_exhausted"
        ]
        assert {s["person_id"] for s in pages} == {str(p.id) for p in [*late, failing]}

    async def test_paging_one_at_a_time_sees_each_signal_once_in_order(
        self, stack: StackHandle
    ) -> None:
        # Five overdue at the same due date (the page boundary falls between equal dates),
        # two modules, and a failed quiz: each source is cut to the page before the union.
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        first_module = await published_module(stack, owner, quiz_body=quiz(attempt_limit=1))
        second_module = await published_module(stack, owner)
        late = [await stack.person() for _ in range(5)]
        await assign(stack, owner, first_module, late, due_in=dt.timedelta(days=1))
        await assign(stack, owner, second_module, late[:2], due_in=dt.timedelta(days=1))
        with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=2)):
            failing = await stack.person()
            await take_quiz(stack.as_user(failing), first_module, passing=False)
            coaching = stack.as_service("coaching")
            whole = (await coaching.get(f"{API}/signals", params={"limit": 50})).json()
            paged, cursor = [], None
            while True:
                params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
                page = (await coaching.get(f"{API}/signals", params=params)).json()
                paged += page["items"]
                cursor = page["next_cursor"]
                if cursor is None:
                    break

        assert len(whole["items"]) == 8
        assert paged == whole["items"]
        keys = [(s["since"], s["reason"], s["person_id"], s["module_id"]) for s in paged]
        assert len(set(keys)) == 8

    async def test_the_department_filter_asks_the_directory(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner)
        seller = await stack.person(department="Sales")
        engineer = await stack.person(department="Engineering")
        await assign(stack, owner, module, [seller, engineer], due_in=dt.timedelta(days=1))

        with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=2)):
            response = await stack.as_service("coaching").get(
                f"{API}/signals", params={"department": "Engineering"}
            )

        assert [s["person_id"] for s in response.json()["items"]] == [str(engineer.id)]


class TestWhoReadsSignals:
    async def test_an_employee_may_not(self, stack: StackHandle) -> None:
        response = await stack.as_user(await stack.person()).get(f"{API}/signals")

        assert response.status_code == 403

    async def test_another_service_may_not(self, stack: StackHandle) -> None:
        response = await stack.direct(
            "training", subject="service:incidents", kind=PrincipalKind.SERVICE, roles=()
        ).get(f"{API}/signals")

        assert response.status_code == 403

    async def test_an_unknown_reason_is_a_422_naming_the_parameter(
        self, stack: StackHandle
    ) -> None:
        hr = await stack.person(department="People", roles=["hr"])

        response = await stack.as_user(hr).get(f"{API}/signals", params={"reason": "bored"})

        assert response.status_code == 422
        assert response.json()["errors"][0]["parameter"] == "reason"

    async def test_a_forged_cursor_is_a_400(self, stack: StackHandle) -> None:
        hr = await stack.person(department="People", roles=["hr"])

        response = await stack.as_user(hr).get(f"{API}/signals", params={"cursor": "nope"})

        assert response.status_code == 400
