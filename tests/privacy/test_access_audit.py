"""The access audit with the real apps: reads of incidents and of notes, and role changes,
are recorded with who, what, when and the route; the privacy officer queries them; nobody
changes them through the API; ``audit-verify`` finds a tampered row."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from coaching.db import audit_trail as coaching_trail
from gateway.models import Person
from incidents.db import audit_trail as incidents_trail
from tests.coaching.support import BASE as COACHING
from tests.coaching.test_sessions import (
    Coaching,
    held_session,  # noqa: F401  (fixture)
)
from tests.incidents.conftest import Org, report, seed_policy
from tests.support.stack import StackHandle

INCIDENTS_AUDIT = "/api/v1/incidents/audit"
COACHING_AUDIT = "/api/v1/coaching/audit"
GATEWAY_AUDIT = "/api/v1/privacy/audit"


async def audit(
    stack: StackHandle, officer: Person, path: str, **params: str
) -> list[dict[str, Any]]:
    response = await stack.as_user(officer).get(path, params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


class TestIncidentReads:
    async def test_a_read_is_recorded_with_who_what_when_and_the_route(
        self, stack: StackHandle, org: Org, officer: Person
    ) -> None:
        incident = await report(stack, org.reporter, org.employee)
        before = dt.datetime.now(dt.UTC)

        read = await stack.as_user(org.hr).get(f"/api/v1/incidents/{incident['id']}")
        entries = await audit(stack, officer, INCIDENTS_AUDIT, object_id=incident["id"])

        assert read.status_code == 200
        (entry,) = entries
        assert entry["action"] == "incident.read"
        assert entry["actor"] == f"user:{org.hr.id}"
        assert entry["actor_person_id"] == str(org.hr.id)
        assert entry["person_id"] == str(org.employee.id)
        assert entry["detail"] == "full view"
        assert entry["route"] == f"GET /api/v1/incidents/{incident['id']}"
        assert dt.datetime.fromisoformat(entry["at"]) >= before - dt.timedelta(seconds=1)

    async def test_the_timeline_read_and_the_assignee_view_are_recorded(
        self, stack: StackHandle, org: Org, officer: Person
    ) -> None:
        incident = await report(stack, org.reporter, org.employee, severity="medium")

        await stack.as_user(org.manager).get(f"/api/v1/incidents/{incident['id']}")
        await stack.as_user(org.hr).get(f"/api/v1/incidents/{incident['id']}/timeline")
        entries = await audit(stack, officer, INCIDENTS_AUDIT, object_id=incident["id"])

        assert [(e["action"], e["detail"]) for e in entries] == [
            ("incident.read", "assignee view"),
            ("incident.timeline.read", "full view"),
        ]

    async def test_a_refused_read_is_not_an_entry(
        self, stack: StackHandle, org: Org, officer: Person
    ) -> None:
        incident = await report(stack, org.reporter, org.employee)

        refused = await stack.as_user(org.outsider).get(f"/api/v1/incidents/{incident['id']}")

        assert refused.status_code == 404
        assert await audit(stack, officer, INCIDENTS_AUDIT, object_id=incident["id"]) == []


class TestQueries:
    async def test_by_person_by_actor_and_by_period(
        self, stack: StackHandle, org: Org, officer: Person
    ) -> None:
        first = await report(stack, org.reporter, org.employee)
        other = await report(stack, org.reporter, org.outsider)
        for incident in (first, other):
            await stack.as_user(org.hr).get(f"/api/v1/incidents/{incident['id']}")
        await stack.as_user(org.employee).get(f"/api/v1/incidents/{first['id']}")

        about = await audit(stack, officer, INCIDENTS_AUDIT, person_id=str(org.employee.id))
        by_hr = await audit(stack, officer, INCIDENTS_AUDIT, actor_id=str(org.hr.id))
        later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        none_later = await audit(stack, officer, INCIDENTS_AUDIT, since=later.isoformat())

        assert [(e["object_id"], e["actor_person_id"]) for e in about] == [
            (first["id"], str(org.hr.id)),
            (first["id"], str(org.employee.id)),
        ]
        assert [e["object_id"] for e in by_hr] == [first["id"], other["id"]]
        assert none_later == []

    async def test_pages_follow_each_other_without_repeats(
        self, stack: StackHandle, org: Org, officer: Person
    ) -> None:
        incident = await report(stack, org.reporter, org.employee)
        for _ in range(3):
            await stack.as_user(org.hr).get(f"/api/v1/incidents/{incident['id']}")

        client = stack.as_user(officer)
        first = await client.get(INCIDENTS_AUDIT, params={"object_id": incident["id"], "limit": 2})
        second = await client.get(
            INCIDENTS_AUDIT,
            params={"object_id": incident["id"], "cursor": first.json()["next_cursor"]},
        )

        seqs = [e["seq"] for e in first.json()["items"] + second.json()["items"]]
        assert len(seqs) == 3
        assert seqs == sorted(set(seqs))

    @pytest.mark.parametrize("path", [INCIDENTS_AUDIT, COACHING_AUDIT, GATEWAY_AUDIT])
    async def test_only_the_privacy_officer_reads_it(
        self, stack: StackHandle, org: Org, path: str
    ) -> None:
        response = await stack.as_user(org.hr).get(path)

        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"
        assert "privacy officer" in response.json()["detail"]

    @pytest.mark.parametrize("path", [COACHING_AUDIT, GATEWAY_AUDIT])
    @pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
    async def test_nothing_changes_or_deletes_an_entry(
        self, stack: StackHandle, officer: Person, method: str, path: str
    ) -> None:
        response = await stack.as_user(officer).request(method, path, json={})

        assert response.status_code == 405

    async def test_a_period_without_a_timezone_is_a_422(
        self, stack: StackHandle, officer: Person
    ) -> None:
        response = await stack.as_user(officer).get(
            INCIDENTS_AUDIT, params={"since": "2026-01-01T00:00:00"}
        )

        assert response.status_code == 422
        assert "timezone" in response.text


class TestNotesReads:
    async def test_a_read_with_notes_is_recorded_and_one_without_is_not(
        self,
        stack: StackHandle,
        held_session: Coaching,  # noqa: F811
        officer: Person,
    ) -> None:
        engagement_id = held_session.engagement["id"]
        sessions = f"{COACHING}/engagements/{engagement_id}/sessions"
        hr = await stack.person(roles=["hr"])

        by_coachee = await stack.as_user(held_session.coachee).get(sessions)
        by_hr = await stack.as_user(hr).get(f"{sessions}/{held_session.session['id']}")
        entries = await audit(stack, officer, COACHING_AUDIT, object_id=engagement_id)

        assert by_coachee.json()["items"][0]["notes"]
        assert by_hr.json()["notes"] is None
        assert [
            (e["action"], e["actor_person_id"], e["person_id"], e["detail"]) for e in entries
        ] == [
            (
                "engagement.notes.read",
                str(held_session.coachee.id),
                str(held_session.coachee.id),
                "as coachee",
            )
        ]


class TestRoleChanges:
    async def test_joining_and_leaving_a_mapped_group_is_recorded(
        self, stack: StackHandle, scim: httpx.AsyncClient, officer: Person
    ) -> None:
        user = (
            await scim.post("/scim/v2/Users", json={"userName": f"u-{uuid.uuid4().hex[:8]}"})
        ).json()
        group = (
            await scim.post(
                "/scim/v2/Groups", json={"displayName": "HR", "members": [{"value": user["id"]}]}
            )
        ).json()
        await scim.patch(
            f"/scim/v2/Groups/{group['id']}",
            json={
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Remove", "path": f'members[value eq "{user["id"]}"]'}],
            },
        )

        entries = await audit(stack, officer, GATEWAY_AUDIT, person_id=user["id"])

        assert [(e["action"], e["detail"], e["object_id"]) for e in entries] == [
            ("role.granted", "hr", group["id"]),
            ("role.revoked", "hr", group["id"]),
        ]
        assert entries[0]["actor"].startswith("api_client:")

    async def test_an_unmapped_group_changes_no_role(
        self, stack: StackHandle, scim: httpx.AsyncClient, officer: Person
    ) -> None:
        user = (
            await scim.post("/scim/v2/Users", json={"userName": f"u-{uuid.uuid4().hex[:8]}"})
        ).json()
        await scim.post(
            "/scim/v2/Groups",
            json={"displayName": "Book club", "members": [{"value": user["id"]}]},
        )

        assert await audit(stack, officer, GATEWAY_AUDIT, person_id=user["id"]) == []


class TestVerifyCommand:
    async def test_the_command_passes_an_intact_chain_and_names_a_tampered_row(
        self, committed_stack: StackHandle
    ) -> None:
        stack = committed_stack
        org_hr = await stack.person(roles=["hr"])
        reporter, person = await stack.person(), await stack.person()
        await seed_policy(stack)
        incident = await report(stack, reporter, person)
        for _ in range(3):
            read = await stack.as_user(org_hr).get(f"/api/v1/incidents/{incident['id']}")
            assert read.status_code == 200

        intact = _verify(stack, "incidents")
        async with stack.stack.database("incidents").transaction() as session:
            await session.execute(
                update(incidents_trail.entries)
                .where(incidents_trail.entries.c.seq == 2)
                .values(actor=f"user:{uuid.uuid4()}")
            )
        tampered = _verify(stack, "incidents")
        coaching = _verify(stack, "coaching")

        assert (intact.returncode, intact.stdout.strip()) == (
            0,
            "incidents: audit chain intact: 3 entries",
        )
        assert tampered.returncode == 1
        assert "BROKEN at entry 2" in tampered.stdout
        assert coaching.returncode == 0
        assert coaching_trail.app == "coaching"


def _verify(stack: StackHandle, app: str) -> subprocess.CompletedProcess[str]:
    url = stack.stack.settings[app].database_url
    return subprocess.run(
        [sys.executable, "-m", app, "audit-verify"],
        env={**os.environ, f"{app.upper()}_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
