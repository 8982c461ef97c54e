"""The lifecycle (legal transitions only, If-Match) and the append-only timeline."""

from __future__ import annotations

import pytest

from tests.incidents.conftest import Org, etag_of, report
from tests.support.stack import StackHandle


class TestLifecycle:
    async def test_the_owner_starts_and_resolves_the_incident(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.reporter, org.employee, severity="medium")
        manager = stack.as_user(org.manager)
        url = f"/api/v1/incidents/{created['id']}"

        started = await manager.patch(
            url,
            json={"status": "in_progress"},
            headers={"If-Match": await etag_of(manager, created["id"])},
        )
        resolved = await manager.patch(
            url,
            json={"status": "resolved", "outcome": "violation_confirmed"},
            headers={"If-Match": started.headers["ETag"]},
        )

        assert started.status_code == 200, started.text
        assert resolved.status_code == 200, resolved.text
        assert resolved.json()["status"] == "resolved"
        assert resolved.json()["outcome"] == "violation_confirmed"
        assert resolved.json()["closed_at"] is not None

    async def test_skipping_a_step_is_a_409_naming_the_allowed_ones(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.reporter, org.employee, severity="high")
        hr = stack.as_user(org.hr)

        response = await hr.patch(
            f"/api/v1/incidents/{created['id']}",
            json={"status": "resolved", "outcome": "no_violation"},
            headers={"If-Match": await etag_of(hr, created["id"])},
        )

        assert response.status_code == 409
        assert response.json()["type"] == "urn:smp:problem:illegal-transition"
        assert "allowed next: dismissed, in_progress" in response.json()["detail"]

    async def test_a_closed_incident_cannot_move(self, stack: StackHandle, org: Org) -> None:
        created = await report(stack, org.reporter, org.employee, severity="high")
        hr = stack.as_user(org.hr)
        url = f"/api/v1/incidents/{created['id']}"
        dismissed = await hr.patch(
            url,
            json={"status": "dismissed", "reason": "Duplicate of an earlier report."},
            headers={"If-Match": await etag_of(hr, created["id"])},
        )

        reopened = await hr.patch(
            url, json={"status": "in_progress"}, headers={"If-Match": dismissed.headers["ETag"]}
        )

        assert reopened.status_code == 409
        assert "closed" in reopened.json()["detail"]

    async def test_resolving_needs_an_outcome(self, stack: StackHandle, org: Org) -> None:
        created = await report(stack, org.reporter, org.employee, severity="high")
        hr = stack.as_user(org.hr)

        response = await hr.patch(
            f"/api/v1/incidents/{created['id']}",
            json={"status": "resolved"},
            headers={"If-Match": await etag_of(hr, created["id"])},
        )

        assert response.status_code == 422
        assert "outcome" in response.json()["detail"]

    async def test_an_update_without_if_match_is_a_428(self, stack: StackHandle, org: Org) -> None:
        created = await report(stack, org.reporter, org.employee, severity="high")

        response = await stack.as_user(org.hr).patch(
            f"/api/v1/incidents/{created['id']}", json={"status": "in_progress"}
        )

        assert response.status_code == 428

    async def test_a_stale_if_match_is_a_412(self, stack: StackHandle, org: Org) -> None:
        created = await report(stack, org.reporter, org.employee, severity="high")
        hr = stack.as_user(org.hr)
        stale = await etag_of(hr, created["id"])
        await hr.post(
            f"/api/v1/incidents/{created['id']}/override",
            json={"action": "manager_review", "reason": "The manager knows the context best."},
            headers={"If-Match": stale},
        )

        response = await hr.patch(
            f"/api/v1/incidents/{created['id']}",
            json={"status": "in_progress"},
            headers={"If-Match": stale},
        )

        assert response.status_code == 412

    async def test_a_contact_who_is_not_the_owner_cannot_change_the_status(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.reporter, org.employee, severity="high")
        manager = stack.as_user(org.manager)  # contacted; HR owns it

        response = await manager.patch(
            f"/api/v1/incidents/{created['id']}",
            json={"status": "in_progress"},
            headers={"If-Match": await etag_of(manager, created["id"])},
        )

        assert response.status_code == 403

    async def test_only_hr_or_legal_dismiss(self, stack: StackHandle, org: Org) -> None:
        created = await report(stack, org.reporter, org.employee, severity="medium")
        manager = stack.as_user(org.manager)  # the owner

        response = await manager.patch(
            f"/api/v1/incidents/{created['id']}",
            json={"status": "dismissed", "reason": "I do not think this is a violation."},
            headers={"If-Match": await etag_of(manager, created["id"])},
        )

        assert response.status_code == 403


class TestTimeline:
    async def test_it_records_the_report_the_decision_the_contacts_and_each_change(
        self, stack: StackHandle, org: Org
    ) -> None:
        created = await report(stack, org.reporter, org.employee, severity="high")
        hr = stack.as_user(org.hr)
        await hr.patch(
            f"/api/v1/incidents/{created['id']}",
            json={"status": "in_progress"},
            headers={"If-Match": await etag_of(hr, created["id"])},
        )
        await hr.post(
            f"/api/v1/incidents/{created['id']}/timeline",
            json={"text": "Called Emma; she has taken the post down."},
        )

        items = (await hr.get(f"/api/v1/incidents/{created['id']}/timeline")).json()["items"]

        assert [item["kind"] for item in items] == [
            "reported",
            "decided",
            "contacted",
            "contacted",
            "status_changed",
            "note",
        ]
        assert items[0]["actor_id"] == str(org.reporter.id)
        assert items[1]["actor"] == "service:incidents"
        assert items[3]["summary"] == "Manager Marc Manager contacted."
        assert items[5]["actor_id"] == str(org.hr.id)
        assert items[5]["summary"] == "Called Emma; she has taken the post down."

    async def test_it_pages_in_order(self, stack: StackHandle, org: Org) -> None:
        created = await report(stack, org.reporter, org.employee, severity="high")
        hr = stack.as_user(org.hr)
        url = f"/api/v1/incidents/{created['id']}/timeline"

        first = (await hr.get(url, params={"limit": 2})).json()
        second = (await hr.get(url, params={"limit": 2, "cursor": first["next_cursor"]})).json()

        assert [i["kind"] for i in first["items"] + second["items"]] == [
            "reported",
            "decided",
            "contacted",
            "contacted",
        ]
        assert second["next_cursor"] is None

    @pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
    async def test_it_cannot_be_changed_or_deleted(
        self, stack: StackHandle, org: Org, method: str
    ) -> None:
        created = await report(stack, org.reporter, org.employee, severity="high")
        hr = stack.as_user(org.hr)
        url = f"/api/v1/incidents/{created['id']}/timeline"
        before = (await hr.get(url)).json()["items"]

        response = await hr.request(method, url, json={"text": "rewritten"})
        entry = await hr.request(method, f"{url}/1", json={"text": "rewritten"})

        assert response.status_code == 405
        assert "GET, HEAD, POST" in response.headers["Allow"]
        assert entry.status_code in (404, 405)
        assert (await hr.get(url)).json()["items"] == before

    async def test_an_empty_note_is_a_422(self, stack: StackHandle, org: Org) -> None:
        created = await report(stack, org.reporter, org.employee, severity="high")

        response = await stack.as_user(org.hr).post(
            f"/api/v1/incidents/{created['id']}/timeline", json={"text": "   "}
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "#/text"
