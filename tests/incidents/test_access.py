"""Who sees what: HR all; legal what was escalated to legal; contacts and owners what they
must act on; the person concerned without the reporter; the reporter only the status."""

from __future__ import annotations

import datetime as dt
import uuid

from incidents.models import Incident
from kit.db import utcnow
from tests.incidents.conftest import Org, report
from tests.support.stack import StackHandle


class TestIncidentAccess:
    async def test_the_person_concerned_sees_the_decision_but_not_the_reporter(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.reporter, org.employee, severity="medium")

        response = await stack.as_user(org.employee).get(f"/api/v1/incidents/{created['id']}")

        incident = response.json()
        assert response.status_code == 200
        assert incident["view"] == "subject"
        assert incident["reporter_id"] is None
        assert incident["decision"]["action"] == "coaching"
        assert str(org.reporter.id) not in response.text

    async def test_the_person_concerned_does_not_see_the_timeline(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.reporter, org.employee, severity="medium")

        response = await stack.as_user(org.employee).get(
            f"/api/v1/incidents/{created['id']}/timeline"
        )

        assert response.status_code == 403

    async def test_the_reporter_sees_the_status_but_not_the_decision(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.reporter, org.employee, severity="high")

        incident = (
            await stack.as_user(org.reporter).get(f"/api/v1/incidents/{created['id']}")
        ).json()

        assert incident["view"] == "reporter"
        assert incident["status"] == "decided"
        assert incident["decision"] is None
        assert incident["decisions"] == []
        assert incident["action"] is None
        assert incident["owner_id"] is None

    async def test_a_contact_sees_the_incident_and_timeline_without_the_reporter(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.reporter, org.employee, severity="high")
        manager = stack.as_user(org.manager)

        incident = (await manager.get(f"/api/v1/incidents/{created['id']}")).json()
        timeline = await manager.get(f"/api/v1/incidents/{created['id']}/timeline")

        assert incident["view"] == "assignee"
        assert incident["reporter_id"] is None
        assert timeline.status_code == 200
        assert timeline.json()["items"][0]["actor"] == "reporter"
        assert str(org.reporter.id) not in timeline.text

    async def test_hr_sees_everything(self, stack: StackHandle, org: Org) -> None:
        created = await report(stack, org.reporter, org.employee, severity="low")

        incident = (await stack.as_user(org.hr).get(f"/api/v1/incidents/{created['id']}")).json()

        assert incident["view"] == "full"
        assert incident["reporter_id"] == str(org.reporter.id)

    async def test_legal_sees_what_was_escalated_to_legal(
        self, stack: StackHandle, org: Org
    ) -> None:
        critical = await report(stack, org.reporter, org.employee, severity="critical")
        high = await report(stack, org.reporter, org.employee, severity="high")
        legal = stack.as_user(org.legal)

        escalated = await legal.get(f"/api/v1/incidents/{critical['id']}")
        not_escalated = await legal.get(f"/api/v1/incidents/{high['id']}")
        listed = await legal.get("/api/v1/incidents")

        assert escalated.status_code == 200
        assert escalated.json()["view"] == "full"
        assert escalated.json()["reporter_id"] == str(org.reporter.id)
        assert not_escalated.status_code == 404
        assert [item["id"] for item in listed.json()["items"]] == [critical["id"]]

    async def test_anyone_else_gets_a_404(self, stack: StackHandle, org: Org) -> None:
        created = await report(stack, org.reporter, org.employee, severity="medium")
        outsider = stack.as_user(org.outsider)

        read = await outsider.get(f"/api/v1/incidents/{created['id']}")
        timeline = await outsider.get(f"/api/v1/incidents/{created['id']}/timeline")
        note = await outsider.post(
            f"/api/v1/incidents/{created['id']}/timeline", json={"text": "Curious."}
        )

        assert [read.status_code, timeline.status_code, note.status_code] == [404, 404, 404]
        assert read.json()["type"] == "urn:smp:problem:incident-not-found"

    async def test_a_coach_sees_low_incidents_owned_by_coaches(
        self, stack: StackHandle, org: Org
    ) -> None:
        low = await report(stack, org.reporter, org.employee, severity="low")
        await report(stack, org.reporter, org.employee, severity="high")

        listed = await stack.as_user(org.coach).get("/api/v1/incidents")

        assert [item["id"] for item in listed.json()["items"]] == [low["id"]]


class TestMyActions:
    async def test_contacts_and_owners_see_what_they_must_act_on_nearest_deadline_first(
        self, stack: StackHandle, org: Org
    ) -> None:
        medium = await report(stack, org.reporter, org.employee, severity="medium")
        high = await report(stack, org.reporter, org.employee, severity="high")
        await report(stack, org.reporter, org.employee, severity="critical")

        actions = (await stack.as_user(org.manager).get("/api/v1/incidents/my-actions")).json()

        # high: 72 h (manager contacted); medium: 168 h (manager owns it); critical: not theirs
        assert [item["id"] for item in actions["items"]] == [high["id"], medium["id"]]

    async def test_hr_and_legal_see_what_was_assigned_to_their_role(
        self, stack: StackHandle, org: Org
    ) -> None:
        critical = await report(stack, org.reporter, org.employee, severity="critical")
        high = await report(stack, org.reporter, org.employee, severity="high")
        await report(stack, org.reporter, org.employee, severity="low")

        for_legal = (await stack.as_user(org.legal).get("/api/v1/incidents/my-actions")).json()
        for_hr = (await stack.as_user(org.hr).get("/api/v1/incidents/my-actions")).json()

        assert [item["id"] for item in for_legal["items"]] == [critical["id"]]
        assert {item["id"] for item in for_hr["items"]} == {critical["id"], high["id"]}

    async def test_the_reporter_has_nothing_to_act_on(self, stack: StackHandle, org: Org) -> None:
        await report(stack, org.reporter, org.employee, severity="medium")

        actions = (await stack.as_user(org.reporter).get("/api/v1/incidents/my-actions")).json()

        assert actions["items"] == []


class TestQueries:
    async def test_hr_filters_by_severity_category_person_and_status(
        self, stack: StackHandle, org: Org
    ) -> None:
        hate = await report(
            stack, org.reporter, org.employee, severity="high", category="harassment_or_hate"
        )
        await report(stack, org.reporter, org.employee, severity="low")
        other = await report(stack, org.reporter, org.manager, severity="high")
        hr = stack.as_user(org.hr)

        def ids(response_json: dict[str, list[dict[str, str]]]) -> list[str]:
            return [item["id"] for item in response_json["items"]]

        by_severity = (await hr.get("/api/v1/incidents", params={"severity": "high"})).json()
        by_category = (
            await hr.get("/api/v1/incidents", params={"category": "harassment_or_hate"})
        ).json()
        by_person = (
            await hr.get("/api/v1/incidents", params={"person_id": str(org.manager.id)})
        ).json()
        by_owner = (
            await hr.get("/api/v1/incidents", params={"owner_id": str(org.manager.id)})
        ).json()

        assert ids(by_severity) == [other["id"], hate["id"]]
        assert ids(by_category) == [hate["id"]]
        assert ids(by_person) == [other["id"]]
        assert ids(by_owner) == []

    async def test_overdue_lists_decided_incidents_past_their_deadline(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.reporter, org.employee, severity="high")
        hr = stack.as_user(org.hr)
        before = (await hr.get("/api/v1/incidents", params={"overdue": "true"})).json()
        async with stack.stack.database("incidents").transaction() as session:
            incident = await session.get(Incident, uuid.UUID(created["id"]))
            assert incident is not None
            incident.deadline_at = utcnow() - dt.timedelta(hours=1)
            session.add(incident)

        after = (await hr.get("/api/v1/incidents", params={"overdue": "true"})).json()

        assert before["items"] == []
        assert [item["id"] for item in after["items"]] == [created["id"]]
        assert after["items"][0]["overdue"] is True

    async def test_lists_are_paginated_newest_first(self, stack: StackHandle, org: Org) -> None:
        created = [
            (await report(stack, org.reporter, org.employee, severity="low"))["id"]
            for _ in range(3)
        ]
        hr = stack.as_user(org.hr)

        first = (await hr.get("/api/v1/incidents", params={"limit": 2})).json()
        second = (
            await hr.get("/api/v1/incidents", params={"limit": 2, "cursor": first["next_cursor"]})
        ).json()

        listed = [item["id"] for item in first["items"] + second["items"]]
        assert listed == list(reversed(created))
        assert second["next_cursor"] is None

    async def test_an_unknown_status_filter_is_a_422(self, stack: StackHandle, org: Org) -> None:
        response = await stack.as_user(org.hr).get("/api/v1/incidents", params={"status": "closed"})

        assert response.status_code == 422
        assert response.json()["errors"][0]["parameter"] == "status"
