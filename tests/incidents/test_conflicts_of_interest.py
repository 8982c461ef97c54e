"""Conflicts of interest: the person concerned always gets the subject's view of their own
incident and acts on it in no role; the reporter never owns or decides what they
reported; a role only a party holds passes one level up, and the decision says why."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.models import Person
from tests.incidents.conftest import Org, as_hr, etag_of, report
from tests.support.stack import StackHandle


async def decision_of(stack: StackHandle, org: Org, incident_id: str) -> dict[str, Any]:
    decision: dict[str, Any] = (await as_hr(stack, org, incident_id))["decision"]
    return decision


async def my_action_ids(stack: StackHandle, person: Person) -> list[str]:
    response = await stack.as_user(person).get("/api/v1/incidents/my-actions")
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def assert_no_reporter(response: httpx.Response, reporter: Person) -> None:
    assert str(reporter.id) not in response.text
    assert reporter.display_name not in response.text


class TestThePersonConcernedHoldingARole:
    async def test_hr_gets_the_subjects_view_of_their_own_incident_everywhere(
        self, stack: StackHandle, org: Org
    ) -> None:
        hr_subject = await stack.person(roles=["hr"], manager=org.manager)
        created = await report(stack, org.reporter, hr_subject, severity="high")
        client = stack.as_user(hr_subject)

        detail = await client.get(f"/api/v1/incidents/{created['id']}")
        listed = await client.get("/api/v1/incidents")
        actions = await client.get("/api/v1/incidents/my-actions")
        timeline = await client.get(f"/api/v1/incidents/{created['id']}/timeline")

        assert detail.json()["view"] == "subject"
        assert detail.json()["reporter_id"] is None
        [own] = [item for item in listed.json()["items"] if item["id"] == created["id"]]
        assert (own["view"], own["reporter_id"]) == ("subject", None)
        assert actions.json()["items"] == []
        assert timeline.status_code == 403
        for response in (detail, listed, actions, timeline):
            assert_no_reporter(response, org.reporter)

    async def test_legal_gets_the_subjects_view_of_a_critical_incident_about_them(
        self, stack: StackHandle, org: Org
    ) -> None:
        legal_subject = await stack.person(roles=["legal"], manager=org.manager)
        created = await report(stack, org.reporter, legal_subject, severity="critical")

        detail = await stack.as_user(legal_subject).get(f"/api/v1/incidents/{created['id']}")

        assert detail.json()["view"] == "subject"
        assert detail.json()["decision"]["action"] == "legal_review"
        assert_no_reporter(detail, org.reporter)
        assert await my_action_ids(stack, legal_subject) == []

    async def test_hr_cannot_dismiss_override_decide_or_note_their_own_incident(
        self, stack: StackHandle, org: Org
    ) -> None:
        hr_subject = await stack.person(roles=["hr"], manager=org.manager)
        created = await report(stack, org.reporter, hr_subject, severity="high")
        client = stack.as_user(hr_subject)
        base = f"/api/v1/incidents/{created['id']}"
        etag = await etag_of(stack.as_user(org.hr), created["id"])

        attempts = [
            await client.patch(
                base,
                json={"status": "dismissed", "reason": "This report is plainly unfounded."},
                headers={"If-Match": etag},
            ),
            await client.post(
                f"{base}/override",
                json={"action": "coaching", "reason": "A talk with the manager is enough."},
                headers={"If-Match": etag},
            ),
            await client.post(f"{base}/decision"),
        ]
        note = await client.post(f"{base}/timeline", json={"text": "Not what it seems."})

        for response in attempts:
            assert response.status_code == 403, response.text
            assert "the person this incident is about" in response.json()["detail"]
            assert_no_reporter(response, org.reporter)
        assert note.status_code == 403
        incident = await as_hr(stack, org, created["id"])
        assert (incident["status"], len(incident["decisions"])) == ("decided", 1)

    async def test_a_coach_cannot_resolve_the_incident_coaching_owns_about_them(
        self, stack: StackHandle, org: Org
    ) -> None:
        coach_subject = await stack.person(roles=["coach"], manager=org.manager)
        created = await report(stack, org.reporter, coach_subject, severity="low")
        client = stack.as_user(coach_subject)
        started = await stack.as_user(org.coach).patch(
            f"/api/v1/incidents/{created['id']}",
            json={"status": "in_progress"},
            headers={"If-Match": await etag_of(stack.as_user(org.hr), created["id"])},
        )
        assert started.status_code == 200, started.text

        resolved = await client.patch(
            f"/api/v1/incidents/{created['id']}",
            json={"status": "resolved", "outcome": "no_violation"},
            headers={"If-Match": started.headers["ETag"]},
        )

        assert resolved.status_code == 403
        assert await my_action_ids(stack, coach_subject) == []
        assert created["id"] in await my_action_ids(stack, org.coach)


class TestOneLevelUp:
    async def test_when_the_person_concerned_is_the_only_hr_legal_is_contacted_and_owns_it(
        self, stack: StackHandle, org: Org
    ) -> None:
        hr_subject = org.hr
        await stack.person(roles=["hr"], active=False)  # inactive: holds nothing
        created = await report(stack, org.reporter, hr_subject, severity="high")

        incident = (await stack.as_user(org.legal).get(f"/api/v1/incidents/{created['id']}")).json()

        decision = incident["decision"]
        legal = next(c for c in decision["contacts"] if c["person_id"] == str(org.legal.id))
        assert (legal["kind"], legal["spec"], legal["conflict_of_interest"]) == (
            "legal",
            "hr",
            True,
        )
        assert "only holder of the hr role" in legal["note"]
        assert (decision["owner_role"], decision["owner_conflict_of_interest"]) == ("legal", True)
        assert "the person concerned" in decision["owner_note"]
        assert created["id"] in await my_action_ids(stack, org.legal)
        assert await my_action_ids(stack, hr_subject) == []

    async def test_when_the_person_concerned_is_the_only_legal_hr_takes_a_critical_incident(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.reporter, org.legal, severity="critical")

        decision = await decision_of(stack, org, created["id"])

        assert {(c["kind"], c["person_id"]) for c in decision["contacts"]} == {
            ("hr", str(org.hr.id))
        }
        assert all(c["conflict_of_interest"] for c in decision["contacts"] if c["spec"] == "legal")
        assert decision["owner_role"] == "hr"
        timeline = (
            await stack.as_user(org.hr).get(f"/api/v1/incidents/{created['id']}/timeline")
        ).json()["items"]
        contacted = [e["summary"] for e in timeline if e["kind"] == "contacted"]
        assert any("in place of legal: conflict of interest" in s for s in contacted)

    async def test_when_the_person_concerned_is_the_only_coach_hr_owns_a_low_incident(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.reporter, org.coach, severity="low")

        decision = await decision_of(stack, org, created["id"])

        assert (decision["action"], decision["owner_role"]) == ("coaching", "hr")
        assert decision["owner_conflict_of_interest"] is True


class TestTheReporter:
    async def test_a_manager_reporting_their_own_report_is_contacted_but_hr_owns_it(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.manager, org.employee, severity="medium")

        decision = await decision_of(stack, org, created["id"])
        as_subject = (
            await stack.as_user(org.employee).get(f"/api/v1/incidents/{created['id']}")
        ).json()

        assert {(c["kind"], c["person_id"]) for c in decision["contacts"]} == {
            ("manager", str(org.manager.id))
        }
        assert (decision["owner_role"], decision["owner_id"]) == ("hr", None)
        assert decision["owner_conflict_of_interest"] is True
        # Telling the person concerned why would tell them who reported.
        subject_decision = as_subject["decision"]
        assert subject_decision["owner_conflict_of_interest"] is False
        assert subject_decision["owner_note"] is None
        assert await my_action_ids(stack, org.manager) == [created["id"]]

    async def test_the_manager_who_reported_cannot_start_or_resolve_it(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.manager, org.employee, severity="medium")
        etag = await etag_of(stack.as_user(org.hr), created["id"])

        started = await stack.as_user(org.manager).patch(
            f"/api/v1/incidents/{created['id']}",
            json={"status": "in_progress"},
            headers={"If-Match": etag},
        )

        assert started.status_code == 403
        assert "You reported this incident" in started.json()["detail"]

    async def test_hr_who_reported_cannot_dismiss_or_override_it(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.hr, org.employee, severity="high")
        client = stack.as_user(org.hr)
        etag = await etag_of(client, created["id"])

        dismissed = await client.patch(
            f"/api/v1/incidents/{created['id']}",
            json={"status": "dismissed", "reason": "On reflection this was nothing."},
            headers={"If-Match": etag},
        )
        overridden = await client.post(
            f"/api/v1/incidents/{created['id']}/override",
            json={"action": "disciplinary_review", "reason": "I want this to go further."},
            headers={"If-Match": etag},
        )

        assert (dismissed.status_code, overridden.status_code) == (403, 403)
        assert "You reported this incident" in dismissed.json()["detail"]
        decision = await decision_of(stack, org, created["id"])
        assert decision["owner_role"] == "legal"  # HR's only holder reported it

    async def test_an_assignee_does_not_learn_from_the_timeline_that_the_owner_reported(
        self, stack: StackHandle, org: Org
    ) -> None:
        # High: HR owns it; the only other HR holder reported it, so legal owns it.
        created = await report(stack, org.hr, org.employee, severity="high")

        as_manager = await stack.as_user(org.manager).get(
            f"/api/v1/incidents/{created['id']}/timeline"
        )
        as_legal_detail = await stack.as_user(org.legal).get(f"/api/v1/incidents/{created['id']}")

        assert as_manager.status_code == 200
        decided = next(e for e in as_manager.json()["items"] if e["kind"] == "decided")
        assert "owner_note" not in decided["data"]
        assert "owner_conflict" not in decided["data"]
        assert "conflict of interest" not in as_manager.text
        decision = as_legal_detail.json()["decision"]
        assert decision["owner_role"] == "legal"
