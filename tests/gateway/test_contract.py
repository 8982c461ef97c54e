"""The contract as a client generator and an integrator read it: what the merged document
declares each operation answers, and input that JSON types do not allow refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.stack import StackHandle
from tests.training.factories import API, policy_owner, publish_policy

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
async def document(stack: StackHandle) -> dict[str, Any]:
    merged: dict[str, Any] = (await stack.client().get("/openapi.json")).json()
    return merged


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        if path.startswith("/api/")
        for method, operation in item.items()
        if method in METHODS
    ]


def header(operation: dict[str, Any], name: str) -> dict[str, Any] | None:
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "header" and parameter["name"] == name:
            return dict(parameter)
    return None


class TestDeclaredAnswers:
    def test_if_match_is_required_wherever_its_absence_is_a_428(
        self, document: dict[str, Any]
    ) -> None:
        needing = [(m, p) for m, p, op in operations(document) if "428" in op["responses"]]

        assert ("patch", "/api/v1/incidents/{incident_id}") in needing
        assert ("patch", "/api/v1/training/modules/{module_id}") in needing
        for method, path, operation in operations(document):
            if_match = header(operation, "If-Match")
            if (method, path) in needing:
                assert if_match is not None, (method, path)
                assert if_match["required"], (method, path)
                assert {"412", "428"} <= set(operation["responses"]), (method, path)
            elif if_match is not None:
                assert not if_match["required"], (method, path)

    def test_updates_and_reads_of_versioned_resources_declare_their_etag(
        self, document: dict[str, Any]
    ) -> None:
        for method, path in [
            ("get", "/api/v1/incidents/{incident_id}"),
            ("patch", "/api/v1/incidents/{incident_id}"),
            ("get", "/api/v1/training/modules/{module_id}"),
        ]:
            success = next(
                response
                for status, response in document["paths"][path][method]["responses"].items()
                if status.startswith("2")
            )
            assert "ETag" in success.get("headers", {}), (method, path)

    def test_a_creation_declares_where_the_new_resource_is(self, document: dict[str, Any]) -> None:
        created = document["paths"]["/api/v1/incidents"]["post"]["responses"]["201"]

        assert {"Location", "ETag", "Idempotent-Replayed"} <= set(created["headers"])
        assert document["components"]["headers"]["Location"]["schema"] == {"type": "string"}

    def test_every_post_takes_an_idempotency_key(self, document: dict[str, Any]) -> None:
        for method, path, operation in operations(document):
            if method == "post":
                key = header(operation, "Idempotency-Key")
                assert key is not None, path
                assert not key["required"], path
                assert "409" in operation["responses"], path

    def test_every_body_may_be_too_large_and_rate_limits_say_when_to_retry(
        self, document: dict[str, Any]
    ) -> None:
        for method, path, operation in operations(document):
            responses = operation["responses"]
            if "requestBody" in operation:
                assert "413" in responses, (method, path)
            assert "Retry-After" in responses["429"]["headers"], (method, path)


class TestStrictJsonTypes:
    async def test_a_number_for_a_boolean_is_a_422_pointing_at_it(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)

        response = await stack.as_user(owner).post(
            f"{API}/modules", json={"title": "T", "summary": "S", "body_markdown": "B", "core": 0}
        )

        assert response.status_code == 422
        (error,) = response.json()["errors"]
        assert error["pointer"] == "#/core"
        assert "boolean" in error["detail"]

    async def test_a_number_for_a_date_is_a_422_asking_for_a_date_string(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)

        response = await stack.as_user(owner).post(
            f"{API}/policy/versions",
            json={"title": "Policy", "body_markdown": "B", "effective_at": 0},
        )

        assert response.status_code == 422
        error = next(e for e in response.json()["errors"] if e["pointer"] == "#/effective_at")
        assert "2026-03-01T17:00:00Z" in error["detail"]

    async def test_a_string_for_an_integer_is_a_422(self, stack: StackHandle) -> None:
        hr = await stack.person(roles=["hr"])
        coach = await stack.person()

        response = await stack.as_user(hr).post(
            "/api/v1/coaching/coaches",
            json={"person_id": str(coach.id), "display_name": "C", "capacity": "5"},
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "#/capacity"


class TestValidationPointers:
    async def test_a_rule_about_two_fields_points_at_the_one_to_fix_in_plain_words(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)

        response = await stack.as_user(owner).post(
            f"{API}/assignments",
            json={
                "module_id": "00000000-0000-0000-0000-000000000001",
                "person_ids": [],
                "due_at": "2099-01-01T00:00:00Z",
            },
        )

        assert response.status_code == 422
        (error,) = response.json()["errors"]
        assert error == {
            "detail": "person_ids: give person_ids, departments or both",
            "pointer": "#/person_ids",
        }
