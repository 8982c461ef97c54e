"""A coach assigned to an engagement after it opened is told, like one named when it
opened (issue 21): an inbox entry and an e-mail, and ``coaching.engagement.coach_assigned``
for integrators; a coach who takes an engagement on themselves is not told what they did."""

from __future__ import annotations

from typing import Any

from gateway.events.mailcatcher import MailCatcher
from gateway.models import Person
from tests.coaching.support import assign, make_coach, open_remedial
from tests.events.conftest import admin, drain, mailer, receiver, subscribe, webhook_sender
from tests.events.test_inbox import inbox
from tests.support.stack import StackHandle
from tests.support.webhooks import WebhookReceiver

__all__ = ["admin", "receiver"]  # fixtures used by the tests below

KIND = "coaching.engagement.coach_assigned"


async def told(stack: StackHandle, person: Person) -> list[dict[str, Any]]:
    await drain(stack)
    return [n for n in await inbox(stack, person) if n["kind"] == KIND]


class TestCoachAssignedLater:
    async def test_the_coach_hr_assigns_is_told_by_inbox_mail_and_webhook(
        self,
        stack: StackHandle,
        admin: Person,
        receiver: WebhookReceiver,
        mail: MailCatcher,
    ) -> None:
        await subscribe(stack, admin, receiver, [KIND])
        coachee = await stack.person(display_name="Cora Coachee")
        coach_person, coach = await make_coach(stack)
        engagement = (await open_remedial(stack, coachee)).json()
        hr = stack.as_user(await stack.person(roles=["hr"]))

        assigned = await assign(hr, engagement, coach["id"])

        assert assigned.status_code == 200, assigned.text
        [entry] = await told(stack, coach_person)
        assert "Cora Coachee" in entry["subject"]
        assert entry["link"].endswith(f"/api/v1/coaching/engagements/{engagement['id']}")
        assert await told(stack, coachee) == []
        await mailer(stack).send_all_due()
        [message] = mail.to(str(coach_person.email))
        assert message["Subject"] == entry["subject"]
        await webhook_sender(stack).send_all_due()
        [event] = [r.body for r in receiver.accepted() if r.body["type"] == KIND]
        assert event["data"]["coach_person_id"] == str(coach_person.id)
        assert event["data"]["engagement_id"] == engagement["id"]

    async def test_a_new_coach_replacing_the_first_is_told_and_only_once(
        self, stack: StackHandle
    ) -> None:
        coachee = await stack.person()
        first_person, first = await make_coach(stack)
        second_person, second = await make_coach(stack)
        engagement = (await open_remedial(stack, coachee)).json()
        hr = stack.as_user(await stack.person(roles=["hr"]))
        engagement = (await assign(hr, engagement, first["id"])).json()

        replaced = await assign(hr, engagement, second["id"])
        again = await assign(hr, replaced.json(), second["id"])

        assert again.status_code == 200, again.text
        assert len(await told(stack, first_person)) == 1
        assert len(await told(stack, second_person)) == 1

    async def test_a_coach_taking_it_on_is_not_told(self, stack: StackHandle) -> None:
        coachee = await stack.person()
        coach_person, coach = await make_coach(stack)
        engagement = (await open_remedial(stack, coachee)).json()

        taken = await assign(stack.as_user(coach_person), engagement, coach["id"])

        assert taken.status_code == 200, taken.text
        assert await told(stack, coach_person) == []
