"""List pages in the access audit, with the real apps: an incidents list or the caller's
actions record one entry per incident shown in the full or assignee view (not the person's
or the reporter's own view), a coaching engagements list one per engagement and an
engagement's page one entry; a page of many entries keeps the chain intact."""

from __future__ import annotations

from typing import Any

from coaching.db import audit_trail as coaching_trail
from gateway.models import Person
from incidents.db import audit_trail as incidents_trail
from tests.coaching.support import BASE as COACHING
from tests.coaching.support import active_engagement
from tests.incidents.conftest import Org, report
from tests.privacy.test_access_audit import COACHING_AUDIT, INCIDENTS_AUDIT, audit
from tests.support.stack import StackHandle

INCIDENTS = "/api/v1/incidents"


def listed(entries: list[dict[str, Any]], action: str) -> list[tuple[str, str | None]]:
    return [(e["object_id"], e["detail"]) for e in entries if e["action"] == action]


class TestIncidentLists:
    async def test_each_incident_hr_lists_is_an_entry_in_the_full_view(
        self, stack: StackHandle, org: Org, officer: Person
    ) -> None:
        first = await report(stack, org.reporter, org.employee)
        second = await report(stack, org.reporter, org.employee, severity="low")

        page = await stack.as_user(org.hr).get(INCIDENTS)
        entries = await audit(stack, officer, INCIDENTS_AUDIT, actor_id=str(org.hr.id))

        assert page.status_code == 200, page.text
        assert sorted(listed(entries, "incident.listed")) == sorted(
            [(first["id"], "full view"), (second["id"], "full view")]
        )
        assert {e["person_id"] for e in entries} == {str(org.employee.id)}
        assert {e["route"] for e in entries} == {f"GET {INCIDENTS}"}

    async def test_the_assignee_view_of_my_actions_is_recorded(
        self, stack: StackHandle, org: Org, officer: Person
    ) -> None:
        incident = await report(stack, org.reporter, org.employee, severity="medium")

        page = await stack.as_user(org.manager).get(f"{INCIDENTS}/my-actions")
        entries = await audit(stack, officer, INCIDENTS_AUDIT, actor_id=str(org.manager.id))

        assert [item["id"] for item in page.json()["items"]] == [incident["id"]]
        assert listed(entries, "incident.listed") == [(incident["id"], "assignee view")]

    async def test_the_persons_and_the_reporters_own_lists_are_not(
        self, stack: StackHandle, org: Org, officer: Person
    ) -> None:
        incident = await report(stack, org.reporter, org.employee)

        theirs = await stack.as_user(org.employee).get(INCIDENTS)
        reported = await stack.as_user(org.reporter).get(INCIDENTS)
        entries = await audit(stack, officer, INCIDENTS_AUDIT, object_id=incident["id"])

        assert [item["id"] for item in theirs.json()["items"]] == [incident["id"]]
        assert [item["id"] for item in reported.json()["items"]] == [incident["id"]]
        assert listed(entries, "incident.listed") == []

    async def test_a_page_of_many_entries_keeps_the_chain_intact(
        self, stack: StackHandle, org: Org
    ) -> None:
        for _ in range(12):
            await report(stack, org.reporter, org.employee, severity="low")

        page = await stack.as_user(org.hr).get(INCIDENTS, params={"limit": 50})
        verification = await incidents_trail.verify(stack.stack.database("incidents"))

        assert len(page.json()["items"]) == 12
        assert verification.ok, verification.describe()
        assert verification.checked >= 12


class TestEngagementReads:
    async def test_each_engagement_hr_lists_is_an_entry(
        self, stack: StackHandle, officer: Person
    ) -> None:
        coachee = await stack.person()
        _, engagement = await active_engagement(stack, coachee)
        hr = await stack.person(roles=["hr"])

        page = await stack.as_user(hr).get(f"{COACHING}/engagements", params={"limit": 200})
        entries = await audit(stack, officer, COACHING_AUDIT, actor_id=str(hr.id))

        assert engagement["id"] in [item["id"] for item in page.json()["items"]]
        assert (engagement["id"], None) in listed(entries, "engagement.listed")
        mine = [e for e in entries if e["object_id"] == engagement["id"]]
        assert mine[0]["person_id"] == str(coachee.id)

    async def test_an_engagements_page_is_an_entry_saying_as_whom(
        self, stack: StackHandle, officer: Person
    ) -> None:
        coachee = await stack.person()
        coach, engagement = await active_engagement(stack, coachee)

        read = await stack.as_user(coach).get(f"{COACHING}/engagements/{engagement['id']}")
        entries = await audit(stack, officer, COACHING_AUDIT, actor_id=str(coach.id))
        verification = await coaching_trail.verify(stack.stack.database("coaching"))

        assert read.status_code == 200, read.text
        assert listed(entries, "engagement.read") == [(engagement["id"], "as coach")]
        assert verification.ok, verification.describe()

    async def test_a_refused_read_is_not_an_entry(
        self, stack: StackHandle, officer: Person
    ) -> None:
        _, engagement = await active_engagement(stack, await stack.person())
        outsider = await stack.person()

        refused = await stack.as_user(outsider).get(f"{COACHING}/engagements/{engagement['id']}")
        entries = await audit(stack, officer, COACHING_AUDIT, object_id=engagement["id"])

        assert refused.status_code == 404
        assert listed(entries, "engagement.read") == []
