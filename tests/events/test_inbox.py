"""The in-app inbox: who is told about a decision, what they read, and the intake that
takes each event in once."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from prometheus_client import REGISTRY

from gateway.models import Person
from kit.db import utcnow
from kit.identity import GATEWAY_AUDIENCE, InternalTokenSigner, PrincipalKind
from tests.events.conftest import drain
from tests.incidents.conftest import Org, as_hr, report
from tests.support.stack import StackHandle


async def inbox(stack: StackHandle, person: Person, **params: Any) -> list[dict[str, Any]]:
    response = await stack.as_user(person).get("/api/v1/me/notifications", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def unread(stack: StackHandle, person: Person) -> int:
    response = await stack.as_user(person).get("/api/v1/me/notifications/unread-count")
    assert response.status_code == 200, response.text
    count: int = response.json()["unread"]
    return count


def event(source: str = "incidents", **overrides: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": "incident.reported",
        "source": source,
        "occurred_at": utcnow().isoformat(),
        "data": {"incident_id": str(uuid.uuid4())},
        **overrides,
    }


class TestDecisionNotifications:
    async def test_the_owner_and_each_contact_find_the_decision_in_their_inbox(
        self, stack: StackHandle, org: Org
    ) -> None:
        incident = await report(stack, org.reporter, org.employee, severity="high")

        await drain(stack)

        # high: HR reviews (HR owns it) with the manager contacted
        [owned] = await inbox(stack, org.hr)
        [contacted] = await inbox(stack, org.manager)
        assert owned["kind"] == contacted["kind"] == "incident.decided"
        assert owned["link"].endswith(f"/api/v1/incidents/{incident['id']}")
        assert "hr review" in owned["subject"]
        decided = await as_hr(stack, org, incident["id"])
        deadline = dt.datetime.fromisoformat(decided["decision"]["deadline_at"])
        assert f"{deadline.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC" in owned["body"]
        assert "as manager" in contacted["body"]
        assert await unread(stack, org.hr) == 1

    async def test_the_person_concerned_and_the_reporter_are_not_told(
        self, stack: StackHandle, org: Org
    ) -> None:
        await report(stack, org.reporter, org.employee, severity="high")

        await drain(stack)

        assert await inbox(stack, org.employee) == []
        assert await inbox(stack, org.reporter) == []

    async def test_nothing_confidential_is_in_the_message(
        self, stack: StackHandle, org: Org
    ) -> None:
        await report(stack, org.reporter, org.employee, severity="high")

        await drain(stack)

        [message] = await inbox(stack, org.hr)
        text = message["subject"] + message["body"]
        assert "Q3 revenue" not in text  # the description
        assert org.reporter.display_name not in text
        assert str(org.reporter.id) not in text

    async def test_a_person_whose_locale_is_dutch_reads_it_in_dutch(
        self, stack: StackHandle, org: Org
    ) -> None:
        dutch_hr = await stack.person(department="People", roles=["hr"], locale="nl-NL")
        await report(stack, org.reporter, org.employee, severity="high")

        await drain(stack)

        [message] = await inbox(stack, dutch_hr)
        assert "Reageer vóór" in message["body"]
        [english] = await inbox(stack, org.hr)
        assert "Respond by" in english["body"]

    async def test_scim_preferred_language_comes_before_the_locale(
        self, stack: StackHandle, org: Org
    ) -> None:
        # SCIM's preferredLanguage is the language to write in; locale is for formats.
        dutch_hr = await stack.person(
            department="People", roles=["hr"], locale="en-US", preferred_language="nl-BE"
        )
        await report(stack, org.reporter, org.employee, severity="high")

        await drain(stack)

        [message] = await inbox(stack, dutch_hr)
        assert "Reageer vóór" in message["body"]


class TestReading:
    async def test_marking_one_read_lowers_the_unread_count_and_filters(
        self, stack: StackHandle, org: Org
    ) -> None:
        await report(stack, org.reporter, org.employee, severity="high")
        await report(stack, org.reporter, org.outsider, severity="high")
        await drain(stack)
        first, _ = await inbox(stack, org.hr)

        marked = await stack.as_user(org.hr).post(f"/api/v1/me/notifications/{first['id']}/read")

        assert marked.status_code == 200, marked.text
        assert marked.json()["read_at"] is not None
        assert await unread(stack, org.hr) == 1
        assert [n["id"] for n in await inbox(stack, org.hr, unread="false")] == [first["id"]]
        assert len(await inbox(stack, org.hr, unread="true")) == 1

    async def test_read_all_marks_everything(self, stack: StackHandle, org: Org) -> None:
        await report(stack, org.reporter, org.employee, severity="high")
        await report(stack, org.reporter, org.outsider, severity="high")
        await drain(stack)

        response = await stack.as_user(org.hr).post("/api/v1/me/notifications/read-all")

        assert response.json() == {"marked": 2}
        assert await unread(stack, org.hr) == 0

    async def test_someone_elses_notification_is_not_found(
        self, stack: StackHandle, org: Org
    ) -> None:
        await report(stack, org.reporter, org.employee, severity="high")
        await drain(stack)
        [message] = await inbox(stack, org.hr)

        response = await stack.as_user(org.manager).post(
            f"/api/v1/me/notifications/{message['id']}/read"
        )

        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"

    async def test_pages_run_newest_first_without_repeats(
        self, stack: StackHandle, org: Org
    ) -> None:
        for _ in range(3):
            await report(stack, org.reporter, org.employee, severity="high")
        await drain(stack)

        client = stack.as_user(org.hr)
        first = (await client.get("/api/v1/me/notifications", params={"limit": 2})).json()
        second = (
            await client.get(
                "/api/v1/me/notifications", params={"limit": 2, "cursor": first["next_cursor"]}
            )
        ).json()

        seen = [n["created_at"] for n in first["items"] + second["items"]]
        assert len(seen) == 3
        assert seen == sorted(seen, reverse=True)
        assert second["next_cursor"] is None


class TestIntake:
    async def test_an_event_handed_over_twice_is_taken_in_once(
        self, stack: StackHandle, org: Org
    ) -> None:
        batch = {"events": [event(), event()]}
        intake = stack.as_service("incidents")

        first = await intake.post("/internal/events", json=batch)
        again = await intake.post("/internal/events", json=batch)

        assert first.json() == {"received": 2, "new": 2}
        assert again.json() == {"received": 2, "new": 0}

    async def test_a_decision_handed_over_twice_tells_people_once(
        self, stack: StackHandle, org: Org
    ) -> None:
        await report(stack, org.reporter, org.employee, severity="high")
        drainer = stack.stack.apps["incidents"].state.outbox_drainer
        sent: list[Any] = []
        original = drainer.send

        async def send_twice(events: list[Any]) -> None:
            sent.extend(events)
            await original(events)
            await original(events)

        drainer.send = send_twice
        try:
            await drainer.drain()
        finally:
            drainer.send = original

        assert {e.type for e in sent} == {"incident.reported", "incident.decided"}
        assert len(await inbox(stack, org.hr)) == 1

    async def test_a_person_cannot_hand_in_events(self, stack: StackHandle, org: Org) -> None:
        response = await stack.as_user(org.hr).post("/internal/events", json={"events": [event()]})

        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"

    async def test_a_service_cannot_hand_in_anothers_events(
        self, stack: StackHandle, org: Org
    ) -> None:
        response = await stack.as_service("training").post(
            "/internal/events", json={"events": [event(source="incidents")]}
        )

        assert response.status_code == 403
        assert "incidents" in response.json()["detail"]

    async def test_a_malformed_event_is_a_422_problem(self, stack: StackHandle, org: Org) -> None:
        response = await stack.as_service("incidents").post(
            "/internal/events", json={"events": [event(id="not-a-uuid")]}
        )

        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["pointer"] == "#/events/0/id"

    async def test_a_body_that_is_not_json_is_a_400_problem(
        self, stack: StackHandle, org: Org
    ) -> None:
        response = await stack.as_service("incidents").post(
            "/internal/events", content=b"{", headers={"content-type": "application/json"}
        )

        assert response.status_code == 400
        assert response.json()["type"].endswith("malformed-json")

    async def test_a_service_hand_over_keeps_its_request_id_and_is_counted(
        self, stack: StackHandle, org: Org
    ) -> None:
        labels = {"app": "gateway", "method": "POST", "route": "/internal/events", "status": "200"}
        before = REGISTRY.get_sample_value("smp_http_requests_total", labels) or 0.0

        response = await stack.as_service("incidents").post(
            "/internal/events",
            json={"events": [event()]},
            headers={"X-Request-ID": "drain-42"},
        )

        assert response.json() == {"received": 1, "new": 1}
        assert response.headers["x-request-id"] == "drain-42"
        assert REGISTRY.get_sample_value("smp_http_requests_total", labels) == before + 1

    async def test_an_invalid_service_token_is_a_401(self, stack: StackHandle, org: Org) -> None:
        token = InternalTokenSigner("another-secret-" + "x" * 32).sign(
            audience=GATEWAY_AUDIENCE, subject="service:incidents", kind=PrincipalKind.SERVICE
        )
        response = await stack.client(headers={"Authorization": f"Bearer {token}"}).post(
            "/internal/events", json={"events": [event()]}
        )

        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
