"""Recertification of policy acknowledgements: a version can make its acknowledgements
expire; the person is asked to renew ahead of expiry (once), a lapsed one is overdue in
their training, the reports, the signals and coaching's candidates, and acknowledging the
version again renews it (on a frozen, then moved, clock)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
import time_machine

from gateway.models import Person
from tests.coaching.support import BASE as COACHING
from tests.events.conftest import drain
from tests.events.test_inbox import inbox
from tests.support.stack import StackHandle
from tests.training.factories import API, CLAUSES, policy_owner, publish_policy
from training.recertification import add_months

START = dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)
RENEWAL = "renew_acknowledgement_every_months"


def at(months: int, days: int = 0) -> time_machine.travel:
    return time_machine.travel(add_months(START, months) + dt.timedelta(days=days), tick=True)


def near(value: str | None, expected: dt.datetime) -> bool:
    assert value is not None
    return abs(dt.datetime.fromisoformat(value) - expected) < dt.timedelta(minutes=5)


async def reconcile(stack: StackHandle, owner: Person) -> int:
    response = await stack.as_user(owner).post(f"{API}/assignment-rules/reconcile")
    assert response.status_code == 200, response.text
    asked: int = response.json()["acknowledgement_renewals"]
    return asked


async def acknowledge(
    stack: StackHandle, person: Person, version: dict[str, Any]
) -> httpx.Response:
    return await stack.as_user(person).post(
        f"{API}/policy/acknowledgements", json={"version_id": version["id"]}
    )


async def mine(stack: StackHandle, person: Person) -> dict[str, Any]:
    response = await stack.as_user(person).get(f"{API}/policy/acknowledgements/me")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def report(stack: StackHandle, hr: Person) -> dict[str, Any]:
    response = await stack.as_user(hr).get(
        f"{API}/reports/acknowledgements", params={"department": "Legal"}
    )
    assert response.status_code == 200, response.text
    [department] = response.json()["departments"]
    counts: dict[str, Any] = department
    return counts


async def overdue_signals(stack: StackHandle, hr: Person) -> list[dict[str, Any]]:
    response = await stack.as_user(hr).get(f"{API}/signals", params={"reason": "training_overdue"})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def yearly(stack: StackHandle) -> tuple[Person, Person, Person, dict[str, Any]]:
    """A policy whose acknowledgements are valid 12 months, acknowledged by a person in
    Legal on START (call inside ``at(0)``)."""
    owner = await policy_owner(stack)
    version = await publish_policy(stack, owner, **{RENEWAL: 12})
    person = await stack.person(department="Legal")
    hr = await stack.person(department="People", roles=["hr"])
    acknowledged = await acknowledge(stack, person, version)
    assert acknowledged.status_code == 201, acknowledged.text
    return owner, person, hr, version


class TestTheSetting:
    async def test_a_version_carries_it_and_the_next_draft_copies_it(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        first = await publish_policy(stack, owner, **{RENEWAL: 24})
        client = stack.as_user(owner)

        copied = await client.post(
            f"{API}/policy/versions", json={"body_markdown": "# v2", "clauses": CLAUSES}
        )
        cleared = await client.post(
            f"{API}/policy/versions",
            json={"body_markdown": "# v3", "clauses": CLAUSES, RENEWAL: None},
        )
        listed = await client.get(f"{API}/policy/versions")

        assert first[RENEWAL] == 24
        assert copied.json()[RENEWAL] == 24
        assert cleared.json()[RENEWAL] is None
        assert [v[RENEWAL] for v in listed.json()["items"]] == [None, 24, 24]

    async def test_a_draft_is_patched_to_it(self, stack: StackHandle) -> None:
        client = stack.as_user(await policy_owner(stack))
        draft = await client.post(
            f"{API}/policy/versions", json={"body_markdown": "# v1", "clauses": CLAUSES}
        )

        patched = await client.patch(
            f"{API}/policy/versions/{draft.json()['id']}",
            json={RENEWAL: 6},
            headers={"If-Match": draft.headers["ETag"]},
        )

        assert patched.status_code == 200, patched.text
        assert patched.json()[RENEWAL] == 6

    @pytest.mark.parametrize("months", [0, 121, "12", 1.5])
    async def test_out_of_range_or_not_an_integer_is_a_422(
        self, stack: StackHandle, months: Any
    ) -> None:
        client = stack.as_user(await policy_owner(stack))

        response = await client.post(
            f"{API}/policy/versions",
            json={"body_markdown": "# v1", "clauses": CLAUSES, RENEWAL: months},
        )

        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["pointer"] == f"#/{RENEWAL}"

    async def test_a_version_that_asks_no_acknowledgement_cannot_renew_one(
        self, stack: StackHandle
    ) -> None:
        client = stack.as_user(await policy_owner(stack))
        draft = await client.post(
            f"{API}/policy/versions",
            json={"body_markdown": "# v1", "clauses": CLAUSES, RENEWAL: 12},
        )

        created = await client.post(
            f"{API}/policy/versions",
            json={
                "body_markdown": "# v2",
                "clauses": CLAUSES,
                "requires_acknowledgement": False,
                RENEWAL: 12,
            },
        )
        patched = await client.patch(
            f"{API}/policy/versions/{draft.json()['id']}",
            json={"requires_acknowledgement": False},
            headers={"If-Match": draft.headers["ETag"]},
        )

        assert created.status_code == 422
        assert created.json()["errors"][0]["pointer"] == f"#/{RENEWAL}"
        assert patched.status_code == 422
        assert RENEWAL in patched.json()["detail"]


class TestRenewalRequested:
    async def test_asked_once_ahead_of_expiry_and_shown_as_due(self, stack: StackHandle) -> None:
        with at(0):
            owner, person, hr, _ = await yearly(stack)
        with at(10):
            early = await reconcile(stack, owner)
            before = await mine(stack, person)
        with at(11, days=5):
            due = await reconcile(stack, owner)
            again = await reconcile(stack, owner)
            after = await mine(stack, person)
            counts = await report(stack, hr)
            progress = await stack.as_user(person).get(f"{API}/people/{person.id}/progress")

        assert (early, due, again) == (0, 1, 0)
        assert before["status"] == "acknowledged"
        assert near(before["expires_at"], add_months(START, 12))
        assert after["status"] == "renewal_due"
        assert after["renewal_requested_at"] is not None
        assert (counts["acknowledged"], counts["renewal_due"], counts["overdue"]) == (1, 1, 0)
        assert progress.json()["acknowledgement"]["status"] == "renewal_due"

    async def test_the_person_is_told(self, stack: StackHandle) -> None:
        with at(0):
            owner, person, _, version = await yearly(stack)
        with at(11, days=5):
            await reconcile(stack, owner)
            await drain(stack, "training")
            await reconcile(stack, owner)
            await drain(stack, "training")
            told = [
                n
                for n in await inbox(stack, person)
                if n["kind"] == "training.acknowledgement.requested"
            ]

        # The publication asked everyone once; the renewal asks the person once more.
        renewal = [n for n in told if "renew" in n["subject"]]
        assert len(told) == 2
        assert len(renewal) == 1
        assert f"version {version['number']}" in renewal[0]["subject"]
        assert renewal[0]["link"].endswith("/api/v1/training/policy")

    async def test_acknowledging_again_before_the_request_changes_nothing(
        self, stack: StackHandle
    ) -> None:
        with at(0):
            _, person, _, version = await yearly(stack)
        with at(6):
            again = await acknowledge(stack, person, version)

        assert again.status_code == 200
        assert near(again.json()["acknowledged_at"], START)

    async def test_a_version_without_renewal_is_never_asked(self, stack: StackHandle) -> None:
        with at(0):
            owner = await policy_owner(stack)
            version = await publish_policy(stack, owner)
            person = await stack.person()
            await acknowledge(stack, person, version)
        with at(60):
            asked = await reconcile(stack, owner)
            status = await mine(stack, person)

        assert asked == 0
        assert (status["status"], status["expires_at"]) == ("acknowledged", None)

    async def test_a_leaver_is_not_asked(self, stack: StackHandle) -> None:
        with at(0):
            owner, person, _, _ = await yearly(stack)
        await leave(stack, person)
        with at(11, days=5):
            asked = await reconcile(stack, owner)

        assert asked == 0


async def leave(stack: StackHandle, person: Person) -> None:
    async with stack.stack.database("gateway").transaction() as session:
        person.active = False
        session.add(person)


class TestLapsed:
    async def test_overdue_in_training_reports_and_signals(self, stack: StackHandle) -> None:
        with at(0):
            owner, person, hr, version = await yearly(stack)
        with at(11, days=5):
            await reconcile(stack, owner)
        with at(12, days=2):
            status = await mine(stack, person)
            counts = await report(stack, hr)
            people = await stack.as_user(hr).get(
                f"{API}/reports/acknowledgements/people", params={"department": "Legal"}
            )
            signals = await overdue_signals(stack, hr)
            progress = await stack.as_user(hr).get(f"{API}/people/{person.id}/progress")

        assert status["status"] == "overdue"
        assert counts == {
            "department": "Legal",
            "people": 1,
            "acknowledged": 0,
            "renewal_due": 0,
            "pending": 0,
            "overdue": 1,
        }
        [row] = people.json()["items"]
        assert row["status"] == "overdue"
        [signal] = signals
        assert signal["person_id"] == str(person.id)
        assert signal["module_id"] is None
        assert signal["policy_version_id"] == version["id"]
        assert "lapsed on" in signal["detail"]
        assert near(signal["since"], add_months(START, 12))
        assert progress.json()["acknowledgement"]["status"] == "overdue"

    async def test_a_leavers_lapse_is_no_signal(self, stack: StackHandle) -> None:
        with at(0):
            owner, person, hr, _ = await yearly(stack)
        with at(11, days=5):
            await reconcile(stack, owner)
        await leave(stack, person)
        with at(11, days=20):
            await reconcile(stack, owner)
        with at(12, days=2):
            signals = await overdue_signals(stack, hr)

        assert signals == []

    async def test_coaching_lists_the_person_as_a_candidate(self, stack: StackHandle) -> None:
        with at(0):
            owner, person, hr, _ = await yearly(stack)
        with at(11, days=5):
            await reconcile(stack, owner)
        with at(12, days=2):
            response = await stack.as_user(hr).get(
                f"{COACHING}/candidates", params={"reason": "training_overdue"}
            )

        assert response.status_code == 200, response.text
        assert [(c["person_id"], c["module_id"]) for c in response.json()["items"]] == [
            (str(person.id), None)
        ]

    async def test_acknowledging_the_current_version_again_renews_it(
        self, stack: StackHandle
    ) -> None:
        with at(0):
            owner, person, hr, version = await yearly(stack)
        with at(11, days=5):
            await reconcile(stack, owner)
        with at(12, days=2):
            renewed = await acknowledge(stack, person, version)
            repeated = await acknowledge(stack, person, version)
            status = await mine(stack, person)
            counts = await report(stack, hr)
            signals = await overdue_signals(stack, hr)
        with at(23, days=5):
            asked_again = await reconcile(stack, owner)

        assert renewed.status_code == 201, renewed.text
        assert repeated.status_code == 200
        assert repeated.json()["acknowledged_at"] == renewed.json()["acknowledged_at"]
        assert status["status"] == "acknowledged"
        assert near(status["expires_at"], add_months(START, 24) + dt.timedelta(days=2))
        assert (counts["acknowledged"], counts["overdue"]) == (1, 0)
        assert signals == []
        assert asked_again == 1  # the new acknowledgement is renewed in its turn

    async def test_renewing_before_the_lapse_never_turns_overdue(self, stack: StackHandle) -> None:
        with at(0):
            owner, person, hr, version = await yearly(stack)
        with at(11, days=5):
            await reconcile(stack, owner)
            renewed = await acknowledge(stack, person, version)
        with at(12, days=2):
            status = await mine(stack, person)
            signals = await overdue_signals(stack, hr)

        assert renewed.status_code == 201
        assert status["status"] == "acknowledged"
        assert signals == []

    async def test_a_new_version_asks_everyone_afresh(self, stack: StackHandle) -> None:
        with at(0):
            owner, person, hr, _ = await yearly(stack)
        with at(11, days=5):
            await reconcile(stack, owner)
        with at(12, days=2):
            second = await publish_policy(stack, owner, body_markdown="# v2")
            status = await mine(stack, person)
            signals = await overdue_signals(stack, hr)

        assert second[RENEWAL] == 12  # copied from version 1
        assert (status["version_id"], status["status"]) == (second["id"], "pending")
        assert signals == []
