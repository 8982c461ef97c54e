"""Community: threads and replies; policy owners hide posts."""

from __future__ import annotations

from tests.support.stack import StackHandle
from tests.training.factories import API, policy_owner, publish_policy


class TestThreads:
    async def test_an_employee_starts_a_thread_tagged_with_a_clause_and_others_reply(
        self, stack: StackHandle
    ) -> None:
        await publish_policy(stack, await policy_owner(stack))
        author, colleague = stack.as_user(await stack.person()), stack.as_user(await stack.person())

        thread = await author.post(
            f"{API}/community/threads",
            json={"title": "Asked about layoffs", "body": "What I said.", "clause_number": "3.1"},
        )
        reply = await colleague.post(
            f"{API}/community/threads/{thread.json()['id']}/replies", json={"body": "Same here."}
        )
        by_clause = await colleague.get(f"{API}/community/threads", params={"clause_number": "3.1"})

        assert thread.status_code == 201
        assert reply.status_code == 201
        assert [t["id"] for t in by_clause.json()["items"]] == [thread.json()["id"]]

    async def test_a_clause_the_policy_does_not_have_is_a_422(self, stack: StackHandle) -> None:
        await publish_policy(stack, await policy_owner(stack))

        response = await stack.as_user(await stack.person()).post(
            f"{API}/community/threads", json={"title": "T", "body": "B", "clause_number": "99.1"}
        )

        assert response.status_code == 422

    async def test_an_empty_body_is_a_422_pointing_at_it(self, stack: StackHandle) -> None:
        response = await stack.as_user(await stack.person()).post(
            f"{API}/community/threads", json={"title": "T", "body": ""}
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "#/body"

    async def test_threads_are_newest_first_one_page_at_a_time(self, stack: StackHandle) -> None:
        client = stack.as_user(await stack.person())
        ids = [
            (
                await client.post(f"{API}/community/threads", json={"title": f"T{n}", "body": "B"})
            ).json()["id"]
            for n in range(3)
        ]

        first = await client.get(f"{API}/community/threads", params={"limit": 2})
        second = await client.get(
            f"{API}/community/threads", params={"limit": 2, "cursor": first.json()["next_cursor"]}
        )

        assert [t["id"] for t in first.json()["items"] + second.json()["items"]] == ids[::-1]


class TestHiding:
    async def test_a_hidden_thread_disappears_for_others_but_not_for_its_author(
        self, stack: StackHandle
    ) -> None:
        owner = stack.as_user(await policy_owner(stack))
        author = stack.as_user(await stack.person())
        reader = stack.as_user(await stack.person())
        thread = await author.post(
            f"{API}/community/threads", json={"title": "Customer list", "body": "Look at this"}
        )
        url = f"{API}/community/threads/{thread.json()['id']}"

        hidden = await owner.post(f"{url}/hide", json={"reason": "Shares customer names."})

        assert hidden.json()["hidden"] is True
        assert (await reader.get(url)).status_code == 404
        assert (await reader.get(f"{API}/community/threads")).json()["items"] == []
        assert (await author.get(url)).json()["hidden_reason"] == "Shares customer names."
        assert (await owner.get(url)).status_code == 200

    async def test_a_hidden_reply_disappears_from_the_thread(self, stack: StackHandle) -> None:
        owner = stack.as_user(await policy_owner(stack))
        reader = stack.as_user(await stack.person())
        thread = await reader.post(f"{API}/community/threads", json={"title": "T", "body": "B"})
        replies_url = f"{API}/community/threads/{thread.json()['id']}/replies"
        bad = await stack.as_user(await stack.person()).post(replies_url, json={"body": "Insult"})
        await reader.post(replies_url, json={"body": "Thanks"})

        await owner.post(
            f"{API}/community/replies/{bad.json()['id']}/hide", json={"reason": "Rude"}
        )

        bodies = [r["body"] for r in (await reader.get(replies_url)).json()["items"]]
        assert bodies == ["Thanks"]
        assert len((await owner.get(replies_url)).json()["items"]) == 2

    async def test_an_employee_may_not_hide(self, stack: StackHandle) -> None:
        client = stack.as_user(await stack.person())
        thread = await client.post(f"{API}/community/threads", json={"title": "T", "body": "B"})

        response = await client.post(
            f"{API}/community/threads/{thread.json()['id']}/hide", json={"reason": "Mine"}
        )

        assert response.status_code == 403

    async def test_hiding_without_a_reason_is_a_422(self, stack: StackHandle) -> None:
        owner = stack.as_user(await policy_owner(stack))
        thread = await owner.post(f"{API}/community/threads", json={"title": "T", "body": "B"})

        response = await owner.post(f"{API}/community/threads/{thread.json()['id']}/hide", json={})

        assert response.status_code == 422
