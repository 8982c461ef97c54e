"""Retention in incidents on a frozen clock, with the real apps: dismissed reports deleted
after six months, closed incidents anonymised after five years (counts kept), nothing under
legal hold touched, the counts in the audit, and no setting that would cut the policy's
look-back window short, even for a report made long after the post."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from gateway.models import Person
from incidents.config import IncidentsSettings
from incidents.db import audit_trail, scheduled_runs
from incidents.retention import rules as retention_rules
from kit.retention import RetentionJob
from tests.incidents.conftest import Org, as_hr, etag_of, report
from tests.support.stack import StackHandle


async def move(stack: StackHandle, org: Org, incident: dict[str, Any], **body: str) -> None:
    hr = stack.as_user(org.hr)
    response = await hr.patch(
        f"/api/v1/incidents/{incident['id']}",
        json=body,
        headers={"If-Match": await etag_of(hr, incident["id"])},
    )
    assert response.status_code == 200, response.text


async def retention_after(stack: StackHandle, days: float) -> dict[str, int]:
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=days)):
        counts: dict[str, int] = await stack.stack.apps["incidents"].state.retention.run_once()
    return counts


class TestIncidentsRetention:
    async def test_a_dismissed_report_is_deleted_six_months_after_dismissal(
        self, stack: StackHandle, org: Org
    ) -> None:
        incident = await report(stack, org.reporter, org.employee)
        await move(stack, org, incident, status="dismissed", reason="Not about work.")

        early = await retention_after(stack, 180)
        late = await retention_after(stack, 184)
        again = await retention_after(stack, 184)
        gone = await stack.as_user(org.hr).get(f"/api/v1/incidents/{incident['id']}")

        assert early["dismissed_incidents_deleted"] == 0
        assert late["dismissed_incidents_deleted"] == 1
        assert again["dismissed_incidents_deleted"] == 0
        assert gone.status_code == 404

    async def test_a_closed_incident_is_anonymised_after_five_years_and_still_counted(
        self, stack: StackHandle, org: Org
    ) -> None:
        incident = await report(stack, org.reporter, org.employee, description="Leaked a slide.")
        await move(stack, org, incident, status="in_progress")
        await move(stack, org, incident, status="resolved", outcome="violation_confirmed")

        before = await retention_after(stack, 4 * 365)
        after = await retention_after(stack, 5 * 365 + 2)
        read = (await stack.as_user(org.hr).get(f"/api/v1/incidents/{incident['id']}")).json()

        assert before["closed_incidents_anonymised"] == 0
        assert after["closed_incidents_anonymised"] == 1
        assert read["description"] == "[removed by retention]"
        assert read["person_id"] != str(org.employee.id)
        assert read["severity"] == incident["severity"]

    async def test_nothing_under_legal_hold_is_touched(self, stack: StackHandle, org: Org) -> None:
        incident = await report(stack, org.reporter, org.employee)
        await move(stack, org, incident, status="dismissed", reason="Not about work.")
        held = await stack.as_user(org.legal).put(
            f"/api/v1/incidents/{incident['id']}/legal-hold", json={"reason": "Claim 2026-9."}
        )

        counts = await retention_after(stack, 6 * 365)
        kept = await stack.as_user(org.hr).get(f"/api/v1/incidents/{incident['id']}")

        assert held.status_code == 200, held.text
        assert counts == {"dismissed_incidents_deleted": 0, "closed_incidents_anonymised": 0}
        assert kept.status_code == 200
        assert kept.json()["description"] == incident["description"]

    async def test_what_it_removed_is_in_the_audit_as_counts(
        self, stack: StackHandle, org: Org, officer: Person
    ) -> None:
        incident = await report(stack, org.reporter, org.employee)
        await move(stack, org, incident, status="dismissed", reason="Not about work.")

        await retention_after(stack, 200)
        audit = await stack.as_user(officer).get("/api/v1/incidents/audit", params={"limit": 200})

        entries = [e for e in audit.json()["items"] if e["action"] == "retention.applied"]
        assert entries[-1]["detail"] == (
            "dismissed_incidents_deleted=1, closed_incidents_anonymised=0"
        )
        assert entries[-1]["actor"] == "service:incidents"


def job_at_the_floor(stack: StackHandle) -> RetentionJob:
    """The incidents retention job with the shortest closed-incident period the settings
    allow by default: 365 days of window plus 365 days of late reports."""
    return RetentionJob(
        "incidents",
        stack.stack.database("incidents"),
        scheduled_runs,
        rules=retention_rules(dismissed_days=183, closed_days=730, late_report_days=365),
        audit=audit_trail,
        every=dt.timedelta(hours=6),
    )


class TestLateReports:
    async def test_a_late_report_still_counts_an_incident_closed_more_than_a_year_before(
        self, stack: StackHandle, org: Org
    ) -> None:
        prior = await report(stack, org.reporter, org.employee)
        await move(stack, org, prior, status="in_progress")
        await move(stack, org, prior, status="resolved", outcome="violation_confirmed")
        job = job_at_the_floor(stack)
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)

        with time_machine.travel(later):
            counts = await job.run_once()
            # Reported today, about a post of 300 days ago: it looks back from the post.
            late = await report(
                stack,
                org.reporter,
                org.employee,
                occurred_at=(later - dt.timedelta(days=300)).isoformat(),
            )
            decision = (await as_hr(stack, org, late["id"]))["decision"]

        assert counts["closed_incidents_anonymised"] == 0
        assert decision["facts"]["prior_incidents"] == {"365": 1}

    async def test_past_window_and_allowance_the_incident_is_anonymised(
        self, stack: StackHandle, org: Org
    ) -> None:
        prior = await report(stack, org.reporter, org.employee)
        await move(stack, org, prior, status="in_progress")
        await move(stack, org, prior, status="resolved", outcome="violation_confirmed")

        with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=731)):
            counts = await job_at_the_floor(stack).run_once()

        assert counts["closed_incidents_anonymised"] == 1


class TestSettings:
    def test_a_closed_incident_period_shorter_than_the_policy_window_is_refused(self) -> None:
        with pytest.raises(ValueError, match="would cut short the escalation policy"):
            IncidentsSettings(retention_closed_days=200)

    def test_the_period_must_also_cover_late_reports(self) -> None:
        with pytest.raises(ValueError, match=r"up to 365 days after the post.*at least 730"):
            IncidentsSettings(retention_closed_days=500)

    def test_a_shorter_late_report_allowance_allows_a_shorter_period(self) -> None:
        settings = IncidentsSettings(retention_closed_days=400, retention_late_report_days=30)

        assert settings.retention_closed_days == 400

    def test_the_defaults_keep_five_years(self) -> None:
        settings = IncidentsSettings()

        assert (settings.retention_closed_days, settings.retention_late_report_days) == (1826, 365)
