"""Modules: drafts with examples and what-if scenarios, publishing, answering scenarios."""

from __future__ import annotations

from tests.support.stack import StackHandle
from tests.training.factories import (
    API,
    assign,
    draft_module,
    example,
    policy_owner,
    publish_policy,
    published_module,
    scenario,
)


class TestAuthoring:
    async def test_a_policy_owner_creates_a_draft_with_examples_and_scenarios(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)

        created = await draft_module(stack, owner, quiz_body={})

        body = created.json()
        assert body["status"] == "draft"
        assert [e["verdict"] for e in body["examples"]] == ["do", "dont"]
        assert body["scenarios"][0]["recommended_key"] == "b"
        assert body["has_quiz"] is False

    async def test_citing_a_clause_the_policy_does_not_have_is_a_422(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)

        response = await stack.as_user(owner).post(
            f"{API}/modules",
            json={
                "title": "T",
                "summary": "S",
                "body_markdown": "B",
                "examples": [example(clause_number="42.1")],
            },
        )

        assert response.status_code == 422
        assert response.json()["type"] == "urn:smp:problem:unknown-clause"
        assert response.json()["clause_numbers"] == ["42.1"]

    async def test_a_recommended_option_that_is_not_an_option_is_a_422(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)

        response = await stack.as_user(owner).post(
            f"{API}/modules",
            json={
                "title": "T",
                "summary": "S",
                "body_markdown": "B",
                "scenarios": [scenario(recommended_key="z")],
            },
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "#/scenarios/0/recommended_key"

    async def test_an_unknown_channel_is_a_422_pointing_at_it(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)

        response = await stack.as_user(owner).post(
            f"{API}/modules",
            json={
                "title": "T",
                "summary": "S",
                "body_markdown": "B",
                "examples": [example(channel="myspace")],
            },
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "#/examples/0/channel"

    async def test_an_employee_may_not_author(self, stack: StackHandle) -> None:
        response = await stack.as_user(await stack.person()).post(
            f"{API}/modules", json={"title": "T", "summary": "S", "body_markdown": "B"}
        )

        assert response.status_code == 403

    async def test_editing_a_draft_replaces_its_examples(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        draft = await draft_module(stack, owner, quiz_body={})

        edited = await stack.as_user(owner).patch(
            f"{API}/modules/{draft.json()['id']}",
            json={"title": "Renamed", "examples": [example(post_text="Only one")]},
            headers={"If-Match": draft.headers["ETag"]},
        )

        assert edited.status_code == 200
        assert edited.json()["title"] == "Renamed"
        assert [e["post_text"] for e in edited.json()["examples"]] == ["Only one"]

    async def test_a_null_title_is_a_422(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        draft = await draft_module(stack, owner, quiz_body={})

        response = await stack.as_user(owner).patch(
            f"{API}/modules/{draft.json()['id']}",
            json={"title": None},
            headers={"If-Match": draft.headers["ETag"]},
        )

        assert response.status_code == 422


class TestPublishing:
    async def test_a_published_module_is_frozen(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner)

        response = await stack.as_user(owner).patch(
            f"{API}/modules/{module['id']}", json={"title": "Changed"}, headers={"If-Match": "*"}
        )

        assert response.status_code == 409
        assert response.json()["type"] == "urn:smp:problem:module-not-editable"

    async def test_a_revision_copies_the_content_and_publishing_it_retires_the_old_one(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner)
        client = stack.as_user(owner)

        revision = await client.post(
            f"{API}/modules/{module['id']}/revisions", json={"material": False}
        )
        published = await client.post(
            f"{API}/modules/{revision.json()['id']}/publish",
            headers={"If-Match": revision.headers["ETag"]},
        )
        old = await client.get(f"{API}/modules/{module['id']}")

        assert revision.status_code == 201
        assert revision.json()["number"] == 2
        assert revision.json()["lineage_id"] == module["lineage_id"]
        assert len(revision.json()["examples"]) == len(module["examples"])
        assert revision.json()["has_quiz"] is True
        assert published.json()["status"] == "published"
        assert old.json()["status"] == "retired"

    async def test_employees_see_published_modules_only(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner)
        draft = await draft_module(stack, owner, quiz_body={}, title="Work in progress")
        employee = stack.as_user(await stack.person())

        listed = await employee.get(f"{API}/modules")
        hidden = await employee.get(f"{API}/modules/{draft.json()['id']}")

        assert [m["id"] for m in listed.json()["items"]] == [module["id"]]
        assert hidden.status_code == 404

    async def test_modules_are_listed_one_page_at_a_time(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        ids = [(await published_module(stack, owner, quiz_body={}))["id"] for _ in range(3)]
        employee = stack.as_user(await stack.person())

        first = await employee.get(f"{API}/modules", params={"limit": 2})
        second = await employee.get(
            f"{API}/modules", params={"limit": 2, "cursor": first.json()["next_cursor"]}
        )

        assert [m["id"] for m in first.json()["items"] + second.json()["items"]] == ids


class TestScenarios:
    async def test_a_reader_sees_the_options_but_not_the_feedback(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner)

        response = await stack.as_user(await stack.person()).get(f"{API}/modules/{module['id']}")

        [shown] = response.json()["scenarios"]
        assert [o["key"] for o in shown["options"]] == ["a", "b"]
        assert "recommended_key" not in shown
        assert "Rumours spread." not in response.text

    async def test_answering_gives_the_feedback_and_the_recommended_response(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner)
        scenario_id = module["scenarios"][0]["id"]

        response = await stack.as_user(await stack.person()).post(
            f"{API}/modules/{module['id']}/scenarios/{scenario_id}/answers",
            json={"option_key": "a"},
        )

        assert response.status_code == 201
        assert response.json() == {
            "scenario_id": scenario_id,
            "option_key": "a",
            "feedback": "Rumours spread.",
            "recommended": False,
            "recommended_key": "b",
            "recommended_why": "Only spokespeople speak for the company.",
            "clause_number": "3.1",
        }

    async def test_answering_starts_the_module(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner)
        employee = await stack.person()
        client = stack.as_user(employee)
        await assign(stack, owner, module, [employee])

        await client.post(
            f"{API}/modules/{module['id']}/scenarios/{module['scenarios'][0]['id']}/answers",
            json={"option_key": "b"},
        )

        mine = await client.get(f"{API}/me/assignments")
        assert mine.json()["items"][0]["status"] == "in_progress"

    async def test_an_option_that_does_not_exist_is_a_422(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner)

        response = await stack.as_user(await stack.person()).post(
            f"{API}/modules/{module['id']}/scenarios/{module['scenarios'][0]['id']}/answers",
            json={"option_key": "q"},
        )

        assert response.status_code == 422
        assert response.json()["type"] == "urn:smp:problem:unknown-option"

    async def test_a_scenario_of_another_module_is_a_404(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        one = await published_module(stack, owner)
        other = await published_module(stack, owner)

        response = await stack.as_user(await stack.person()).post(
            f"{API}/modules/{one['id']}/scenarios/{other['scenarios'][0]['id']}/answers",
            json={"option_key": "a"},
        )

        assert response.status_code == 404
