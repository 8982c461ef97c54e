"""Contacts resolved to people through the directory: the people holding HR and legal, a
group's members; what happens when nobody answers to a contact, and when the directory
cannot be reached while deciding."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.models import Person
from incidents.decision import upstream
from tests.incidents.conftest import (
    Org,
    add_to_group,
    as_hr,
    deactivate,
    directory_listing_down,
    etag_of,
    publish_rules,
    report,
    worker,
)
from tests.support.stack import StackHandle


async def decision_of(stack: StackHandle, org: Org, incident_id: str) -> dict[str, Any]:
    decision: dict[str, Any] = (await as_hr(stack, org, incident_id))["decision"]
    return decision


def contacted(decision: dict[str, Any]) -> set[tuple[str, str | None]]:
    """(kind, person id) of every contact of the decision."""
    return {(contact["kind"], contact["person_id"]) for contact in decision["contacts"]}


async def my_action_ids(stack: StackHandle, person: Person) -> list[str]:
    response = await stack.as_user(person).get("/api/v1/incidents/my-actions")
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def low_incidents_contact(*contacts: str) -> Any:
    """A policy change: low incidents contact ``contacts`` (coaches still own them)."""

    def change(rules: list[dict[str, Any]]) -> None:
        rules[-1] = {**rules[-1], "contacts": list(contacts)}

    return change


class TestManagerContact:
    async def test_the_manager_is_known_from_the_one_directory_call_about_the_person(
        self, stack: StackHandle, org: Org, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        asked: list[str] = []
        find_person = upstream.find_person

        async def counted(gateway: Any, person_id: Any) -> Any:
            asked.append(str(person_id))
            return await find_person(gateway, person_id)

        monkeypatch.setattr(upstream, "find_person", counted)

        incident = await report(stack, org.reporter, org.employee, severity="medium")

        decision = await decision_of(stack, org, incident["id"])
        assert asked == [str(org.employee.id)], "the manager came with the person"
        assert contacted(decision) == {("manager", str(org.manager.id))}
        assert decision["contacts"][0]["display_name"] == "Marc Manager"
        assert decision["owner_id"] == str(org.manager.id)


class TestRoleContacts:
    async def test_hr_and_legal_are_the_active_people_holding_the_roles(
        self, stack: StackHandle, org: Org
    ) -> None:
        second_hr = await stack.person(display_name="Henry Hr", roles=["hr"])
        await stack.person(roles=["hr"], active=False)

        created = await report(stack, org.reporter, org.employee, severity="critical")

        decision = await decision_of(stack, org, created["id"])
        assert contacted(decision) == {
            ("legal", str(org.legal.id)),
            ("hr", str(org.hr.id)),
            ("hr", str(second_hr.id)),
        }
        henry = next(c for c in decision["contacts"] if c["person_id"] == str(second_hr.id))
        assert (henry["display_name"], henry["role"], henry["spec"]) == ("Henry Hr", "hr", "hr")
        assert henry["unresolved"] is False

    async def test_each_person_contacted_is_on_the_timeline(
        self, stack: StackHandle, org: Org
    ) -> None:
        legal = await stack.person(display_name="Leo Legal", roles=["legal"])
        await deactivate(stack, org.legal)

        created = await report(stack, org.reporter, org.employee, severity="critical")

        timeline = (
            await stack.as_user(org.hr).get(f"/api/v1/incidents/{created['id']}/timeline")
        ).json()["items"]
        contacts = [entry for entry in timeline if entry["kind"] == "contacted"]
        assert contacts[0]["summary"] == "Leo Legal contacted (Legal)."
        assert contacts[0]["data"]["contact"]["person_id"] == str(legal.id)
        assert len(contacts) == 2

    async def test_the_person_concerned_is_not_contacted_about_their_own_incident(
        self, stack: StackHandle, org: Org
    ) -> None:
        hr_employee = await stack.person(roles=["hr"], manager=org.manager)

        created = await report(stack, org.reporter, hr_employee, severity="high")

        decision = await decision_of(stack, org, created["id"])
        assert contacted(decision) == {("hr", str(org.hr.id)), ("manager", str(org.manager.id))}

    async def test_a_role_nobody_holds_is_recorded_unresolved_and_stays_with_the_role(
        self, stack: StackHandle, org: Org
    ) -> None:
        await publish_rules(stack, org, low_incidents_contact("legal"))
        await deactivate(stack, org.legal)

        created = await report(stack, org.reporter, org.employee, severity="low")
        new_legal = await stack.person(roles=["legal"])

        decision = await decision_of(stack, org, created["id"])
        assert decision["action"] == "coaching"
        [contact] = decision["contacts"]
        assert (contact["role"], contact["person_id"], contact["unresolved"]) == (
            "legal",
            None,
            True,
        )
        assert "Nobody holds the legal role" in contact["note"]
        assert await my_action_ids(stack, new_legal) == [created["id"]]


class TestGroupContacts:
    async def test_the_active_members_of_the_group_are_contacted_and_see_the_incident(
        self, stack: StackHandle, org: Org
    ) -> None:
        await publish_rules(stack, org, low_incidents_contact("group:Communications"))
        press = await stack.person(display_name="Paula Press", department="Communications")
        gone = await stack.person(department="Communications", active=False)
        await add_to_group(stack, "Communications", press, gone)

        created = await report(stack, org.reporter, org.employee, severity="low")

        decision = await decision_of(stack, org, created["id"])
        [contact] = decision["contacts"]
        assert (contact["kind"], contact["group"], contact["spec"]) == (
            "group",
            "Communications",
            "group:Communications",
        )
        assert (contact["person_id"], contact["display_name"]) == (str(press.id), "Paula Press")
        seen = await stack.as_user(press).get(f"/api/v1/incidents/{created['id']}")
        assert seen.status_code == 200
        assert seen.json()["view"] == "assignee"
        assert seen.json()["reporter_id"] is None
        assert await my_action_ids(stack, press) == [created["id"]]

    async def test_a_group_without_members_is_recorded_unresolved(
        self, stack: StackHandle, org: Org
    ) -> None:
        await publish_rules(stack, org, low_incidents_contact("group:Brand Council"))

        created = await report(stack, org.reporter, org.employee, severity="low")

        assert created["status"] == "decided"
        decision = await decision_of(stack, org, created["id"])
        [contact] = decision["contacts"]
        assert (contact["group"], contact["person_id"], contact["unresolved"]) == (
            "Brand Council",
            None,
            True,
        )
        assert await my_action_ids(stack, org.outsider) == []


class TestContactsMyActions:
    async def test_the_hr_people_contacted_see_it_in_their_actions_not_hr_joining_later(
        self, stack: StackHandle, org: Org
    ) -> None:
        # Critical: legal owns it, HR and legal are contacted.
        created = await report(stack, org.reporter, org.employee, severity="critical")
        later_hr = await stack.person(roles=["hr"])

        assert await my_action_ids(stack, org.hr) == [created["id"]]
        assert await my_action_ids(stack, later_hr) == []

    async def test_a_legal_person_contacted_sees_the_whole_incident(
        self, stack: StackHandle, org: Org
    ) -> None:
        await publish_rules(stack, org, low_incidents_contact("legal"))

        created = await report(stack, org.reporter, org.employee, severity="low")

        seen = await stack.as_user(org.legal).get(f"/api/v1/incidents/{created['id']}")
        assert seen.json()["view"] == "full"
        assert seen.json()["reporter_id"] == str(org.reporter.id)
        assert await my_action_ids(stack, org.legal) == [created["id"]]


class TestDirectoryDown:
    async def test_the_incident_waits_undecided_then_is_decided_with_the_people(
        self, stack: StackHandle, org: Org
    ) -> None:
        with directory_listing_down(stack):
            created = await report(stack, org.reporter, org.employee, severity="critical")
            await worker(stack).run_due()  # a retry while the directory is still away
            waiting = (await stack.as_user(org.hr).get(f"/api/v1/incidents/{created['id']}")).json()
            actions_meanwhile = await my_action_ids(stack, org.legal)
        await worker(stack).run_due()

        assert created["status"] == "reported"
        assert (waiting["status"], waiting["decision"], waiting["decisions"]) == (
            "reported",
            None,
            [],
        )
        assert actions_meanwhile == []
        decision = await decision_of(stack, org, created["id"])
        assert decision["trigger"] == "retried"
        assert contacted(decision) == {("legal", str(org.legal.id)), ("hr", str(org.hr.id))}
        assert await my_action_ids(stack, org.legal) == [created["id"]]

    async def test_an_override_is_a_503_and_the_decision_in_force_stays(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.reporter, org.employee, severity="high")
        hr = stack.as_user(org.hr)
        etag = await etag_of(hr, created["id"])

        with directory_listing_down(stack):
            response = await hr.post(
                f"/api/v1/incidents/{created['id']}/override",
                json={
                    "action": "legal_review",
                    "reason": "The post names a client; legal must assess the exposure.",
                    "owner_role": "legal",
                    "contacts": ["legal"],
                },
                headers={"If-Match": etag},
            )

        assert response.status_code == 503
        incident = (await hr.get(f"/api/v1/incidents/{created['id']}")).json()
        assert [d["kind"] for d in incident["decisions"]] == ["policy"]
        assert incident["action"] == "hr_review"
        assert await my_action_ids(stack, org.legal) == []
