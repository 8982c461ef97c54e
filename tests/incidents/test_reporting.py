"""Reporting an incident: validation, idempotency, and the decision taken at once."""

from __future__ import annotations

import datetime as dt

import pytest

from kit.db import utcnow
from tests.incidents.conftest import Org, incident_body, report
from tests.support.stack import StackHandle


class TestReport:
    async def test_an_employee_reports_and_the_incident_is_decided_at_once(
        self, stack: StackHandle, org: Org
    ) -> None:
        incident = await report(stack, org.reporter, org.employee, severity="medium")

        assert incident["status"] == "decided"
        assert incident["view"] == "reporter"
        assert incident["reporter_id"] == str(org.reporter.id)
        assert incident["decision"] is None, "the reporter does not see the decision"

    async def test_the_decision_records_rule_policy_version_facts_contacts_owner_deadline(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.reporter, org.employee, severity="medium")

        incident = (await stack.as_user(org.hr).get(f"/api/v1/incidents/{created['id']}")).json()

        decision = incident["decision"]
        assert decision["action"] == "coaching"
        assert decision["rule_position"] == 5
        assert decision["policy_number"] == 1
        assert decision["facts"]["prior_incidents"] == {"365": 0}
        assert decision["facts"]["coaching_history"] == "not needed"
        assert decision["contacts"][0]["person_id"] == str(org.manager.id)
        assert decision["contacts"][0]["display_name"] == "Marc Manager"
        assert decision["owner_role"] == "manager"
        assert decision["owner_id"] == str(org.manager.id)
        deadline = dt.datetime.fromisoformat(decision["deadline_at"])
        assert abs(deadline - (utcnow() + dt.timedelta(hours=168))) < dt.timedelta(minutes=1)
        assert incident["owner_id"] == str(org.manager.id)

    async def test_a_missing_field_is_a_422_naming_it(self, stack: StackHandle, org: Org) -> None:
        body = incident_body(org.employee)
        del body["severity"]

        response = await stack.as_user(org.reporter).post("/api/v1/incidents", json=body)

        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["pointer"] == "#/severity"

    async def test_an_unknown_severity_is_a_422(self, stack: StackHandle, org: Org) -> None:
        response = await stack.as_user(org.reporter).post(
            "/api/v1/incidents", json=incident_body(org.employee, severity="catastrophic")
        )

        assert response.status_code == 422
        assert "severity" in response.json()["detail"]

    async def test_a_time_in_the_future_is_refused(self, stack: StackHandle, org: Org) -> None:
        tomorrow = (utcnow() + dt.timedelta(days=1)).isoformat()

        response = await stack.as_user(org.reporter).post(
            "/api/v1/incidents", json=incident_body(org.employee, occurred_at=tomorrow)
        )

        assert response.status_code == 422
        assert "cannot be in the future" in response.json()["detail"]

    async def test_a_time_without_timezone_is_refused(self, stack: StackHandle, org: Org) -> None:
        response = await stack.as_user(org.reporter).post(
            "/api/v1/incidents", json=incident_body(org.employee, occurred_at="2026-01-05T10:00")
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "#/occurred_at"

    @pytest.mark.parametrize(
        "when", ["0001-01-01T00:00:00Z", "0001-01-01T00:30:00+01:00", "1850-06-01T00:00:00Z"]
    )
    async def test_a_time_before_1900_is_a_422_and_no_incident_is_written(
        self, stack: StackHandle, org: Org, when: str
    ) -> None:
        before = (await stack.as_user(org.hr).get("/api/v1/incidents")).json()["items"]

        response = await stack.as_user(org.reporter).post(
            "/api/v1/incidents", json=incident_body(org.employee, occurred_at=when)
        )

        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["pointer"] == "#/occurred_at"
        assert (await stack.as_user(org.hr).get("/api/v1/incidents")).json()["items"] == before

    async def test_a_link_that_is_not_a_url_is_refused(self, stack: StackHandle, org: Org) -> None:
        response = await stack.as_user(org.reporter).post(
            "/api/v1/incidents", json=incident_body(org.employee, links=["not a link"])
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "#/links/0"

    async def test_a_person_unknown_to_the_directory_is_a_422_and_nothing_is_stored(
        self, stack: StackHandle, org: Org
    ) -> None:
        body = incident_body(org.employee, person_id="00000000-0000-4000-8000-000000000000")

        response = await stack.as_user(org.reporter).post("/api/v1/incidents", json=body)
        listed = await stack.as_user(org.reporter).get("/api/v1/incidents")

        assert response.status_code == 422
        assert response.json()["type"] == "urn:smp:problem:person-not-in-directory"
        assert listed.json()["items"] == []

    async def test_a_replay_with_the_same_idempotency_key_returns_the_first_incident(
        self, stack: StackHandle, org: Org
    ) -> None:
        client = stack.as_user(org.reporter)
        headers = {"Idempotency-Key": "report-emma-q3"}
        body = incident_body(org.employee)

        first = await client.post("/api/v1/incidents", json=body, headers=headers)
        again = await client.post("/api/v1/incidents", json=body, headers=headers)
        listed = await client.get("/api/v1/incidents")

        assert first.status_code == again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json()["id"] == first.json()["id"]
        assert len(listed.json()["items"]) == 1

    async def test_without_a_gateway_token_the_service_answers_401(
        self, stack: StackHandle, org: Org
    ) -> None:
        response = await stack.client("incidents").post(
            "/api/v1/incidents", json=incident_body(org.employee)
        )

        assert response.status_code == 401
