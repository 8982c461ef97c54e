"""Erasure with the real apps: every service deletes or anonymises what it holds, keeps what
is under legal hold or an open incident (and says why), the directory keeps a tombstone so
SCIM does not bring the person back, and the erasure is in the audit."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from gateway.models import Person
from tests.coaching.support import pass_core_training
from tests.coaching.test_sessions import Coaching, held_session
from tests.incidents.conftest import Org, etag_of, report
from tests.privacy.test_coaching_retention import ended_with_notes
from tests.support.stack import StackHandle

__all__ = ["held_session"]

ERASURES = "/api/v1/privacy/erasures"


async def erase(stack: StackHandle, officer: Person, person: Person | uuid.UUID) -> dict[str, Any]:
    person_id = person.id if isinstance(person, Person) else person
    client = stack.as_user(officer)
    requested = await client.post(
        ERASURES, json={"person_id": str(person_id), "reason": "Left; asked to be forgotten."}
    )
    assert requested.status_code == 202, requested.text
    erasure: dict[str, Any] = (await client.get(f"{ERASURES}/{requested.json()['id']}")).json()
    return erasure


async def close(stack: StackHandle, org: Org, incident: dict[str, Any]) -> None:
    hr = stack.as_user(org.hr)
    response = await hr.patch(
        f"/api/v1/incidents/{incident['id']}",
        json={"status": "dismissed", "reason": "Not a violation after all."},
        headers={"If-Match": await etag_of(hr, incident["id"])},
    )
    assert response.status_code == 200, response.text


class TestErasure:
    async def test_every_service_erases_and_the_directory_keeps_a_tombstone(
        self,
        stack: StackHandle,
        org: Org,
        held_session: Coaching,
        officer: Person,
        scim: httpx.AsyncClient,
    ) -> None:
        person = held_session.coachee
        await pass_core_training(stack, person)
        closed = await report(stack, org.reporter, person, description="Shared a customer list.")
        await close(stack, org, closed)
        still_open = await report(stack, org.reporter, person, severity="low")

        erasure = await erase(stack, officer, person)
        export = await stack.as_user(officer).post(
            "/api/v1/privacy/exports", json={"person_id": str(person.id)}
        )
        document = (
            await stack.as_user(officer).get(
                f"/api/v1/privacy/exports/{export.json()['id']}/document"
            )
        ).json()
        incident = (await stack.as_user(org.hr).get(f"/api/v1/incidents/{closed['id']}")).json()

        assert erasure["status"] == "done", erasure
        assert erasure["steps_done"] == ["training", "coaching", "incidents", "directory"]
        outcomes = erasure["outcomes"]
        assert outcomes["training"]["erased"]["module_progress"] == 1
        assert outcomes["coaching"]["kept"] == [
            {
                "what": "engagement",
                "id": held_session.engagement["id"],
                "why": "the engagement is still active",
            }
        ]
        assert outcomes["incidents"]["erased"]["incidents_anonymised"] == 1
        assert [(k["id"], k["why"]) for k in outcomes["incidents"]["kept"]] == [
            (still_open["id"], f"the incident is open ({still_open['status']})")
        ]
        assert outcomes["directory"]["erased"]["directory_record"] == 1
        # What is left about them: only what was kept.
        assert document["directory"]["person"]["display_name"] == "Erased person"
        assert document["directory"]["person"]["email"] is None
        assert document["training"]["module_progress"] == []
        assert [i["id"] for i in document["incidents"]["incidents_about_them"]] == [
            still_open["id"]
        ]
        assert incident["description"] == "[erased]"
        assert incident["person_id"] != str(person.id)

    async def test_scim_does_not_recreate_an_erased_person(
        self, stack: StackHandle, officer: Person, scim: httpx.AsyncClient
    ) -> None:
        user_name = f"leaver-{uuid.uuid4().hex[:8]}"
        created = await scim.post(
            "/scim/v2/Users", json={"userName": user_name, "externalId": f"hris-{user_name}"}
        )
        await erase(stack, officer, uuid.UUID(created.json()["id"]))

        again = await scim.post(
            "/scim/v2/Users", json={"userName": user_name, "externalId": f"hris-{user_name}"}
        )
        gone = await scim.get(f"/scim/v2/Users/{created.json()['id']}")

        assert again.status_code == 409
        assert "was erased" in again.json()["detail"]
        assert gone.status_code == 404

    async def test_a_legal_hold_keeps_a_closed_incident(
        self, stack: StackHandle, org: Org, officer: Person
    ) -> None:
        incident = await report(stack, org.reporter, org.employee)
        await close(stack, org, incident)
        held = await stack.as_user(org.legal).put(
            f"/api/v1/incidents/{incident['id']}/legal-hold",
            json={"reason": "Tribunal claim 2026-117."},
        )

        erasure = await erase(stack, officer, org.employee)
        timeline = await stack.as_user(org.hr).get(f"/api/v1/incidents/{incident['id']}/timeline")

        assert held.status_code == 200, held.text
        assert erasure["outcomes"]["incidents"]["kept"] == [
            {
                "what": "incident",
                "id": incident["id"],
                "why": "legal hold: Tribunal claim 2026-117.",
            }
        ]
        kinds = [e["kind"] for e in timeline.json()["items"]]
        assert "legal_hold_set" in kinds

    async def test_a_legal_hold_keeps_the_engagement_that_came_from_the_incident(
        self, stack: StackHandle, org: Org, officer: Person
    ) -> None:
        incident = await report(stack, org.reporter, org.employee)
        await stack.as_user(org.legal).put(
            f"/api/v1/incidents/{incident['id']}/legal-hold",
            json={"reason": "Tribunal claim 2026-117."},
        )
        _, held = await ended_with_notes(stack, org.employee, incident_id=uuid.UUID(incident["id"]))
        _, free = await ended_with_notes(stack, org.employee)

        erasure = await erase(stack, officer, org.employee)
        coaching = erasure["outcomes"]["coaching"]

        assert {
            "what": "engagement",
            "id": held["id"],
            "why": (f"legal hold on incident {incident['id']}"),
        } in coaching["kept"]
        assert free["id"] not in [k["id"] for k in coaching["kept"]]
        assert coaching["erased"]["engagements"] == 1

    async def test_asking_a_service_again_erases_nothing_more(
        self, stack: StackHandle, org: Org, officer: Person
    ) -> None:
        await pass_core_training(stack, org.employee)
        first = await erase(stack, officer, org.employee)

        eraser = stack.stack.apps["gateway"].state.eraser
        again = await eraser._ask("training", org.employee.id)

        assert first["outcomes"]["training"]["erased"]["module_progress"] == 1
        assert set(again["erased"].values()) == {0}
        assert again["kept"] == []

    async def test_the_erasure_is_in_the_audit(
        self, stack: StackHandle, org: Org, officer: Person
    ) -> None:
        erasure = await erase(stack, officer, org.outsider)

        audit = await stack.as_user(officer).get(
            "/api/v1/privacy/audit", params={"object_id": erasure["id"]}
        )

        (entry,) = audit.json()["items"]
        assert (entry["action"], entry["person_id"]) == ("person.erased", str(org.outsider.id))


class TestWhoMay:
    async def test_only_the_privacy_officer_erases(self, stack: StackHandle, org: Org) -> None:
        response = await stack.as_user(org.hr).post(
            ERASURES, json={"person_id": str(org.employee.id), "reason": "x"}
        )

        assert response.status_code == 403

    async def test_only_legal_or_the_privacy_officer_sets_a_legal_hold(
        self, stack: StackHandle, org: Org
    ) -> None:
        incident = await report(stack, org.reporter, org.employee)

        response = await stack.as_user(org.hr).put(
            f"/api/v1/incidents/{incident['id']}/legal-hold", json={"reason": "x"}
        )

        assert response.status_code == 403

    async def test_a_services_erase_route_is_for_the_gateway_only(
        self, stack: StackHandle, org: Org, officer: Person
    ) -> None:
        response = await stack.as_user(officer).post(
            f"/api/v1/coaching/privacy/people/{org.employee.id}/erase"
        )

        assert response.status_code == 403
