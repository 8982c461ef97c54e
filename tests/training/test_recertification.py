"""Recertification: a module whose completions expire is renewed ahead of expiry, the
renewal is taken afresh, and a lapsed renewal counts as overdue (on a frozen clock)."""

from __future__ import annotations

import datetime as dt
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
from training.recertification import add_months

START = dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)


def at(months: int, days: int = 0) -> time_machine.travel:
    return time_machine.travel(add_months(START, months) + dt.timedelta(days=days), tick=True)


async def reconcile(stack: StackHandle, owner: Person) -> dict[str, int]:
    response = await stack.as_user(owner).post(f"{API}/assignment-rules/reconcile")
    assert response.status_code == 200, response.text
    result: dict[str, int] = response.json()
    return result


async def mine(stack: StackHandle, person: Person) -> list[dict[str, Any]]:
    response = await stack.as_user(person).get(f"{API}/me/assignments")
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def completed_yearly(stack: StackHandle) -> tuple[Person, Person, dict[str, Any]]:
    """A module renewed every 12 months, completed by a person on START."""
    owner = await policy_owner(stack)
    await publish_policy(stack, owner)
    module = await published_module(stack, owner, renew_every_months=12)
    person = await stack.person()
    await assign(stack, owner, module, [person])
    passed = await take_quiz(stack.as_user(person), module, passing=True)
    assert passed.json()["result"]["passed"] is True
    return owner, person, module


class TestRenewal:
    async def test_a_renewal_is_assigned_ahead_of_expiry_due_on_the_expiry_day(
        self, stack: StackHandle
    ) -> None:
        with at(0):
            owner, person, module = await completed_yearly(stack)
        with at(10):
            early = await reconcile(stack, owner)
        with at(11, days=5):
            due = await reconcile(stack, owner)
            again = await reconcile(stack, owner)
            assignments = await mine(stack, person)

        assert early["renewed"] == 0
        assert due["renewed"] == 1
        assert again["renewed"] == 0
        assert sorted(a["status"] for a in assignments) == ["completed", "not_started"]
        [renewal] = [a for a in assignments if a["status"] == "not_started"]
        assert renewal["module_id"] == module["id"]
        expiry = dt.datetime.fromisoformat(renewal["due_at"])
        assert abs(expiry - add_months(START, 12)) < dt.timedelta(minutes=5)

    async def test_the_renewal_is_taken_afresh_and_the_first_completion_stays(
        self, stack: StackHandle
    ) -> None:
        with at(0):
            owner, person, module = await completed_yearly(stack)
        with at(11, days=5):
            await reconcile(stack, owner)
            retaken = await take_quiz(stack.as_user(person), module, passing=True)
            assignments = await mine(stack, person)

        assert retaken.status_code == 200, retaken.text
        assert [a["status"] for a in assignments] == ["completed", "completed"]
        first, second = sorted(a["completed_at"] for a in assignments)
        assert dt.datetime.fromisoformat(second) - dt.datetime.fromisoformat(first) > dt.timedelta(
            days=300
        )

    async def test_a_lapsed_renewal_is_overdue_in_training_signals_and_reports(
        self, stack: StackHandle
    ) -> None:
        with at(0):
            owner, person, module = await completed_yearly(stack)
            hr = await stack.person(department="People", roles=["hr"])
        with at(11, days=5):
            await reconcile(stack, owner)
        with at(12, days=2):
            assignments = await mine(stack, person)
            signals = await stack.as_user(hr).get(
                f"{API}/signals", params={"reason": "training_overdue"}
            )
            report = await stack.as_user(hr).get(
                f"{API}/reports/completion", params={"module_id": module["id"]}
            )

        assert sorted(a["status"] for a in assignments) == ["completed", "overdue"]
        assert [s["person_id"] for s in signals.json()["items"]] == [str(person.id)]
        [department] = report.json()["departments"]
        assert (department["completed"], department["overdue"]) == (1, 1)

    async def test_a_leaver_is_not_renewed(self, stack: StackHandle) -> None:
        with at(0):
            owner, person, _ = await completed_yearly(stack)
        async with stack.stack.database("gateway").transaction() as session:
            person.active = False
            session.add(person)
        with at(11, days=5):
            result = await reconcile(stack, owner)

        assert result["renewed"] == 0

    async def test_a_module_without_renewal_is_never_renewed(self, stack: StackHandle) -> None:
        with at(0):
            owner = await policy_owner(stack)
            await publish_policy(stack, owner)
            module = await published_module(stack, owner)
            person = await stack.person()
            await assign(stack, owner, module, [person])
            await take_quiz(stack.as_user(person), module, passing=True)
        with at(60):
            result = await reconcile(stack, owner)

        assert result["renewed"] == 0
        assert module["renew_every_months"] is None


class TestAddMonths:
    def test_the_last_day_of_a_shorter_month(self) -> None:
        assert add_months(dt.datetime(2026, 1, 31, tzinfo=dt.UTC), 1).day == 28

    def test_over_a_year_end(self) -> None:
        moved = add_months(dt.datetime(2026, 11, 5, tzinfo=dt.UTC), 14)
        assert (moved.year, moved.month, moved.day) == (2028, 1, 5)
