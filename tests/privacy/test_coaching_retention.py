"""Retention in coaching on a frozen clock, with the real apps: an engagement's notes
(sessions' notes and the closing note) removed twelve months after it ended, the
engagement itself kept, nothing removed twice, the notes of an engagement from an incident
under legal hold kept, and the counts in the coaching audit."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from coaching.config import CoachingSettings
from coaching.db import scheduled_runs
from gateway.models import Person
from kit.db import utcnow
from kit.jobs import SCHEDULED_RETRY_AFTER as RETRY_AFTER
from tests.coaching.support import BASE, act, active_engagement
from tests.coaching.test_sessions import NOTE, patch, schedule_body
from tests.incidents.conftest import Org, report
from tests.support.stack import StackHandle

SUMMARY = "Knows the rules now; talked through the screenshot twice."


async def ended_with_notes(
    stack: StackHandle, coachee: Person, *, incident_id: uuid.UUID | None = None
) -> tuple[Person, dict[str, Any]]:
    """A remedial engagement with a held session with notes, completed with a summary."""
    coach, engagement = await active_engagement(stack, coachee, incident_id=incident_id)
    client = stack.as_user(coach)
    scheduled = await client.post(
        f"{BASE}/engagements/{engagement['id']}/sessions", json=schedule_body(days=-1)
    )
    assert scheduled.status_code == 201, scheduled.text
    held = await patch(client, scheduled.json(), {"status": "held", "notes": NOTE})
    assert held.status_code == 200, held.text
    current = (await client.get(f"{BASE}/engagements/{engagement['id']}")).json()
    completed = await act(client, current, "complete", {"outcome": "goals_met", "summary": SUMMARY})
    assert completed.status_code == 200, completed.text
    return coach, completed.json()


async def retention_after(stack: StackHandle, days: float) -> dict[str, int]:
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=days)):
        counts: dict[str, int] = await stack.stack.apps["coaching"].state.retention.run_once()
    return counts


async def seen_by_coach(
    stack: StackHandle, coach: Person, engagement: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    client = stack.as_user(coach)
    read = await client.get(f"{BASE}/engagements/{engagement['id']}")
    sessions = await client.get(f"{BASE}/engagements/{engagement['id']}/sessions")
    assert read.status_code == 200, read.text
    assert sessions.status_code == 200, sessions.text
    items: list[dict[str, Any]] = sessions.json()["items"]
    return read.json(), items


class TestCoachingRetention:
    async def test_notes_are_removed_twelve_months_after_the_engagement_ended(
        self, stack: StackHandle
    ) -> None:
        coach, engagement = await ended_with_notes(stack, await stack.person())

        early = await retention_after(stack, 360)
        kept, kept_sessions = await seen_by_coach(stack, coach, engagement)
        late = await retention_after(stack, 366)
        read, sessions = await seen_by_coach(stack, coach, engagement)

        assert early == {"engagement_notes_removed": 0}
        assert kept["closing_note"] == SUMMARY
        assert kept_sessions[0]["notes"] == NOTE
        assert late == {"engagement_notes_removed": 1}
        assert read["closing_note"] is None
        assert sessions[0]["notes"] is None

    async def test_the_engagement_and_its_sessions_stay_as_coaching_history(
        self, stack: StackHandle
    ) -> None:
        coach, engagement = await ended_with_notes(stack, await stack.person())

        await retention_after(stack, 366)
        read, sessions = await seen_by_coach(stack, coach, engagement)

        assert (read["status"], read["outcome"], read["track"]) == (
            "completed",
            "goals_met",
            "remedial",
        )
        assert read["completed_at"] == engagement["completed_at"]
        assert [s["status"] for s in sessions] == ["held"]

    async def test_a_second_run_removes_nothing_more(self, stack: StackHandle) -> None:
        await ended_with_notes(stack, await stack.person())

        first = await retention_after(stack, 366)
        second = await retention_after(stack, 367)

        assert first == {"engagement_notes_removed": 1}
        assert second == {"engagement_notes_removed": 0}

    async def test_an_open_engagement_keeps_its_notes(self, stack: StackHandle) -> None:
        coach, engagement = await active_engagement(stack, await stack.person())
        client = stack.as_user(coach)
        scheduled = await client.post(
            f"{BASE}/engagements/{engagement['id']}/sessions", json=schedule_body(days=-1)
        )
        await patch(client, scheduled.json(), {"status": "held", "notes": NOTE})

        counts = await retention_after(stack, 3 * 365)
        _, sessions = await seen_by_coach(stack, coach, engagement)

        assert counts == {"engagement_notes_removed": 0}
        assert sessions[0]["notes"] == NOTE

    async def test_an_engagement_from_an_incident_under_legal_hold_keeps_its_notes(
        self, stack: StackHandle, org: Org
    ) -> None:
        incident = await report(stack, org.reporter, org.employee)
        held = await stack.as_user(org.legal).put(
            f"/api/v1/incidents/{incident['id']}/legal-hold", json={"reason": "Claim 2026-9."}
        )
        coach, engagement = await ended_with_notes(
            stack, org.employee, incident_id=uuid.UUID(incident["id"])
        )

        while_held = await retention_after(stack, 400)
        read, sessions = await seen_by_coach(stack, coach, engagement)
        lifted = await stack.as_user(org.legal).post(
            f"/api/v1/incidents/{incident['id']}/legal-hold/lift",
            json={"reason": "Claim settled."},
        )
        after = await retention_after(stack, 400)

        assert held.status_code == 200, held.text
        assert while_held == {"engagement_notes_removed": 0}
        assert read["closing_note"] == SUMMARY
        assert sessions[0]["notes"] == NOTE
        assert lifted.status_code == 200, lifted.text
        assert after == {"engagement_notes_removed": 1}

    async def test_what_it_removed_is_in_the_audit_as_counts(
        self, stack: StackHandle, officer: Person
    ) -> None:
        await ended_with_notes(stack, await stack.person())

        await retention_after(stack, 366)
        audit = await stack.as_user(officer).get("/api/v1/coaching/audit", params={"limit": 200})

        entries = [e for e in audit.json()["items"] if e["action"] == "retention.applied"]
        assert entries[-1]["detail"] == "engagement_notes_removed=1"
        assert entries[-1]["actor"] == "service:coaching"
        assert NOTE not in str(audit.json())


class TestIncidentsAway:
    async def test_the_run_waits_with_a_warning_and_is_due_again_soon(
        self, stack: StackHandle, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Coaching asks incidents for its legal holds before removing anything; with
        incidents away (as on every start while the gateway comes up) nothing is removed,
        the log says so as a warning, and the run is due again in seconds, not hours."""
        coach, engagement = await ended_with_notes(stack, await stack.person())
        job = stack.stack.apps["coaching"].state.retention
        async with job.database.transaction() as session:
            await session.execute(scheduled_runs.delete())
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=366)

        with time_machine.travel(later), stack.upstream_down("incidents"):
            with caplog.at_level(logging.WARNING):
                delay = await job._round()
            async with job.database.transaction() as session:
                [run] = (await session.execute(select(scheduled_runs))).all()
            due_in_seconds = (run.next_run_at - utcnow()).total_seconds()
        stack.stack.apps["gateway"].state.breakers["incidents"].record_success()
        kept, _ = await seen_by_coach(stack, coach, engagement)

        assert delay == RETRY_AFTER.total_seconds()
        [warning] = [r for r in caplog.records if r.name == "kit.jobs"]
        assert warning.levelno == logging.WARNING
        assert "incidents" in warning.getMessage()
        assert run.leased_until is None
        assert 0 < due_in_seconds <= RETRY_AFTER.total_seconds() + 1
        assert kept["closing_note"] == SUMMARY


class TestLegalHoldsList:
    async def test_legal_sees_the_incidents_under_hold(self, stack: StackHandle, org: Org) -> None:
        incident = await report(stack, org.reporter, org.employee)
        await stack.as_user(org.legal).put(
            f"/api/v1/incidents/{incident['id']}/legal-hold", json={"reason": "Claim 2026-9."}
        )

        holds = await stack.as_user(org.legal).get("/api/v1/incidents/legal-holds")

        assert holds.status_code == 200, holds.text
        assert incident["id"] in holds.json()["incident_ids"]

    async def test_hr_does_not(self, stack: StackHandle, org: Org) -> None:
        holds = await stack.as_user(org.hr).get("/api/v1/incidents/legal-holds")

        assert holds.status_code == 403
        assert holds.headers["content-type"] == "application/problem+json"


class TestSettings:
    def test_the_notes_are_kept_twelve_months_by_default(self) -> None:
        assert CoachingSettings().retention_notes_days == 365

    def test_a_period_of_zero_days_is_refused(self) -> None:
        with pytest.raises(ValueError, match="retention_notes_days"):
            CoachingSettings(retention_notes_days=0)
