"""The events of training and coaching: written with the change that causes them, handed to
the gateway, told to the people the domain names and delivered to subscribed webhooks;
nothing confidential (goals, notes, the closing note) in any payload."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from gateway.events.models import Notification
from gateway.models import Person
from kit.db import utcnow
from tests.coaching.support import BASE, act, ambassador, assign, make_coach, open_remedial
from tests.events.conftest import admin, drain, receiver, subscribe, webhook_sender
from tests.events.test_inbox import inbox
from tests.incidents.conftest import Org, report, worker
from tests.support.stack import StackHandle
from tests.support.webhooks import WebhookReceiver
from tests.training.factories import (
    API,
    policy_owner,
    publish_policy,
    published_module,
)
from tests.training.factories import (
    assign as assign_module,
)
from training.policy.models import Acknowledgement

__all__ = ["admin", "receiver"]  # fixtures used by the tests below


async def delivered(
    stack: StackHandle, receiver: WebhookReceiver, event_type: str
) -> list[dict[str, Any]]:
    await drain(stack)
    await webhook_sender(stack).send_all_due()
    return [r.body for r in receiver.accepted() if r.body["type"] == event_type]


async def of_kind(stack: StackHandle, person: Person, kind: str) -> list[dict[str, Any]]:
    return [n for n in await inbox(stack, person) if n["kind"] == kind]


class TestAssignmentCreated:
    async def test_the_person_is_told_of_a_new_assignment_and_a_webhook_receives_it(
        self, stack: StackHandle, admin: Person, receiver: WebhookReceiver
    ) -> None:
        await subscribe(stack, admin, receiver, ["training.assignment.created"])
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner, title="Posting about work")
        employee = await stack.person()

        created = await assign_module(stack, owner, module, [employee])

        [event] = await delivered(stack, receiver, "training.assignment.created")
        assignment = created["created"][0]
        assert event["data"]["assignment_id"] == assignment["assignment_id"]
        assert event["data"]["person_id"] == str(employee.id)
        assert event["data"]["module_title"] == "Posting about work"
        [told] = await of_kind(stack, employee, "training.assignment.created")
        assert "Posting about work" in told["subject"]
        assert told["link"].endswith(f"/assignments/{assignment['assignment_id']}")

    async def test_an_assignment_rule_tells_its_members_and_a_joiner_later(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner)
        member = await stack.person(department="Legal")
        rule = await stack.as_user(owner).post(
            f"{API}/assignment-rules",
            json={
                "module_id": module["id"],
                "target": "department",
                "name": "Legal",
                "due_days": 30,
            },
        )
        assert rule.status_code == 201, rule.text
        joiner = await stack.person(department="Legal")

        reconciled = await stack.as_user(owner).post(f"{API}/assignment-rules/reconcile")
        assert reconciled.status_code == 200, reconciled.text
        await drain(stack)

        assert len(await of_kind(stack, member, "training.assignment.created")) == 1
        assert len(await of_kind(stack, joiner, "training.assignment.created")) == 1

    async def test_assigning_again_tells_nobody_again(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner)
        employee = await stack.person()
        await assign_module(stack, owner, module, [employee])
        await assign_module(stack, owner, module, [employee])

        await drain(stack)

        assert len(await of_kind(stack, employee, "training.assignment.created")) == 1


class TestPolicyPublished:
    async def test_every_active_person_is_asked_to_acknowledge_a_new_version(
        self, stack: StackHandle, admin: Person, receiver: WebhookReceiver
    ) -> None:
        await subscribe(
            stack, admin, receiver, ["policy.published", "training.acknowledgement.requested"]
        )
        owner = await policy_owner(stack)
        employee = await stack.person()
        dutch = await stack.person(locale="nl-NL")
        gone = await stack.person(active=False)

        version = await publish_policy(stack, owner)

        [published] = await delivered(stack, receiver, "policy.published")
        [requested] = await delivered(stack, receiver, "training.acknowledgement.requested")
        assert published["data"]["version_id"] == version["id"]
        assert requested["data"]["requested_of"] == "every_active_employee"
        [asked] = await of_kind(stack, employee, "training.acknowledgement.requested")
        assert asked["link"].endswith("/api/v1/training/policy")
        [gevraagd] = await of_kind(stack, dutch, "training.acknowledgement.requested")
        assert "bevestig" in gevraagd["body"]
        async with stack.stack.database("gateway").transaction(write=False) as session:
            kept = await session.scalars(
                select(Notification).where(col(Notification.person_id) == gone.id)
            )
            assert kept.all() == []  # a deactivated person is asked nothing

    async def test_a_version_without_acknowledgement_asks_nobody(
        self, stack: StackHandle, admin: Person, receiver: WebhookReceiver
    ) -> None:
        await subscribe(
            stack, admin, receiver, ["policy.published", "training.acknowledgement.requested"]
        )
        owner = await policy_owner(stack)
        employee = await stack.person()

        await publish_policy(stack, owner, requires_acknowledgement=False)

        assert len(await delivered(stack, receiver, "policy.published")) == 1
        assert await delivered(stack, receiver, "training.acknowledgement.requested") == []
        assert await inbox(stack, employee) == []


class TestAcknowledgementRenewal:
    async def test_only_the_person_whose_acknowledgement_expires_is_asked_to_renew(
        self, stack: StackHandle, admin: Person, receiver: WebhookReceiver
    ) -> None:
        owner = await policy_owner(stack)
        version = await publish_policy(stack, owner, renew_acknowledgement_every_months=12)
        due, later = await stack.person(), await stack.person()
        for person in (due, later):
            await stack.as_user(person).post(
                f"{API}/policy/acknowledgements", json={"version_id": version["id"]}
            )
        await drain(stack)
        await subscribe(stack, admin, receiver, ["training.acknowledgement.requested"])
        async with stack.stack.database("training").transaction() as session:
            # Acknowledged eleven months ago: it lapses within the lead time.
            await session.execute(
                update(Acknowledgement)
                .where(col(Acknowledgement.person_id) == due.id)
                .values(expires_at=utcnow() + dt.timedelta(days=20))
            )

        reconciled = await stack.as_user(owner).post(f"{API}/assignment-rules/reconcile")

        assert reconciled.json()["acknowledgement_renewals"] == 1
        [requested] = await delivered(stack, receiver, "training.acknowledgement.requested")
        assert requested["data"]["requested_of"] == "person"
        assert requested["data"]["person_id"] == str(due.id)
        assert requested["data"]["version_id"] == version["id"]
        assert requested["data"]["due_at"] is not None
        asked = await of_kind(stack, due, "training.acknowledgement.requested")
        assert sorted(n["subject"].startswith("Please renew") for n in asked) == [False, True]
        assert len(await of_kind(stack, later, "training.acknowledgement.requested")) == 1

    async def test_a_webhook_receives_the_lapse_with_ids_and_no_names(
        self, stack: StackHandle, admin: Person, receiver: WebhookReceiver
    ) -> None:
        owner = await policy_owner(stack)
        version = await publish_policy(stack, owner, renew_acknowledgement_every_months=12)
        person = await stack.person(display_name="Lena Lapsed")
        await stack.as_user(person).post(
            f"{API}/policy/acknowledgements", json={"version_id": version["id"]}
        )
        await drain(stack)
        await subscribe(
            stack,
            admin,
            receiver,
            ["training.acknowledgement.requested", "training.acknowledgement.overdue"],
        )
        lapses = utcnow() + dt.timedelta(days=20)
        async with stack.stack.database("training").transaction() as session:
            await session.execute(update(Acknowledgement).values(expires_at=lapses))
        await stack.as_user(owner).post(f"{API}/assignment-rules/reconcile")

        job = stack.stack.apps["training"].state.reminders
        await job.run_once(now=lapses + dt.timedelta(hours=1))

        [lapsed] = await delivered(stack, receiver, "training.acknowledgement.overdue")
        data = lapsed["data"]
        assert set(data) == {
            "policy_id",
            "version_id",
            "number",
            "title",
            "person_id",
            "acknowledgement_id",
            "due_at",
        }
        assert (data["person_id"], data["version_id"]) == (str(person.id), version["id"])
        [asked] = await delivered(stack, receiver, "training.acknowledgement.requested")
        assert data["acknowledgement_id"] == asked["data"]["acknowledgement_id"]
        assert dt.datetime.fromisoformat(data["due_at"]) == lapses
        assert "Lena" not in str(lapsed)
        assert str(person.email) not in str(lapsed)


class TestEngagements:
    async def test_the_coachee_and_the_coach_are_told_when_an_engagement_opens(
        self, stack: StackHandle, admin: Person, receiver: WebhookReceiver
    ) -> None:
        await subscribe(stack, admin, receiver, ["coaching.engagement.opened"])
        coachee = await stack.person(display_name="Cora Coachee")
        coach_person, coach = await make_coach(stack)
        created = await stack.as_user(coach_person).post(
            f"{BASE}/engagements",
            json={
                "coachee_id": str(coachee.id),
                "track": "development",
                "source": "training_signal",
                "goals": "Write about our product launches without overpromising.",
                "coach_id": coach["id"],
            },
        )
        assert created.status_code == 201, created.text

        [event] = await delivered(stack, receiver, "coaching.engagement.opened")
        assert event["data"]["coachee_id"] == str(coachee.id)
        assert event["data"]["coach_person_id"] == str(coach_person.id)
        assert "overpromising" not in str(event)
        [for_coachee] = await of_kind(stack, coachee, "coaching.engagement.opened")
        [for_coach] = await of_kind(stack, coach_person, "coaching.engagement.opened")
        assert "development" in for_coachee["subject"]
        assert "Cora Coachee" in for_coach["subject"]
        assert "overpromising" not in for_coachee["body"] + for_coach["body"]

    async def test_a_completed_engagement_carries_its_outcome_and_never_its_note(
        self, stack: StackHandle, admin: Person, receiver: WebhookReceiver
    ) -> None:
        await subscribe(stack, admin, receiver, ["coaching.engagement.completed"])
        coachee = await stack.person()
        coach_person, coach = await make_coach(stack)
        client = stack.as_user(coach_person)
        engagement = (await open_remedial(stack, coachee)).json()
        engagement = (await assign(client, engagement, coach["id"])).json()
        engagement = (await act(client, engagement, "start")).json()

        completed = await act(
            client,
            engagement,
            "complete",
            {"outcome": "goals_met", "summary": "Talked through the customer list post."},
        )
        assert completed.status_code == 200, completed.text

        [event] = await delivered(stack, receiver, "coaching.engagement.completed")
        assert event["data"]["outcome"] == "goals_met"
        assert event["data"]["track"] == "remedial"
        assert "customer list" not in str(event)
        assert "goals" not in event["data"]


class TestAmbassadorSuspended:
    async def test_a_decision_that_suspends_an_ambassador_is_an_event(
        self, stack: StackHandle, org: Org, admin: Person, receiver: WebhookReceiver
    ) -> None:
        await subscribe(stack, admin, receiver, ["coaching.ambassador.suspended"])
        person, _ = await ambassador(stack)

        await report(stack, org.reporter, person, severity="medium")
        await worker(stack).run_due()

        [event] = await delivered(stack, receiver, "coaching.ambassador.suspended")
        assert event["data"]["person_id"] == str(person.id)
        assert event["data"]["reason"] == "incident_decision"
        assert str(org.reporter.id) not in str(event)

    async def test_a_low_severity_decision_suspends_nobody(
        self, stack: StackHandle, org: Org, admin: Person, receiver: WebhookReceiver
    ) -> None:
        await subscribe(stack, admin, receiver, ["coaching.ambassador.suspended"])
        person, _ = await ambassador(stack)

        await report(stack, org.reporter, person, severity="low")
        await worker(stack).run_due()

        assert await delivered(stack, receiver, "coaching.ambassador.suspended") == []
