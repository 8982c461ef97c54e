"""A decision's effects in coaching, and undoing them: an ambassador is suspended by a
decision whose rule says so (never by a report alone, nor by a low-severity rule), and a
dismissal or a finding of no violation cancels the remedial engagement and lifts the
suspension. With the real incidents, coaching and training apps wired together."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.models import Person
from tests.coaching.support import PROGRAM, ambassador
from tests.incidents.conftest import Org, as_hr, etag_of, report, worker
from tests.support.stack import StackHandle

REMEDIAL = "/api/v1/coaching/engagements"


async def ambassador_status(owner: httpx.AsyncClient, person: Person) -> str | None:
    listed = (await owner.get(PROGRAM)).json()["items"]
    return next((a["status"] for a in listed if a["person_id"] == str(person.id)), None)


async def engagement_of(stack: StackHandle, org: Org, incident: dict[str, Any]) -> dict[str, Any]:
    engagement_id = (await as_hr(stack, org, incident["id"]))["remedial_engagement_id"]
    assert engagement_id is not None
    response = await stack.as_user(org.hr).get(f"{REMEDIAL}/{engagement_id}")
    body: dict[str, Any] = response.json()
    return body


async def timeline_kinds(stack: StackHandle, org: Org, incident_id: str) -> list[dict[str, Any]]:
    response = await stack.as_user(org.hr).get(f"/api/v1/incidents/{incident_id}/timeline")
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def close(stack: StackHandle, org: Org, incident_id: str, **change: Any) -> httpx.Response:
    hr = stack.as_user(org.hr)
    if change.get("status") == "resolved":
        started = await hr.patch(
            f"/api/v1/incidents/{incident_id}",
            json={"status": "in_progress"},
            headers={"If-Match": await etag_of(hr, incident_id)},
        )
        assert started.status_code == 200, started.text
    return await hr.patch(
        f"/api/v1/incidents/{incident_id}",
        json=change,
        headers={"If-Match": await etag_of(hr, incident_id)},
    )


class TestSuspensionFollowsTheDecision:
    async def test_a_low_severity_decision_opens_coaching_but_does_not_suspend(
        self, stack: StackHandle, org: Org
    ) -> None:
        person, owner = await ambassador(stack)

        created = await report(stack, org.reporter, person, severity="low")
        await worker(stack).run_due()

        decision = (await as_hr(stack, org, created["id"]))["decision"]
        assert (decision["action"], decision["suspends_ambassador"]) == ("coaching", False)
        assert (await engagement_of(stack, org, created))["status"] == "proposed"
        assert await ambassador_status(owner, person) == "active"

    async def test_a_medium_severity_decision_suspends_and_the_timeline_says_so(
        self, stack: StackHandle, org: Org
    ) -> None:
        person, owner = await ambassador(stack)

        created = await report(stack, org.reporter, person, severity="medium")
        await worker(stack).run_due()

        assert (await as_hr(stack, org, created["id"]))["decision"]["suspends_ambassador"]
        assert await ambassador_status(owner, person) == "suspended"
        [entry] = [
            e
            for e in await timeline_kinds(stack, org, created["id"])
            if e["kind"] == "coaching_measures"
        ]
        assert "suspended the person's ambassador role" in entry["summary"]

    async def test_the_measures_and_the_engagement_reach_coaching_in_one_call(
        self, stack: StackHandle, org: Org, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        person, owner = await ambassador(stack)
        created = await report(stack, org.reporter, person, severity="medium")
        to_coaching = stack.stack.upstreams["coaching"].inner
        forward = to_coaching.handle_async_request
        calls: list[tuple[str, str]] = []

        async def counted(request: httpx.Request) -> httpx.Response:
            calls.append((request.method, request.url.path))
            return await forward(request)

        monkeypatch.setattr(to_coaching, "handle_async_request", counted)
        await worker(stack).run_due()

        assert calls == [("PUT", f"/api/v1/coaching/incidents/{created['id']}/measures")]
        assert await ambassador_status(owner, person) == "suspended"
        assert (await engagement_of(stack, org, created))["status"] == "proposed"
        kinds = [e["kind"] for e in await timeline_kinds(stack, org, created["id"])]
        assert kinds[-3:] == ["coaching_measures", "remedial_training", "remedial_opened"]

    async def test_the_dry_run_shows_which_rules_suspend(
        self, stack: StackHandle, org: Org
    ) -> None:
        hr = stack.as_user(org.hr)

        low = await hr.post(
            "/api/v1/incidents/escalation-policy/dry-run",
            json={"severity": "low", "category": "other"},
        )
        medium = await hr.post(
            "/api/v1/incidents/escalation-policy/dry-run",
            json={"severity": "medium", "category": "other"},
        )

        assert low.json()["rule"]["suspends_ambassador"] is False
        assert medium.json()["rule"]["suspends_ambassador"] is True


class TestUndoing:
    async def test_dismissing_cancels_the_remedial_engagement_and_lifts_the_suspension(
        self, stack: StackHandle, org: Org
    ) -> None:
        person, owner = await ambassador(stack)
        created = await report(stack, org.reporter, person, severity="medium")
        await worker(stack).run_due()
        assert await ambassador_status(owner, person) == "suspended"

        dismissed = await close(
            stack, org, created["id"], status="dismissed", reason="The account is not theirs."
        )
        await worker(stack).run_due()

        assert dismissed.status_code == 200, dismissed.text
        engagement = await engagement_of(stack, org, created)
        assert engagement["status"] == "cancelled"
        assert engagement["closing_note"] == "Cancelled: the incident was dismissed."
        assert await ambassador_status(owner, person) == "active"
        [entry] = [
            e
            for e in await timeline_kinds(stack, org, created["id"])
            if e["kind"] == "coaching_measures" and e["data"]["status"] == "withdrawn"
        ]
        assert "cancelled the remedial engagement" in entry["summary"]
        assert "lifted the ambassador suspension" in entry["summary"]

    async def test_no_violation_undoes_it_too(self, stack: StackHandle, org: Org) -> None:
        person, owner = await ambassador(stack)
        created = await report(stack, org.reporter, person, severity="medium")
        await worker(stack).run_due()

        resolved = await close(stack, org, created["id"], status="resolved", outcome="no_violation")
        await worker(stack).run_due()

        assert resolved.status_code == 200, resolved.text
        assert (await engagement_of(stack, org, created))["status"] == "cancelled"
        assert await ambassador_status(owner, person) == "active"

    async def test_a_confirmed_violation_keeps_the_coaching_and_its_suspension(
        self, stack: StackHandle, org: Org
    ) -> None:
        person, owner = await ambassador(stack)
        created = await report(stack, org.reporter, person, severity="medium")
        await worker(stack).run_due()

        await close(stack, org, created["id"], status="resolved", outcome="violation_confirmed")
        await worker(stack).run_due()

        assert (await engagement_of(stack, org, created))["status"] == "proposed"
        assert await ambassador_status(owner, person) == "suspended"

    async def test_a_report_dismissed_before_its_coaching_opened_opens_none(
        self, stack: StackHandle, org: Org
    ) -> None:
        person = await stack.person()
        created = await report(stack, org.reporter, person, severity="low")

        await close(stack, org, created["id"], status="dismissed", reason="A duplicate report.")
        await worker(stack).run_due()

        incident = await as_hr(stack, org, created["id"])
        assert incident["remedial_engagement_id"] is None
        listed = await stack.as_user(org.hr).get(REMEDIAL, params={"coachee_id": str(person.id)})
        assert listed.json()["items"] == []
