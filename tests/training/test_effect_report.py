"""The programme-effect report against hand-computed expectations, on a scenario played
through the real services on a frozen clock (2026: two quarters, Q2 and Q3).

Field: A (completed in March), B (overdue since March 20), E (completed in March).
Office: C (overdue since March 20, completed May 1), D (assigned June 1, due September 1).
Incidents: B 04-10 low, C 05-15 medium (both coaching), A 07-05 high, B 07-20 high,
D 07-25 low (coaching), C 08-12 high, after C's remedial coaching completed on 08-11.
Remedial training (the module teaching 1.1): B and D complete it on 08-20 at noon.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
import time_machine

from gateway.models import Person
from tests.incidents.conftest import (
    Org,
    complete_in_coaching,
    fresh_coaching_breaker,
    make_org,
    report,
    seed_policy,
    worker,
)
from tests.support.stack import StackHandle
from tests.training.factories import (
    API,
    assign,
    policy_owner,
    publish_policy,
    published_module,
    take_quiz,
)

REPORT = f"{API}/reports/effect"


@pytest.fixture
async def org(stack: StackHandle) -> AsyncIterator[Org]:
    """The incidents tests' organisation, with the default escalation policy."""
    await seed_policy(stack)
    with fresh_coaching_breaker(stack):
        yield await make_org(stack)


def at(month: int, day: int, hour: int = 12) -> time_machine.travel:
    return time_machine.travel(dt.datetime(2026, month, day, hour, tzinfo=dt.UTC), tick=True)


def occurred(month: int, day: int) -> str:
    return dt.datetime(2026, month, day, 12, tzinfo=dt.UTC).isoformat()


async def incident(
    stack: StackHandle, org: Org, person: Person, month: int, day: int, severity: str
) -> dict[str, Any]:
    return await report(
        stack,
        org.reporter,
        person,
        severity=severity,
        clauses=["1.1"],
        occurred_at=occurred(month, day),
    )


async def scenario(stack: StackHandle, org: Org) -> None:
    with at(3, 1):
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner)
        remedial = await published_module(
            stack, owner, quiz_body={}, title="Accountable online", clause_numbers=["1.1"]
        )
        a, b, e = [await stack.person(department="Field", manager=org.manager) for _ in "abe"]
        c, d = [await stack.person(department="Office", manager=org.manager) for _ in "cd"]
        await assign(stack, owner, module, [a, b, c, e], due_in=dt.timedelta(days=19))
    with at(3, 5):
        await take_quiz(stack.as_user(e), module, passing=True)
    with at(3, 10):
        await take_quiz(stack.as_user(a), module, passing=True)
    with at(5, 1):
        await take_quiz(stack.as_user(c), module, passing=True)
    with at(6, 1):
        await assign(stack, owner, module, [d], due_in=dt.timedelta(days=92))
    with at(8, 10):
        await incident(stack, org, b, 4, 10, "low")
        c_first = await incident(stack, org, c, 5, 15, "medium")
        await incident(stack, org, a, 7, 5, "high")
        await incident(stack, org, b, 7, 20, "high")
        await incident(stack, org, d, 7, 25, "low")
        await worker(stack).run_due()
        seen = await stack.as_user(org.hr).get(f"/api/v1/incidents/{c_first['id']}")
    with at(8, 11):
        await complete_in_coaching(stack, org, seen.json()["remedial_engagement_id"])
    with at(8, 13):
        await incident(stack, org, c, 8, 12, "high")
        await worker(stack).run_due()
    with at(8, 20, hour=12):
        for person in (b, d):
            read = await stack.as_user(person).post(f"{API}/modules/{remedial['id']}/read")
            assert read.status_code == 200, read.text


def groups(rows: list[dict[str, Any]]) -> dict[str | None, tuple[int, int, float | None]]:
    return {g["group"]: (g["people"], g["incidents"], g["per_100_people"]) for g in rows}


class TestEffectReport:
    async def test_the_figures_match_the_hand_computed_ones(
        self, stack: StackHandle, org: Org
    ) -> None:
        await scenario(stack, org)

        with at(8, 25):
            response = await stack.as_user(org.hr).get(REPORT, params={"quarters": 2})

        assert response.status_code == 200, response.text
        body = response.json()
        q2, q3 = body["quarters"]
        assert (q2["quarter"], q3["quarter"]) == ("2026-Q2", "2026-Q3")
        everyone = sum(g["people"] for g in q2["by_department"])
        assert groups(q2["by_training_status"]) == {
            "completed": (2, 0, 0.0),
            "assigned": (0, 0, None),
            "overdue": (2, 2, 100.0),
            "not_assigned": (everyone - 4, 0, 0.0),
        }
        assert groups(q3["by_training_status"]) == {
            "completed": (3, 2, 66.67),
            "assigned": (1, 1, 100.0),
            "overdue": (1, 1, 100.0),
            "not_assigned": (everyone - 5, 0, 0.0),
        }
        assert groups(q2["by_department"])["Field"] == (3, 1, 33.33)
        assert groups(q2["by_department"])["Office"] == (2, 1, 50.0)
        assert groups(q3["by_department"])["Field"] == (3, 2, 66.67)
        assert groups(q3["by_department"])["Office"] == (2, 2, 100.0)
        assert body["repeat_incidents"] == {
            "after_completed_coaching": {"incidents": 1, "repeated": 1, "rate": 1.0},
            "without_completed_coaching": {"incidents": 2, "repeated": 1, "rate": 0.5},
        }
        assert body["remedial_training"] == {
            "incidents_with_remedial_training": 3,
            "completed": 2,
            "median_days": 79.0,
            "mean_days": 79.0,
        }

    async def test_the_csv_carries_the_same_figures(self, stack: StackHandle, org: Org) -> None:
        await scenario(stack, org)

        with at(8, 25):
            response = await stack.as_user(org.hr).get(f"{REPORT}.csv", params={"quarters": 2})

        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        lines = response.text.splitlines()
        assert lines[0] == "section,quarter,group,people,incidents,per_100_people,rate"
        assert "training_status,2026-Q3,completed,3,2,66.67," in lines
        assert "department,2026-Q2,Office,2,1,50," in lines
        assert "repeat_incidents,,without_completed_coaching,,2,,0.5" in lines
        assert "remedial_training_median_days,,,,2,,79" in lines


class TestAccess:
    async def test_an_api_client_with_reports_read_reads_it(self, stack: StackHandle) -> None:
        admin = await stack.person(roles=["admin"], department="IT")
        created = await stack.as_user(admin).post(
            "/api/v1/admin/api-clients", json={"name": "BI", "scopes": ["reports:read"]}
        )
        client = stack.client(headers={"Authorization": f"Bearer {created.json()['secret']}"})

        response = await client.get(REPORT)

        assert response.status_code == 200, response.text
        assert len(response.json()["quarters"]) == 4

    async def test_employees_may_not(self, stack: StackHandle) -> None:
        response = await stack.as_user(await stack.person()).get(REPORT)

        assert response.status_code == 403

    @pytest.mark.parametrize("quarters", ["0", "13", "x"])
    async def test_a_bad_window_is_a_422(self, stack: StackHandle, quarters: str) -> None:
        hr = await stack.person(department="People", roles=["hr"])

        response = await stack.as_user(hr).get(REPORT, params={"quarters": quarters})

        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"

    async def test_incidents_unreachable_is_a_503(self, stack: StackHandle) -> None:
        hr = await stack.person(department="People", roles=["hr"])

        with stack.upstream_down("incidents"):
            response = await stack.as_user(hr).get(REPORT)
        stack.stack.apps["gateway"].state.breakers["incidents"].record_success()

        assert response.status_code == 503
        assert "incidents" in response.json()["detail"]
