"""Right of access with the real apps: the privacy officer asks for an export, the gateway
gathers it from the directory and the three services in the background, and the document
holds what was seeded, field by field, without the reporter of an incident about them."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import time_machine

from gateway.models import Person
from gateway.privacy.models import PrivacyExport
from tests.coaching.support import pass_core_training
from tests.coaching.test_sessions import NOTE, Coaching, held_session
from tests.incidents.conftest import Org, report
from tests.support.stack import StackHandle

__all__ = ["held_session"]

EXPORTS = "/api/v1/privacy/exports"


async def export_of(stack: StackHandle, officer: Person, person: Person) -> dict[str, Any]:
    client = stack.as_user(officer)
    requested = await client.post(EXPORTS, json={"person_id": str(person.id)})
    assert requested.status_code == 202, requested.text
    # The stack runs background tasks before the response reaches the client.
    export: dict[str, Any] = (await client.get(f"{EXPORTS}/{requested.json()['id']}")).json()
    assert export["status"] == "ready", export
    return export


class TestExport:
    async def test_the_document_holds_what_was_seeded_and_not_the_reporter(
        self, stack: StackHandle, org: Org, held_session: Coaching, officer: Person
    ) -> None:
        person = held_session.coachee
        await pass_core_training(stack, person)
        thread = await stack.as_user(person).post(
            "/api/v1/training/community/threads",
            json={"title": "My first post", "body": "What I learned about posting at work."},
        )
        about = await report(stack, org.reporter, person, description="Shared a customer list.")
        theirs = await report(stack, person, org.outsider, description="Saw a leaked slide.")

        export = await export_of(stack, officer, person)
        document = (await stack.as_user(officer).get(export["download_url"])).json()

        assert export["progress_percent"] == 100
        assert document["directory"]["person"]["user_name"] == person.user_name
        assert document["directory"]["person"]["email"] == person.email
        training = document["training"]
        assert [t["id"] for t in training["community_threads"]] == [thread.json()["id"]]
        assert training["community_threads"][0]["title"] == "My first post"
        assert len(training["module_progress"]) == 1
        coaching = document["coaching"]
        assert [e["id"] for e in coaching["engagements"]] == [held_session.engagement["id"]]
        assert [s["notes"] for s in coaching["sessions"]] == [NOTE]
        incidents = document["incidents"]
        (seen,) = incidents["incidents_about_them"]
        assert (seen["id"], seen["description"], seen["severity"]) == (
            about["id"],
            "Shared a customer list.",
            about["severity"],
        )
        assert seen["view"] == "subject"
        assert str(org.reporter.id) not in json.dumps(incidents["incidents_about_them"])
        assert [i["id"] for i in incidents["incidents_they_reported"]] == [theirs["id"]]

    async def test_the_html_rendering_is_readable_and_escaped(
        self, stack: StackHandle, held_session: Coaching, officer: Person
    ) -> None:
        export = await export_of(stack, officer, held_session.coachee)

        page = await stack.as_user(officer).get(export["download_url"], params={"format": "html"})

        assert page.headers["content-type"].startswith("text/html")
        assert f"Data held about {held_session.coachee.display_name}" in page.text
        assert "Talked about the customer screenshot" in page.text or "screenshot" in page.text

    async def test_a_download_is_in_the_access_audit(
        self, stack: StackHandle, held_session: Coaching, officer: Person
    ) -> None:
        export = await export_of(stack, officer, held_session.coachee)
        await stack.as_user(officer).get(export["download_url"])

        audit = await stack.as_user(officer).get(
            "/api/v1/privacy/audit", params={"object_id": export["id"]}
        )

        (entry,) = audit.json()["items"]
        assert (entry["action"], entry["person_id"], entry["actor_person_id"]) == (
            "export.read",
            str(held_session.coachee.id),
            str(officer.id),
        )

    async def test_the_link_expires_and_the_document_is_gone(
        self, stack: StackHandle, org: Org, officer: Person
    ) -> None:
        export = await export_of(stack, officer, org.employee)
        hours = stack.stack.settings["gateway"].export_ttl_hours

        with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours + 1)):
            late = await stack.as_user(officer).get(export["download_url"])
            status = (await stack.as_user(officer).get(f"{EXPORTS}/{export['id']}")).json()

        assert late.status_code == 410
        assert late.headers["content-type"] == "application/problem+json"
        assert "request a new export" in late.json()["detail"]
        assert status["status"] == "expired"
        assert status["download_url"] is None
        async with stack.stack.database("gateway").transaction(write=False) as session:
            stored = await session.get(PrivacyExport, uuid.UUID(export["id"]))
        assert stored is not None
        assert stored.document is None

    async def test_a_service_down_fails_the_export_with_the_reason(
        self, stack: StackHandle, org: Org, officer: Person
    ) -> None:
        client = stack.as_user(officer)
        with stack.upstream_down("coaching"):
            requested = await client.post(EXPORTS, json={"person_id": str(org.employee.id)})
        export = (await client.get(f"{EXPORTS}/{requested.json()['id']}")).json()
        document = await client.get(f"{EXPORTS}/{export['id']}/document")

        assert export["status"] == "failed"
        assert "could not be asked" in export["error"]
        assert export["parts_done"] == 2
        assert document.status_code == 409


class TestWhoMay:
    async def test_only_the_privacy_officer_requests_an_export(
        self, stack: StackHandle, org: Org
    ) -> None:
        response = await stack.as_user(org.hr).post(
            EXPORTS, json={"person_id": str(org.employee.id)}
        )

        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"

    async def test_an_unknown_person_is_a_404(self, stack: StackHandle, officer: Person) -> None:
        response = await stack.as_user(officer).post(EXPORTS, json={"person_id": str(uuid.uuid4())})

        assert response.status_code == 404
        assert response.json()["type"].endswith("person-not-found")

    async def test_a_services_part_is_for_the_gateway_only(
        self, stack: StackHandle, org: Org, officer: Person
    ) -> None:
        for service in ("training", "coaching", "incidents"):
            response = await stack.as_user(officer).get(
                f"/api/v1/{service}/privacy/people/{org.employee.id}"
            )

            assert response.status_code == 403, service
