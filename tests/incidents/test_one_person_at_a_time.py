"""A person's history changing under a decision revisits it: a report about an earlier post
that arrives late, or an earlier incident dismissed (concurrent reports:
``test_concurrent_reports.py``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kit.db import utcnow
from tests.incidents.conftest import (
    Org,
    as_hr,
    etag_of,
    report,
    worker,
)
from tests.support.stack import StackHandle

REPORTS = 12


def prior_incidents(decision: dict[str, Any]) -> int:
    count: int = decision["facts"]["prior_incidents"]["365"]
    return count


def posted(days_ago: float) -> str:
    return (utcnow() - dt.timedelta(days=days_ago)).isoformat()


class TestLateEarlierPost:
    async def test_a_decided_incident_is_decided_again_with_the_earlier_post_counted(
        self, stack: StackHandle, org: Org
    ) -> None:
        later = await report(stack, org.reporter, org.employee, occurred_at=posted(1))
        earlier = await report(stack, org.reporter, org.employee, occurred_at=posted(5))

        await worker(stack).run_due()

        revisited = await as_hr(stack, org, later["id"])
        assert prior_incidents(revisited["decisions"][0]) == 0
        assert prior_incidents(revisited["decision"]) == 1
        assert revisited["decision"]["trigger"] == "recounted"
        assert [d["trigger"] for d in revisited["decisions"]] == ["reported", "recounted"]
        assert prior_incidents((await as_hr(stack, org, earlier["id"]))["decision"]) == 0

    async def test_an_incident_in_progress_is_flagged_to_its_owner_not_decided_again(
        self, stack: StackHandle, org: Org
    ) -> None:
        later = await report(stack, org.reporter, org.employee, occurred_at=posted(1))
        started = await stack.as_user(org.manager).patch(
            f"/api/v1/incidents/{later['id']}",
            json={"status": "in_progress"},
            headers={"If-Match": await etag_of(stack.as_user(org.hr), later["id"])},
        )
        assert started.status_code == 200, started.text
        await report(stack, org.reporter, org.employee, occurred_at=posted(5))

        await worker(stack).run_due()

        incident = await as_hr(stack, org, later["id"])
        assert len(incident["decisions"]) == 1
        timeline = (
            await stack.as_user(org.manager).get(f"/api/v1/incidents/{later['id']}/timeline")
        ).json()["items"]
        [flag] = [e for e in timeline if e["kind"] == "history_changed"]
        assert "1 in 365 days" in flag["summary"]

    async def test_dismissing_an_earlier_incident_decides_the_later_one_again(
        self, stack: StackHandle, org: Org
    ) -> None:
        earlier = await report(stack, org.reporter, org.employee, occurred_at=posted(5))
        later = await report(stack, org.reporter, org.employee, occurred_at=posted(1))
        hr = stack.as_user(org.hr)
        dismissed = await hr.patch(
            f"/api/v1/incidents/{earlier['id']}",
            json={"status": "dismissed", "reason": "The post was not by this employee."},
            headers={"If-Match": await etag_of(hr, earlier["id"])},
        )
        assert dismissed.status_code == 200, dismissed.text

        await worker(stack).run_due()

        revisited = await as_hr(stack, org, later["id"])
        assert [prior_incidents(d) for d in revisited["decisions"]] == [1, 0]

    async def test_a_change_outside_every_window_leaves_the_decision_alone(
        self, stack: StackHandle, org: Org
    ) -> None:
        later = await report(stack, org.reporter, org.employee, occurred_at=posted(1))
        await report(stack, org.reporter, org.employee, occurred_at=posted(400))

        await worker(stack).run_due()

        incident = await as_hr(stack, org, later["id"])
        assert len(incident["decisions"]) == 1
        assert prior_incidents(incident["decision"]) == 0
