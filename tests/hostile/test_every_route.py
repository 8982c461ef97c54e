"""Hostile input on every route of every app (enumerated in tests/hostile/routes.py from
the OpenAPI documents): malformed ids, cursors, dates, numbers, NUL and oversized strings,
deeply nested and oversized JSON. Each answer is a 4xx problem (SCIM's error body under
/scim/v2), never a 500, and nothing is written to any database."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import func, select

from tests.hostile.routes import (
    FORGED_CURSORS,
    HUGE,
    MAX_FIELDS,
    NUL,
    Leaf,
    Operation,
    api_operations,
    hostile_values,
    leaves,
    scim_routes,
)
from tests.support.stack import METADATA, StackHandle

OPERATIONS = api_operations()
ALL_ROLES = ["admin", "hr", "legal", "policy_owner", "coach", "privacy"]
PROBLEM = "application/problem+json"
SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
DEEP_JSON = b"[" * 50_000 + b"]" * 50_000
OVERSIZED_JSON = b'{"text": "' + b"x" * (1_048_576 + 16) + b'"}'


async def row_counts(stack: StackHandle) -> dict[str, int]:
    """Rows of every table of every app: what a refused request must leave unchanged."""
    counts = {}
    for app, metadata in METADATA.items():
        async with stack.stack.database(app).transaction() as session:
            for table in metadata.sorted_tables:
                counts[f"{app}.{table.name}"] = (
                    await session.scalar(select(func.count()).select_from(table)) or 0
                )
    return counts


@pytest.fixture
async def client(stack: StackHandle) -> httpx.AsyncClient:
    """A caller holding every role, so that validation, not authorisation, answers."""
    return stack.as_user(await stack.person(roles=ALL_ROLES))


def assert_problem(response: httpx.Response, what: str) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, f"{what}: {response.status_code} {response.text}"
    assert response.headers["content-type"] == PROBLEM, f"{what}: {response.text}"
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code
    return body


def names_field(body: dict[str, Any], pointer: str) -> bool:
    return any(
        str(error.get("pointer", "")).endswith(pointer) for error in body.get("errors") or []
    )


def names_parameter(body: dict[str, Any], name: str) -> bool:
    return any(error.get("parameter") == name for error in body.get("errors") or [])


def refuses(operation: Operation, leaf: Leaf, value: Any) -> bool:
    """Whether the route's body type refuses ``value`` at ``leaf`` (naming it)."""
    try:
        TypeAdapter(operation.body_type).validate_python(leaf.body(value))
    except ValidationError as error:
        return any(tuple(e["loc"]) == leaf.path for e in error.errors())
    return False


async def send(
    client: httpx.AsyncClient, operation: Operation, url: str, **kwargs: Any
) -> httpx.Response:
    return await client.request(operation.method.upper(), url, **kwargs)


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.id)
async def test_hostile_input_is_a_4xx_problem_and_writes_nothing(
    stack: StackHandle, client: httpx.AsyncClient, operation: Operation
) -> None:
    before = await row_counts(stack)
    body: dict[str, Any] | None = {} if operation.body_schema() is not None else None
    # Fresh ids name nothing: a route that looks its object up first answers 404 before it
    # validates anything else (and then writes nothing whatever else is sent).
    baseline = await send(client, operation, operation.url(), json=body)
    validates = baseline.status_code != 404

    for parameter in operation.parameters("path"):
        for raw in ("not-an-id", "9" * 40, "%00", "..%2F..%2Fadmin"):
            url = operation.url(**{parameter["name"]: raw})
            assert_problem(await send(client, operation, url, json=body), f"path {raw}")

    for parameter in operation.parameters("query"):
        name = parameter["name"]
        nul = assert_problem(
            await send(client, operation, operation.url(), params={name: NUL}, json=body),
            f"query {name} with NUL",
        )
        assert nul["status"] == 422, nul
        assert names_parameter(nul, name), nul
        if name == "cursor":
            for kind, cursor in FORGED_CURSORS.items():
                response = await send(
                    client, operation, operation.url(), params={"cursor": cursor}, json=body
                )
                problem = assert_problem(response, f"cursor {kind}")
                if baseline.status_code == 200:
                    assert problem["status"] == 400, problem
                    assert names_parameter(problem, "cursor"), problem
        for raw in ("9" * 40, "-" + "9" * 40, "0001-01-01T00:00:00+01:00"):
            response = await send(client, operation, operation.url(), params={name: raw})
            assert response.status_code < 500, f"query {name}={raw}: {response.text}"
            if response.status_code >= 400:
                assert_problem(response, f"query {name}={raw}")

    schema = operation.body_schema()
    if schema is not None:
        headers = {"Content-Type": "application/json"}
        for what, payload in (("deep", DEEP_JSON), ("oversized", OVERSIZED_JSON), ("bad", b"{")):
            response = await send(
                client, operation, operation.url(), content=payload, headers=headers
            )
            assert_problem(response, f"{what} JSON")
        for leaf in list(leaves(operation, schema))[:MAX_FIELDS]:
            for kind, value in hostile_values(leaf):
                response = await send(client, operation, operation.url(), json=leaf.body(value))
                problem = assert_problem(response, f"{leaf.pointer} {kind}")
                if validates:
                    assert problem["status"] == 422, problem
                    assert names_field(problem, leaf.pointer), f"{leaf.pointer} {kind}: {problem}"
                # The body's own type refuses it too, whatever the route looks up first.
                assert refuses(operation, leaf, value), f"{leaf.pointer} {kind} accepted"

    assert await row_counts(stack) == before


@pytest.mark.parametrize(("method", "path"), scim_routes(), ids=lambda value: str(value))
async def test_hostile_input_to_scim_is_a_scim_error_and_writes_nothing(
    stack: StackHandle, scim: httpx.AsyncClient, method: str, path: str
) -> None:
    before = await row_counts(stack)
    url = re.sub(r"\{[^}]+\}", "not-an-id", path)
    cases: list[dict[str, Any]] = [
        {"params": {"startIndex": str(HUGE)}},
        {"params": {"count": str(-HUGE)}},
    ]
    if method in ("POST", "PUT", "PATCH"):
        headers = {"Content-Type": "application/scim+json"}
        cases += [
            {"content": DEEP_JSON, "headers": headers},
            {"content": OVERSIZED_JSON, "headers": headers},
            {"content": json.dumps({"userName": NUL, "displayName": NUL}), "headers": headers},
        ]
    # POST /.search (every resource type at once) is not supported: 501 whatever is sent.
    unsupported = path.endswith("/.search")
    for case in cases:
        response = await scim.request(method, url, **case)
        assert (
            400 <= response.status_code < 500
            or (response.status_code == 200 and "params" in case and method == "GET")
            or (response.status_code == 501 and unsupported)
        ), f"{method} {url} {case.get('params')}: {response.status_code} {response.text}"
        if response.status_code >= 400:
            assert response.json()["schemas"] == [SCIM_ERROR], response.text

    assert await row_counts(stack) == before
