"""The policy: versions with drafts, publishing, acknowledgements."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.stack import StackHandle
from tests.training.factories import API, CLAUSES, policy_owner, publish_policy
from training.seed import CLAUSES as DEMO_CLAUSES
from training.seed import seed


async def create_draft(client: httpx.AsyncClient, **overrides: Any) -> httpx.Response:
    body = {"body_markdown": "# Draft", "clauses": CLAUSES, **overrides}
    return await client.post(f"{API}/policy/versions", json=body)


class TestCurrentPolicy:
    async def test_an_employee_reads_the_published_policy_with_numbered_clauses(
        self, stack: StackHandle
    ) -> None:
        await seed(stack.stack.database("training"))
        employee = await stack.person()

        response = await stack.as_user(employee).get(f"{API}/policy")

        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "published"
        assert [clause["number"] for clause in body["clauses"]] == [c[0] for c in DEMO_CLAUSES]
        assert body["clauses"][1]["title"] == "Do not share confidential information"

    async def test_without_a_published_version_it_is_a_404_problem(
        self, stack: StackHandle
    ) -> None:
        employee = await stack.person()

        response = await stack.as_user(employee).get(f"{API}/policy")

        assert response.status_code == 404
        assert "No version" in response.json()["detail"]

    async def test_straight_to_the_service_without_the_gateway_is_a_401(
        self, stack: StackHandle
    ) -> None:
        response = await stack.client("training").get(f"{API}/policy")

        assert response.status_code == 401


class TestDrafts:
    async def test_a_policy_owner_edits_a_draft_with_if_match(self, stack: StackHandle) -> None:
        client = stack.as_user(await policy_owner(stack))
        draft = await create_draft(client)

        edited = await client.patch(
            f"{API}/policy/versions/{draft.json()['id']}",
            json={"clauses": [{"number": "9.1", "title": "New", "body": "New clause."}]},
            headers={"If-Match": draft.headers["ETag"]},
        )

        assert draft.status_code == 201
        assert draft.json()["status"] == "draft"
        assert edited.status_code == 200
        assert [c["number"] for c in edited.json()["clauses"]] == ["9.1"]
        assert edited.headers["ETag"] != draft.headers["ETag"]

    async def test_an_edit_without_if_match_is_a_428(self, stack: StackHandle) -> None:
        client = stack.as_user(await policy_owner(stack))
        draft = await create_draft(client)

        response = await client.patch(
            f"{API}/policy/versions/{draft.json()['id']}", json={"body_markdown": "x"}
        )

        assert response.status_code == 428, response.text

    async def test_an_edit_with_a_stale_etag_is_a_412_and_changes_nothing(
        self, stack: StackHandle
    ) -> None:
        client = stack.as_user(await policy_owner(stack))
        draft = await create_draft(client)
        url = f"{API}/policy/versions/{draft.json()['id']}"
        stale = draft.headers["ETag"]
        await client.patch(url, json={"body_markdown": "first"}, headers={"If-Match": stale})

        response = await client.patch(
            url, json={"body_markdown": "lost"}, headers={"If-Match": stale}
        )

        assert response.status_code == 412
        assert (await client.get(url)).json()["body_markdown"] == "first"

    async def test_repeated_clause_numbers_are_a_422(self, stack: StackHandle) -> None:
        client = stack.as_user(await policy_owner(stack))

        response = await create_draft(client, clauses=[CLAUSES[0], CLAUSES[0]])

        assert response.status_code == 422
        assert "1.1" in response.json()["detail"]

    async def test_a_clause_number_that_is_not_dotted_numbers_is_a_422(
        self, stack: StackHandle
    ) -> None:
        client = stack.as_user(await policy_owner(stack))

        response = await create_draft(
            client, clauses=[{"number": "four", "title": "x", "body": "y"}]
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "#/clauses/0/number"

    async def test_an_employee_may_not_create_a_draft(self, stack: StackHandle) -> None:
        response = await create_draft(stack.as_user(await stack.person()))

        assert response.status_code == 403

    async def test_an_employee_does_not_see_drafts(self, stack: StackHandle) -> None:
        draft = await create_draft(stack.as_user(await policy_owner(stack)))
        employee = stack.as_user(await stack.person())

        one = await employee.get(f"{API}/policy/versions/{draft.json()['id']}")
        listed = await employee.get(f"{API}/policy/versions")

        assert one.status_code == 404
        assert listed.json()["items"] == []


class TestPublish:
    async def test_publishing_makes_the_draft_current_and_retires_the_previous_one(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        first = await publish_policy(stack, owner)
        client = stack.as_user(owner)
        draft = await create_draft(client, body_markdown="# Version 2")

        published = await client.post(
            f"{API}/policy/versions/{draft.json()['id']}/publish",
            headers={"If-Match": draft.headers["ETag"]},
        )
        current = await client.get(f"{API}/policy")
        old = await client.get(f"{API}/policy/versions/{first['id']}")

        assert published.status_code == 200
        assert current.json()["id"] == draft.json()["id"]
        assert current.json()["number"] == 2
        assert current.json()["effective_at"] is not None
        assert old.json()["status"] == "retired"

    async def test_a_published_version_never_changes(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        published = await publish_policy(stack, owner)
        client = stack.as_user(owner)
        url = f"{API}/policy/versions/{published['id']}"
        etag = (await client.get(url)).headers["ETag"]

        response = await client.patch(url, json={"body_markdown": "x"}, headers={"If-Match": etag})

        assert response.status_code == 409
        assert response.json()["type"] == "urn:smp:problem:version-not-editable"

    async def test_a_draft_without_clauses_cannot_be_published(self, stack: StackHandle) -> None:
        client = stack.as_user(await policy_owner(stack))
        draft = await create_draft(client, clauses=[])

        response = await client.post(
            f"{API}/policy/versions/{draft.json()['id']}/publish",
            headers={"If-Match": draft.headers["ETag"]},
        )

        assert response.status_code == 422
        assert "clause" in response.json()["detail"]

    async def test_retiring_the_current_version_leaves_no_current_policy(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        published = await publish_policy(stack, owner)
        client = stack.as_user(owner)
        url = f"{API}/policy/versions/{published['id']}"
        etag = (await client.get(url)).headers["ETag"]

        retired = await client.post(f"{url}/retire", headers={"If-Match": etag})

        assert retired.json()["status"] == "retired"
        assert (await client.get(f"{API}/policy")).status_code == 404

    async def test_versions_are_listed_newest_first_one_page_at_a_time(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        client = stack.as_user(owner)
        for n in range(3):
            await create_draft(client, body_markdown=f"# Draft {n}")

        first = await client.get(f"{API}/policy/versions", params={"limit": 2})
        second = await client.get(
            f"{API}/policy/versions", params={"limit": 2, "cursor": first.json()["next_cursor"]}
        )

        numbers = [v["number"] for v in first.json()["items"] + second.json()["items"]]
        assert numbers == [3, 2, 1]
        assert second.json()["next_cursor"] is None


class TestAcknowledge:
    async def test_acknowledging_twice_keeps_the_first_acknowledgement(
        self, stack: StackHandle
    ) -> None:
        published = await publish_policy(stack, await policy_owner(stack))
        client = stack.as_user(await stack.person())

        first = await client.post(
            f"{API}/policy/acknowledgements", json={"version_id": published["id"]}
        )
        second = await client.post(
            f"{API}/policy/acknowledgements", json={"version_id": published["id"]}
        )
        mine = await client.get(f"{API}/policy/acknowledgements/me")

        assert (first.status_code, second.status_code) == (201, 200)
        assert second.json() == first.json()
        assert mine.json()["acknowledged_at"] == first.json()["acknowledged_at"]

    async def test_a_version_that_is_no_longer_current_cannot_be_acknowledged(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        old = await publish_policy(stack, owner)
        await publish_policy(stack, owner, body_markdown="# Version 2")

        response = await stack.as_user(await stack.person()).post(
            f"{API}/policy/acknowledgements", json={"version_id": old["id"]}
        )

        assert response.status_code == 409
        assert response.json()["type"] == "urn:smp:problem:not-current-version"

    async def test_a_new_version_needs_a_new_acknowledgement(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        old = await publish_policy(stack, owner)
        client = stack.as_user(await stack.person())
        await client.post(f"{API}/policy/acknowledgements", json={"version_id": old["id"]})
        await publish_policy(stack, owner, body_markdown="# Version 2")

        mine = await client.get(f"{API}/policy/acknowledgements/me")

        assert mine.json()["version_number"] == 2
        assert mine.json()["acknowledged_at"] is None

    async def test_a_service_cannot_acknowledge(self, stack: StackHandle) -> None:
        published = await publish_policy(stack, await policy_owner(stack))

        response = await stack.as_service("coaching").post(
            f"{API}/policy/acknowledgements", json={"version_id": published["id"]}
        )

        assert response.status_code == 403
