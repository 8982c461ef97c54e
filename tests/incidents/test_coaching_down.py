"""Degraded mode: coaching is down. Nothing is decided as if the person had no history."""

from __future__ import annotations

import time

from gateway.resilience import BreakerState, CircuitBreaker
from tests.incidents.conftest import Org, as_hr, coaching_down, days_ago, report, worker
from tests.support.heap import heap_frozen
from tests.support.hung import hung_upstream
from tests.support.stack import StackHandle


async def timeline_kinds(stack: StackHandle, org: Org, incident_id: str) -> list[str]:
    response = await stack.as_user(org.hr).get(f"/api/v1/incidents/{incident_id}/timeline")
    return [entry["kind"] for entry in response.json()["items"]]


class TestCoachingDown:
    async def test_a_critical_incident_is_decided_at_once(
        self, stack: StackHandle, org: Org
    ) -> None:
        await report(stack, org.reporter, org.employee, occurred_at=days_ago(30))

        with coaching_down(stack):
            created = await report(stack, org.reporter, org.employee, severity="critical")

        incident = await as_hr(stack, org, created["id"])
        assert incident["status"] == "decided"
        assert incident["decision"]["action"] == "legal_review"
        assert incident["decision"]["facts"]["completed_remedial"] is None

    async def test_a_repeat_medium_incident_waits_then_is_decided_when_coaching_returns(
        self, stack: StackHandle, org: Org
    ) -> None:
        await report(stack, org.reporter, org.employee, occurred_at=days_ago(30))

        with coaching_down(stack):
            created = await report(stack, org.reporter, org.employee, severity="medium")
            await worker(stack).run_due()  # a retry while coaching is still down
            waiting = await as_hr(stack, org, created["id"])
        await worker(stack).run_due()
        decided = await as_hr(stack, org, created["id"])

        assert created["status"] == "awaiting_history"
        assert waiting["status"] == "awaiting_history"
        assert waiting["decision"] is None
        assert decided["status"] == "decided"
        assert decided["decision"]["trigger"] == "retried"
        assert decided["decision"]["rule_position"] == 5
        assert decided["decision"]["facts"]["completed_remedial"] == {"365": 0}
        kinds = await timeline_kinds(stack, org, created["id"])
        assert kinds[:3] == ["reported", "awaiting_history", "decided"]
        assert kinds.count("awaiting_history") == 1

    async def test_the_waiting_incident_says_which_rule_needs_the_history(
        self, stack: StackHandle, org: Org
    ) -> None:
        await report(stack, org.reporter, org.employee, occurred_at=days_ago(30))

        with coaching_down(stack):
            created = await report(stack, org.reporter, org.employee, severity="high")

        timeline = (
            await stack.as_user(org.hr).get(f"/api/v1/incidents/{created['id']}/timeline")
        ).json()["items"]
        waiting = next(entry for entry in timeline if entry["kind"] == "awaiting_history")
        assert "Rule 3" in waiting["summary"]
        assert "coaching history is unavailable" in waiting["summary"]

    async def test_a_first_incident_is_decided_since_no_history_could_change_it(
        self, stack: StackHandle, org: Org
    ) -> None:
        with coaching_down(stack):
            created = await report(stack, org.reporter, org.employee, severity="medium")

        incident = await as_hr(stack, org, created["id"])
        assert incident["status"] == "decided"
        assert incident["decision"]["facts"]["coaching_history"] == "not needed"

    async def test_hr_asking_for_a_decision_while_coaching_is_down_gets_a_503(
        self, stack: StackHandle, org: Org
    ) -> None:
        await report(stack, org.reporter, org.employee, occurred_at=days_ago(30))
        with coaching_down(stack):
            created = await report(stack, org.reporter, org.employee, severity="low")

            response = await stack.as_user(org.hr).post(
                f"/api/v1/incidents/{created['id']}/decision"
            )

        assert response.status_code == 503
        assert "awaiting_history" in response.json()["detail"]
        assert (await as_hr(stack, org, created["id"]))["status"] == "awaiting_history"

    async def test_waiting_incidents_can_be_listed(self, stack: StackHandle, org: Org) -> None:
        await report(stack, org.reporter, org.employee, occurred_at=days_ago(30))
        with coaching_down(stack):
            created = await report(stack, org.reporter, org.employee, severity="low")

        listed = await stack.as_user(org.hr).get(
            "/api/v1/incidents", params={"status": "awaiting_history"}
        )

        assert [item["id"] for item in listed.json()["items"]] == [created["id"]]


class TestCoachingHangs:
    """Coaching accepts connections and never answers: the gateway times each history call
    out at the decision's budget (not at its own 30 s), its breaker counts the timeouts and
    opens, and every report is answered within a second."""

    async def test_reports_are_answered_within_a_second_and_the_breaker_opens(
        self, stack: StackHandle, org: Org
    ) -> None:
        await report(stack, org.reporter, org.employee, occurred_at=days_ago(30))
        gateway_state = stack.stack.apps["gateway"].state
        breaker: CircuitBreaker = gateway_state.breakers["coaching"]
        reports = breaker.failure_threshold + 2

        async with hung_upstream("coaching", read_timeout=30) as hung:
            previous = gateway_state.upstreams["coaching"]
            gateway_state.upstreams["coaching"] = hung
            try:
                timed = []
                with heap_frozen():
                    for _ in range(reports):
                        started = time.monotonic()
                        created = await report(stack, org.reporter, org.employee, severity="medium")
                        timed.append((time.monotonic() - started, created["status"]))
                state_after = breaker.state
            finally:
                gateway_state.upstreams["coaching"] = previous

        assert [status for _, status in timed] == ["awaiting_history"] * reports
        assert max(seconds for seconds, _ in timed) < 1.0
        assert state_after is BreakerState.OPEN
        # Once open, a report does not even wait for the budget.
        assert timed[-1][0] < 0.3
