"""The privacy officer role: assignable through a group like the others, and not HR."""

from __future__ import annotations

from tests.incidents.conftest import Org, report
from tests.support.stack import StackHandle

PEOPLE = "/api/v1/directory/people"


class TestPrivacyRole:
    async def test_a_member_of_the_privacy_group_holds_the_privacy_role(
        self, stack: StackHandle
    ) -> None:
        officer = await stack.person(department="Legal", roles=["privacy"])

        me = await stack.as_user(officer).get("/api/v1/me")

        assert me.status_code == 200
        assert set(me.json()["roles"]) == {"employee", "privacy"}

    async def test_the_directory_lists_privacy_officers_by_role(self, stack: StackHandle) -> None:
        officer = await stack.person(department="Legal", roles=["privacy"])
        await stack.person(department="Legal", roles=["legal"])

        response = await stack.as_user(officer).get(
            PEOPLE, params={"role": "privacy", "department": "Legal"}
        )

        assert response.status_code == 200
        assert [item["id"] for item in response.json()["items"]] == [str(officer.id)]

    async def test_the_privacy_officer_does_not_handle_cases_like_hr(
        self, stack: StackHandle, org: Org
    ) -> None:
        officer = await stack.person(department="Legal", roles=["privacy"])
        incident = await report(stack, org.reporter, org.employee)

        listed = await stack.as_user(officer).get("/api/v1/incidents")
        detail = await stack.as_user(officer).get(f"/api/v1/incidents/{incident['id']}")

        assert listed.status_code == 200
        assert listed.json()["items"] == []
        assert detail.status_code == 404
        assert detail.headers["content-type"] == "application/problem+json"
