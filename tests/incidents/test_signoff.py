"""Signing off the escalation policy before it is published: HR drafts and submits; every
required approver (HR and legal by default, a works council if added) approves the exact
content; an edit withdraws approvals; a rejection blocks publishing; the version's timeline
keeps every step."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.models import Person
from tests.incidents.conftest import Org, add_to_group, as_hr, report
from tests.support.stack import StackHandle

POLICIES = "/api/v1/incidents/escalation-policies"
APPROVERS = "/api/v1/incidents/escalation-policy/approvers"

CATCH_ALL = {
    "name": "Everything: HR decides",
    "action": "hr_review",
    "contacts": ["hr"],
    "owner_role": "hr",
    "deadline_hours": 48,
}


class Draft:
    """A draft HR (``org.hr``) wrote, and the calls made on it."""

    def __init__(self, stack: StackHandle, org: Org, body: dict[str, Any]) -> None:
        self.stack = stack
        self.org = org
        self.id = body["id"]
        self.url = f"{POLICIES}/{body['id']}"

    async def read(self, person: Person | None = None) -> httpx.Response:
        return await self.stack.as_user(person or self.org.hr).get(self.url)

    async def etag(self) -> str:
        return str((await self.read()).headers["ETag"])

    async def submit(self) -> httpx.Response:
        return await self.stack.as_user(self.org.hr).post(
            f"{self.url}/submit", headers={"If-Match": await self.etag()}
        )

    async def approve(self, person: Person, **body: Any) -> httpx.Response:
        return await self.stack.as_user(person).post(f"{self.url}/approve", json=body)

    async def reject(self, person: Person, **body: Any) -> httpx.Response:
        return await self.stack.as_user(person).post(f"{self.url}/reject", json=body)

    async def edit(self, rules: list[dict[str, Any]], notes: str | None = None) -> httpx.Response:
        return await self.stack.as_user(self.org.hr).put(
            self.url, json={"rules": rules, "notes": notes}, headers={"If-Match": await self.etag()}
        )

    async def publish(self) -> httpx.Response:
        return await self.stack.as_user(self.org.hr).post(
            f"{self.url}/publish", headers={"If-Match": await self.etag()}
        )

    async def timeline(self) -> list[dict[str, Any]]:
        response = await self.stack.as_user(self.org.legal).get(f"{self.url}/timeline")
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items


async def new_draft(stack: StackHandle, org: Org, *, submit: bool = True) -> Draft:
    created = await stack.as_user(org.hr).post(
        POLICIES, json={"notes": "Internal: HR's review of 2026.", "rules": [CATCH_ALL]}
    )
    assert created.status_code == 201, created.text
    draft = Draft(stack, org, created.json())
    if submit:
        submitted = await draft.submit()
        assert submitted.status_code == 200, submitted.text
    return draft


async def second_hr(stack: StackHandle) -> Person:
    return await stack.person(display_name="Henk HR", department="People", roles=["hr"])


class TestPublishingWaitsForSignOff:
    async def test_a_draft_is_not_published_until_hr_and_legal_approve(
        self, stack: StackHandle, org: Org
    ) -> None:
        draft = await new_draft(stack, org)
        other_hr = await second_hr(stack)

        nobody = await draft.publish()
        await draft.approve(other_hr, comment="Fits the HR handbook.")
        hr_only = await draft.publish()
        await draft.approve(org.legal, comment="Proportionate; checked against labour law.")
        published = await draft.publish()

        assert nobody.status_code == 409
        assert nobody.json()["type"] == "urn:smp:problem:escalation-policy-not-signed-off"
        assert nobody.json()["missing"] == ["hr", "legal"]
        assert hr_only.status_code == 409
        assert hr_only.json()["missing"] == ["legal"]
        assert "legal: has not approved the current content" in hr_only.json()["detail"]
        assert published.status_code == 200, published.text
        signoff = published.json()["signoff"]
        assert signoff["state"] == "published"
        assert [(v["approver"], v["person_id"], v["comment"]) for v in signoff["verdicts"]] == [
            ("hr", str(other_hr.id), "Fits the HR handbook."),
            ("legal", str(org.legal.id), "Proportionate; checked against labour law."),
        ]

    async def test_nothing_takes_effect_before_sign_off(self, stack: StackHandle, org: Org) -> None:
        draft = await new_draft(stack, org)
        await draft.approve(await second_hr(stack))

        created = await report(stack, org.reporter, org.employee, severity="low")

        incident = await as_hr(stack, org, created["id"])
        assert incident["decision"]["policy_number"] == 1
        assert incident["decision"]["action"] == "coaching"
        assert (await draft.read()).json()["status"] == "draft"

    async def test_the_drafter_alone_cannot_approve_for_hr(
        self, stack: StackHandle, org: Org
    ) -> None:
        draft = await new_draft(stack, org)
        await draft.approve(org.hr)
        await draft.approve(org.legal)

        refused = await draft.publish()
        await draft.approve(await second_hr(stack))
        published = await draft.publish()

        assert refused.status_code == 409
        assert refused.json()["missing"] == ["hr"]
        assert "only approved by someone who drafted this version" in refused.json()["detail"]
        assert published.status_code == 200, published.text

    async def test_the_published_version_and_its_timeline_keep_every_step(
        self, stack: StackHandle, org: Org
    ) -> None:
        draft = await new_draft(stack, org)
        other_hr = await second_hr(stack)
        await draft.approve(other_hr)
        await draft.approve(org.legal, comment="OK")
        await draft.publish()

        steps = [(e["kind"], e["actor_id"]) for e in await draft.timeline()]
        assert steps == [
            ("created", str(org.hr.id)),
            ("submitted", str(org.hr.id)),
            ("approved", str(other_hr.id)),
            ("approved", str(org.legal.id)),
            ("published", str(org.hr.id)),
        ]
        old = (await stack.as_user(org.hr).get(f"{POLICIES}?limit=5")).json()["items"][1]
        old_timeline = await stack.as_user(org.hr).get(f"{POLICIES}/{old['id']}/timeline")
        assert [e["kind"] for e in old_timeline.json()["items"]] == ["published", "retired"]


class TestEditsWithdrawApprovals:
    async def test_an_edit_after_an_approval_withdraws_it_visibly(
        self, stack: StackHandle, org: Org
    ) -> None:
        draft = await new_draft(stack, org)
        await draft.approve(await second_hr(stack))
        await draft.approve(org.legal, comment="Fine as it is.")

        edited = await draft.edit([{**CATCH_ALL, "deadline_hours": 24}])
        refused = await draft.publish()

        assert edited.status_code == 200, edited.text
        signoff = edited.json()["signoff"]
        assert signoff["state"] == "in_review"
        assert signoff["missing"] == ["hr", "legal"]
        assert all(v["withdrawn_at"] is not None for v in signoff["verdicts"])
        assert refused.status_code == 409
        withdrawn = [e for e in await draft.timeline() if e["kind"] == "approval_withdrawn"]
        assert {e["data"]["approver"] for e in withdrawn} == {"hr", "legal"}
        assert "must be given again" in withdrawn[0]["summary"]

    async def test_an_edit_that_changes_nothing_keeps_the_approvals(
        self, stack: StackHandle, org: Org
    ) -> None:
        draft = await new_draft(stack, org)
        await draft.approve(org.legal)

        same = await draft.edit([CATCH_ALL], notes="Internal: HR's review of 2026.")

        assert same.json()["signoff"]["verdicts"][0]["withdrawn_at"] is None
        assert same.json()["signoff"]["missing"] == ["hr"]

    async def test_an_approval_of_content_read_before_an_edit_is_refused(
        self, stack: StackHandle, org: Org
    ) -> None:
        draft = await new_draft(stack, org)
        seen = (await draft.read(org.legal)).json()["content_hash"]
        await draft.edit([{**CATCH_ALL, "deadline_hours": 24}])

        response = await draft.approve(org.legal, content_hash=seen)

        assert response.status_code == 409
        assert response.json()["type"] == "urn:smp:problem:escalation-policy-content-changed"
        assert response.json()["content_hash"] != seen


class TestRejection:
    async def test_a_rejection_with_a_comment_blocks_publishing_until_the_content_changes(
        self, stack: StackHandle, org: Org
    ) -> None:
        draft = await new_draft(stack, org)
        await draft.approve(await second_hr(stack))

        rejected = await draft.reject(org.legal, comment="48 h is too long for a legal review.")
        refused = await draft.publish()
        await draft.edit([{**CATCH_ALL, "deadline_hours": 24}])
        after_edit = (await draft.read()).json()["signoff"]

        assert rejected.status_code == 200, rejected.text
        signoff = rejected.json()["signoff"]
        assert signoff["state"] == "rejected"
        assert signoff["verdicts"][-1]["comment"] == "48 h is too long for a legal review."
        assert refused.status_code == 409
        assert "legal: rejected the current content" in refused.json()["detail"]
        assert after_edit["state"] == "in_review"
        assert after_edit["missing"] == ["hr", "legal"]

    async def test_a_rejection_without_a_comment_is_a_422(
        self, stack: StackHandle, org: Org
    ) -> None:
        draft = await new_draft(stack, org)

        response = await draft.reject(org.legal)

        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "#/comment"


class TestWorksCouncil:
    async def test_hr_adds_a_works_council_whose_member_must_approve(
        self, stack: StackHandle, org: Org
    ) -> None:
        member = await stack.person(display_name="Wim Works-Council")
        await add_to_group(stack, "Works council", member)
        draft = await new_draft(stack, org)
        added = await stack.as_user(org.hr).put(
            APPROVERS, json={"approvers": ["group:Works council"]}
        )
        await draft.approve(await second_hr(stack))
        await draft.approve(org.legal)

        waiting = await draft.publish()
        seen_by_member = await draft.read(member)
        approved = await draft.approve(member, comment="The works council consents.")
        published = await draft.publish()

        assert added.status_code == 200, added.text
        assert added.json()["required"] == ["hr", "legal", "group:Works council"]
        assert waiting.status_code == 409
        assert waiting.json()["missing"] == ["group:Works council"]
        assert seen_by_member.status_code == 200
        assert approved.status_code == 200, approved.text
        assert published.status_code == 200, published.text
        assert published.json()["signoff"]["required"] == ["hr", "legal", "group:Works council"]
        assert "approvers_changed" in [e["kind"] for e in await draft.timeline()]

    async def test_someone_outside_the_group_cannot_approve_for_it(
        self, stack: StackHandle, org: Org
    ) -> None:
        await stack.as_user(org.hr).put(APPROVERS, json={"approvers": ["group:Works council"]})
        draft = await new_draft(stack, org)

        response = await draft.approve(org.employee, approver="group:Works council")
        read = await draft.read(org.employee)

        assert response.status_code == 403
        assert "not a member of the group Works council" in response.json()["detail"]
        assert read.status_code == 403

    async def test_the_settings_approvers_cannot_be_removed(
        self, stack: StackHandle, org: Org
    ) -> None:
        response = await stack.as_user(org.hr).put(APPROVERS, json={"approvers": []})

        assert response.json()["required"] == ["hr", "legal"]
        assert response.json()["configured"] == ["hr", "legal"]

    async def test_an_unknown_kind_of_approver_is_a_422(self, stack: StackHandle, org: Org) -> None:
        response = await stack.as_user(org.hr).put(APPROVERS, json={"approvers": ["ceo"]})

        assert response.status_code == 422
        assert "neither a role" in response.json()["errors"][0]["detail"]
        assert response.json()["errors"][0]["pointer"] == "#/approvers/0"

    async def test_only_hr_changes_the_approvers(self, stack: StackHandle, org: Org) -> None:
        response = await stack.as_user(org.legal).put(APPROVERS, json={"approvers": []})

        assert response.status_code == 403


class TestRefusals:
    async def test_approving_a_published_version_is_a_409(
        self, stack: StackHandle, org: Org
    ) -> None:
        current = (await stack.as_user(org.legal).get("/api/v1/incidents/escalation-policy")).json()

        response = await stack.as_user(org.legal).post(
            f"{POLICIES}/{current['id']}/approve", json={}
        )

        assert response.status_code == 409
        assert "Version 1 is published" in response.json()["detail"]

    async def test_rejecting_a_published_version_is_a_409(
        self, stack: StackHandle, org: Org
    ) -> None:
        current = (await stack.as_user(org.legal).get("/api/v1/incidents/escalation-policy")).json()

        response = await stack.as_user(org.legal).post(
            f"{POLICIES}/{current['id']}/reject", json={"comment": "Too late to object."}
        )

        assert response.status_code == 409
        assert "is published" in response.json()["detail"]

    async def test_approving_an_unknown_version_is_a_404(
        self, stack: StackHandle, org: Org
    ) -> None:
        response = await stack.as_user(org.legal).post(
            f"{POLICIES}/00000000-0000-4000-8000-000000000000/approve", json={}
        )

        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"

    async def test_approving_for_a_role_one_does_not_hold_is_a_403(
        self, stack: StackHandle, org: Org
    ) -> None:
        draft = await new_draft(stack, org)

        as_hr = await draft.approve(org.legal, approver="hr")
        as_employee = await draft.approve(org.employee)

        assert as_hr.status_code == 403
        assert "you do not hold the role hr" in as_hr.json()["detail"]
        assert as_employee.status_code == 403
        assert as_employee.json()["type"] == "urn:smp:problem:not-an-approver"

    async def test_approving_twice_is_a_409(self, stack: StackHandle, org: Org) -> None:
        draft = await new_draft(stack, org)
        first = await draft.approve(org.legal)

        second = await draft.approve(org.legal)

        assert first.status_code == 200
        assert second.status_code == 409
        assert second.json()["type"] == "urn:smp:problem:escalation-policy-verdict-given"
        assert len((await draft.read()).json()["signoff"]["verdicts"]) == 1

    async def test_approving_before_submission_is_a_409(self, stack: StackHandle, org: Org) -> None:
        draft = await new_draft(stack, org, submit=False)

        response = await draft.approve(org.legal)

        assert response.status_code == 409
        assert response.json()["type"] == "urn:smp:problem:escalation-policy-not-submitted"

    async def test_submitting_twice_is_a_409(self, stack: StackHandle, org: Org) -> None:
        draft = await new_draft(stack, org)

        response = await draft.submit()

        assert response.status_code == 409

    async def test_someone_holding_two_approver_roles_says_which(
        self, stack: StackHandle, org: Org
    ) -> None:
        both = await stack.person(roles=["hr", "legal"])
        draft = await new_draft(stack, org)

        unclear = await draft.approve(both)
        as_legal = await draft.approve(both, approver="legal")
        as_hr = await draft.approve(both)

        assert unclear.status_code == 422
        assert unclear.json()["approvers"] == ["hr", "legal"]
        assert as_legal.status_code == 200
        assert as_hr.status_code == 200
        assert as_hr.json()["signoff"]["state"] == "approved"
