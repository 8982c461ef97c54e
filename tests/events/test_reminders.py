"""Reminders and deadlines: the leased job of training and incidents reminds before a due
date or a decision's deadline, and once it has passed says so once, to the people the
domain names (the manager of someone whose training is overdue, whoever the escalation
rule names for an incident), in the inbox and on the incident's timeline."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from gateway.events.mailcatcher import MailCatcher
from gateway.models import Person
from kit.reminders import ReminderJob
from tests.events.conftest import admin, drain, mailer, receiver, subscribe, webhook_sender
from tests.events.test_email import parts
from tests.events.test_inbox import inbox
from tests.incidents.conftest import (
    Org,
    add_to_group,
    as_hr,
    deactivate,
    etag_of,
    publish_rules,
    report,
)
from tests.support.stack import StackHandle
from tests.support.webhooks import WebhookReceiver
from tests.training.factories import (
    API,
    assign,
    policy_owner,
    publish_policy,
    published_module,
    take_quiz,
)
from tests.training.test_acknowledgement_renewal import (
    START,
    acknowledge,
    yearly,
)
from tests.training.test_acknowledgement_renewal import at as renewal_at
from tests.training.test_acknowledgement_renewal import reconcile as reconcile_rules
from training.recertification import add_months

__all__ = ["admin", "receiver"]  # fixtures used by the tests below

POLICIES = "/api/v1/incidents/escalation-policies"
# Training's reminder rules, none of which had anything to say.
NONE = {
    "assignment_due_reminder": 0,
    "assignment_overdue": 0,
    "acknowledgement_renewal_reminder": 0,
    "acknowledgement_overdue": 0,
}
PUBLISHED = "/api/v1/incidents/escalation-policy"


def reminders(stack: StackHandle, app: str) -> ReminderJob:
    job: ReminderJob = stack.stack.apps[app].state.reminders
    return job


def at(value: str, **delta: float) -> dt.datetime:
    return dt.datetime.fromisoformat(value) + dt.timedelta(**delta)


async def timeline(stack: StackHandle, org: Org, incident_id: str) -> list[dict[str, Any]]:
    response = await stack.as_user(org.hr).get(f"/api/v1/incidents/{incident_id}/timeline")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def kinds(stack: StackHandle, person: Person) -> list[str]:
    return [n["kind"] for n in await inbox(stack, person)]


async def medium_incident(stack: StackHandle, org: Org) -> tuple[dict[str, Any], str, Person]:
    """A medium incident: the employee's manager owns it (168 h); the manager has a
    manager of their own. Its deadline and that director."""
    director = await stack.person(display_name="Dana Director")
    await set_manager(stack, org.manager, director)
    incident = await report(stack, org.reporter, org.employee, severity="medium")
    await drain(stack)
    deadline = (await as_hr(stack, org, incident["id"]))["decision"]["deadline_at"]
    return incident, deadline, director


async def set_manager(stack: StackHandle, person: Person, manager: Person) -> None:
    async with stack.stack.database("gateway").transaction() as session:
        row = await session.get(Person, person.id)
        assert row is not None
        row.manager_id = manager.id
        session.add(row)


class TestIncidentDeadlines:
    async def test_the_owner_is_reminded_a_day_before_the_deadline_once(
        self, stack: StackHandle, org: Org
    ) -> None:
        incident, deadline, _ = await medium_incident(stack, org)
        job = reminders(stack, "incidents")

        early = await job.run_once(now=at(deadline, hours=-48))
        first = await job.run_once(now=at(deadline, hours=-12))
        again = await job.run_once(now=at(deadline, hours=-6))
        await drain(stack)

        assert early["incident_deadline_reminder"] == 0
        assert first["incident_deadline_reminder"] == 1
        assert again["incident_deadline_reminder"] == 0
        assert await kinds(stack, org.manager) == ["incident.reminder", "incident.decided"]
        [reminder] = [
            n for n in await inbox(stack, org.manager) if n["kind"] == "incident.reminder"
        ]
        assert "Respond by" in reminder["body"]
        assert reminder["link"].endswith(f"/api/v1/incidents/{incident['id']}")
        assert await kinds(stack, org.employee) == []
        entries = [e["kind"] for e in await timeline(stack, org, incident["id"])]
        assert entries.count("deadline_reminder") == 1

    async def test_a_missed_deadline_tells_the_owner_their_manager_and_hr_once(
        self, stack: StackHandle, org: Org, mail: MailCatcher
    ) -> None:
        incident, deadline, director = await medium_incident(stack, org)
        job = reminders(stack, "incidents")

        before = await job.run_once(now=at(deadline, minutes=-1))
        passed = await job.run_once(now=at(deadline, minutes=1))
        again = await job.run_once(now=at(deadline, hours=5))
        await drain(stack)
        await mailer(stack).send_all_due()

        assert before["incident_deadline_missed"] == 0
        assert passed["incident_deadline_missed"] == 1
        assert again["incident_deadline_missed"] == 0
        assert (await kinds(stack, org.manager))[0] == "incident.overdue"
        [escalated] = await inbox(stack, director)
        assert escalated["kind"] == "incident.overdue"
        assert "manager of its owner" in escalated["body"]
        assert "HR" in (await inbox(stack, org.hr))[0]["body"]
        assert await kinds(stack, org.employee) == []
        assert await kinds(stack, org.reporter) == []
        overdue = [m for m in mail.messages if "passed its deadline" in parts(m)[0]]
        assert {m["To"] for m in overdue} == {org.manager.email, director.email, org.hr.email}
        for message in overdue:
            text = message.as_string() + "".join(parts(message))
            assert "Q3 revenue" not in text
            assert org.reporter.display_name not in text
        [entry] = [
            e for e in await timeline(stack, org, incident["id"]) if e["kind"] == "deadline_missed"
        ]
        assert "the owner's manager" in entry["summary"]
        assert "HR" in entry["summary"]

    async def test_a_closed_incident_is_never_overdue(self, stack: StackHandle, org: Org) -> None:
        incident, deadline, director = await medium_incident(stack, org)
        hr = stack.as_user(org.hr)
        closed = await hr.patch(
            f"/api/v1/incidents/{incident['id']}",
            json={"status": "dismissed", "reason": "Not our employee's post after all."},
            headers={"If-Match": await etag_of(hr, incident["id"])},
        )
        assert closed.status_code == 200, closed.text

        counts = await reminders(stack, "incidents").run_once(now=at(deadline, days=3))

        assert counts == {"incident_deadline_reminder": 0, "incident_deadline_missed": 0}
        await drain(stack)
        assert await inbox(stack, director) == []

    async def test_the_rule_says_who_is_told_when_its_deadline_passes(
        self, stack: StackHandle, org: Org
    ) -> None:
        def legal_instead(rules: list[dict[str, Any]]) -> None:
            rules[4]["on_deadline_missed"] = ["legal", "group:Works council"]  # medium

        await publish_rules(stack, org, legal_instead)
        council = await stack.person(department="Council")
        await add_to_group(stack, "Works council", council)
        incident, deadline, director = await medium_incident(stack, org)

        await reminders(stack, "incidents").run_once(now=at(deadline, hours=1))
        await drain(stack)

        assert (await kinds(stack, org.legal))[0] == "incident.overdue"
        assert (await kinds(stack, council))[0] == "incident.overdue"
        assert await inbox(stack, director) == []
        assert "incident.overdue" not in await kinds(stack, org.hr)
        [entry] = [
            e for e in await timeline(stack, org, incident["id"]) if e["kind"] == "deadline_missed"
        ]
        assert "Works council" in entry["summary"]

    async def test_a_webhook_receives_the_overdue_event_without_the_reporter(
        self, stack: StackHandle, org: Org, admin: Person, receiver: WebhookReceiver
    ) -> None:
        await subscribe(stack, admin, receiver, ["incident.overdue"])
        incident, deadline, _ = await medium_incident(stack, org)

        await reminders(stack, "incidents").run_once(now=at(deadline, hours=1))
        await drain(stack)
        await webhook_sender(stack).send_all_due()

        [received] = receiver.accepted()
        assert received.body["type"] == "incident.overdue"
        assert received.body["data"]["incident_id"] == incident["id"]
        assert received.body["data"]["escalate_to"] == ["owner_manager", "hr"]
        assert str(org.reporter.id) not in str(received.body)
        assert "description" not in received.body["data"]


class TestEscalationRuleField:
    async def test_a_rule_tells_the_owners_manager_and_hr_by_default(
        self, stack: StackHandle, org: Org
    ) -> None:
        policy = await stack.as_user(org.hr).get(PUBLISHED)

        assert policy.status_code == 200, policy.text
        assert {tuple(r["on_deadline_missed"]) for r in policy.json()["rules"]} == {
            ("owner_manager", "hr")
        }

    async def test_an_unknown_party_is_a_422_naming_the_field(
        self, stack: StackHandle, org: Org
    ) -> None:
        hr = stack.as_user(org.hr)
        draft = await hr.post(POLICIES, json={})
        rules = draft.json()["rules"]
        rules[0]["on_deadline_missed"] = ["the_ceo"]

        response = await hr.put(
            f"{POLICIES}/{draft.json()['id']}",
            json={"rules": rules},
            headers={"If-Match": draft.headers["ETag"]},
        )

        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert any("on_deadline_missed" in e["pointer"] for e in response.json()["errors"])

    async def test_employees_read_who_is_told_in_plain_words(
        self, stack: StackHandle, org: Org
    ) -> None:
        response = await stack.as_user(org.employee).get(PUBLISHED)

        assert response.status_code == 200, response.text
        medium = response.json()["rules"][4]["plain"]
        assert medium["if_deadline_missed"] == (
            "If your manager misses the deadline, your manager's manager and HR are told."
        )
        assert medium["if_deadline_missed"] in medium["text"]


class TestAssignmentDueDates:
    async def training(self, stack: StackHandle) -> tuple[Person, dict[str, Any]]:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        return owner, await published_module(stack, owner, title="Posting about work")

    async def test_a_reminder_before_the_due_date_then_the_person_and_manager_when_overdue(
        self, stack: StackHandle
    ) -> None:
        owner, module = await self.training(stack)
        manager = await stack.person(display_name="Mia Manager")
        employee = await stack.person(display_name="Eli Employee", manager=manager)
        created = await assign(stack, owner, module, [employee], due_in=dt.timedelta(days=10))
        due = created["due_at"]
        job = reminders(stack, "training")

        soon = await job.run_once(now=at(due, days=-2))
        late = await job.run_once(now=at(due, hours=1))
        again = await job.run_once(now=at(due, days=2))
        await drain(stack)

        assert soon == {**NONE, "assignment_due_reminder": 1}
        assert late == {**NONE, "assignment_overdue": 1}
        assert again == NONE
        mine = [
            n for n in await inbox(stack, employee) if n["kind"].endswith(("overdue", "reminder"))
        ]
        assert [n["kind"] for n in mine] == [
            "training.assignment.overdue",
            "training.assignment.reminder",
        ]
        assert "Posting about work" in mine[0]["subject"]
        [told] = [n for n in await inbox(stack, manager) if n["kind"].endswith("overdue")]
        assert "Eli Employee" in told["subject"]
        assert "Posting about work" in told["body"]
        assert told["link"].endswith(
            f"/api/v1/training/assignments/{created['created'][0]['assignment_id']}"
        )

    async def test_a_completed_assignment_is_never_overdue(self, stack: StackHandle) -> None:
        owner, module = await self.training(stack)
        manager = await stack.person()
        employee = await stack.person(manager=manager)
        created = await assign(stack, owner, module, [employee], due_in=dt.timedelta(days=10))
        passed = await take_quiz(stack.as_user(employee), module, passing=True)
        assert passed.status_code == 200, passed.text

        counts = await reminders(stack, "training").run_once(now=at(created["due_at"], days=1))

        assert counts == NONE
        await drain(stack)
        assert "training.assignment.overdue" not in await kinds(stack, manager)

    async def test_an_assignment_due_within_the_reminder_window_gets_no_reminder(
        self, stack: StackHandle
    ) -> None:
        owner, module = await self.training(stack)
        employee = await stack.person()
        created = await assign(stack, owner, module, [employee], due_in=dt.timedelta(days=1))

        counts = await reminders(stack, "training").run_once(now=at(created["due_at"], hours=-2))
        await drain(stack)

        assert counts["assignment_due_reminder"] == 1  # looked at, and nothing to say
        assert "training.assignment.reminder" not in await kinds(stack, employee)


class TestAcknowledgementDueDates:
    """A yearly acknowledgement (``yearly``: acknowledged on START, lapses a year later)
    whose renewal the reconciliation asked for 11 months in; the job runs at set instants."""

    LAPSES = add_months(START, 12)

    async def asked(self, stack: StackHandle, *, manager: Person) -> tuple[Person, Person]:
        """The person (reporting to ``manager``) and the policy owner, once asked to renew."""
        with renewal_at(0):
            owner, person, _, _ = await yearly(stack)
        await set_manager(stack, person, manager)
        with renewal_at(11, days=5):
            assert await reconcile_rules(stack, owner) == 1
        return person, owner

    async def told(self, stack: StackHandle, person: Person, kind: str) -> list[dict[str, Any]]:
        await drain(stack)
        return [n for n in await inbox(stack, person) if n["kind"] == kind]

    async def notices(self, stack: StackHandle, person: Person) -> list[str]:
        """The acknowledgement reminders and lapses ``person`` was told of (everyone was
        also asked to acknowledge the policy when it was published)."""
        await drain(stack)
        return [k for k in await kinds(stack, person) if k.endswith(("reminder", "overdue"))]

    async def test_the_person_is_reminded_once_before_it_lapses(self, stack: StackHandle) -> None:
        manager = await stack.person()
        person, _ = await self.asked(stack, manager=manager)
        job = reminders(stack, "training")

        early = await job.run_once(now=self.LAPSES - dt.timedelta(days=5))
        soon = await job.run_once(now=self.LAPSES - dt.timedelta(days=2))
        again = await job.run_once(now=self.LAPSES - dt.timedelta(days=1))

        assert (early, soon, again) == (NONE, {**NONE, "acknowledgement_renewal_reminder": 1}, NONE)
        [reminder] = await self.told(stack, person, "training.acknowledgement.reminder")
        assert reminder["subject"].startswith("Reminder: renew your acknowledgement")
        assert "version 1" in reminder["subject"]
        assert "2027-01-15 09:00 UTC" in reminder["body"]
        assert reminder["link"].endswith("/api/v1/training/policy")
        assert await self.notices(stack, manager) == []

    async def test_a_lapse_tells_the_person_and_their_manager_once_in_their_language(
        self, stack: StackHandle, mail: MailCatcher
    ) -> None:
        manager = await stack.person(display_name="Mia Manager", locale="nl-NL")
        person, _ = await self.asked(stack, manager=manager)
        job = reminders(stack, "training")

        before = await job.run_once(now=self.LAPSES - dt.timedelta(minutes=1))
        lapsed = await job.run_once(now=self.LAPSES + dt.timedelta(hours=1))
        again = await job.run_once(now=self.LAPSES + dt.timedelta(days=5))
        await drain(stack)
        await mailer(stack).send_all_due()

        assert before["acknowledgement_overdue"] == 0
        assert lapsed == {**NONE, "acknowledgement_overdue": 1}
        assert again == NONE
        [own] = await self.told(stack, person, "training.acknowledgement.overdue")
        assert own["subject"].startswith("Lapsed: your acknowledgement")
        assert "Your manager has been told" in own["body"]
        [managers] = await self.told(stack, manager, "training.acknowledgement.overdue")
        assert managers["subject"].startswith("Bevestiging verlopen: ")
        assert person.display_name in managers["subject"]
        lapses = [m for m in mail.messages if m["Subject"].startswith(("Lapsed", "Bevestiging"))]
        assert sorted(str(m["To"]) for m in lapses) == sorted(
            [str(person.email), str(manager.email)]
        )
        [to_manager] = [m for m in lapses if m["To"] == manager.email]
        assert "niet vernieuwd" in parts(to_manager)[0]

    @pytest.mark.parametrize(
        ("first", "rule", "renewed", "manager_told"),
        [
            (-dt.timedelta(days=2), "acknowledgement_renewal_reminder", (11, 29), 0),
            (dt.timedelta(hours=1), "acknowledgement_overdue", (12, 2), 1),
        ],
        ids=["before the lapse", "after it"],
    )
    async def test_renewing_stops_further_notices(
        self,
        stack: StackHandle,
        first: dt.timedelta,
        rule: str,
        renewed: tuple[int, int],
        manager_told: int,
    ) -> None:
        manager = await stack.person()
        person, _ = await self.asked(stack, manager=manager)
        job = reminders(stack, "training")
        given = await job.run_once(now=self.LAPSES + first)
        with renewal_at(*renewed):
            renewal = await acknowledge(stack, person, await current_version(stack, person))

        later = [
            await job.run_once(now=self.LAPSES + dt.timedelta(hours=1)),
            await job.run_once(now=self.LAPSES + dt.timedelta(days=10)),
        ]

        assert given == {**NONE, rule: 1}
        assert renewal.status_code == 201, renewal.text
        assert later == [NONE, NONE]
        assert len(await self.notices(stack, person)) == 1
        assert len(await self.notices(stack, manager)) == manager_told

    async def test_a_leaver_and_their_manager_are_told_nothing(self, stack: StackHandle) -> None:
        manager = await stack.person()
        person, owner = await self.asked(stack, manager=manager)
        await deactivate(stack, person)
        with renewal_at(11, days=20):
            await reconcile_rules(stack, owner)
        job = reminders(stack, "training")

        soon = await job.run_once(now=self.LAPSES - dt.timedelta(days=2))
        lapsed = await job.run_once(now=self.LAPSES + dt.timedelta(hours=1))

        assert (soon, lapsed) == (NONE, NONE)
        await drain(stack)
        assert await self.notices(stack, manager) == []


async def current_version(stack: StackHandle, person: Person) -> dict[str, Any]:
    response = await stack.as_user(person).get(f"{API}/policy/acknowledgements/me")
    assert response.status_code == 200, response.text
    return {"id": response.json()["version_id"]}
