"""The gateway authenticates callers and is the only way into the services."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jwt
from sqlalchemy import event

from gateway.auth import DEV_AUDIENCE, DEV_ISSUER
from kit.db import Database
from tests.support.stack import StackHandle


class TestMe:
    async def test_a_dev_token_signs_the_person_in_with_roles(self, stack: StackHandle) -> None:
        manager = await stack.person(display_name="Marc Manager")
        hr = await stack.person(display_name="Hannah", roles=["hr"], manager=manager)

        response = await stack.as_user(hr).get("/api/v1/me")

        assert response.status_code == 200
        body = response.json()
        assert body["id"] == str(hr.id)
        assert body["manager_id"] == str(manager.id)
        assert body["roles"] == ["employee", "hr"]

    async def test_having_active_reports_makes_a_manager(self, stack: StackHandle) -> None:
        manager = await stack.person()
        await stack.person(manager=manager)

        body = (await stack.as_user(manager).get("/api/v1/me")).json()

        assert body["roles"] == ["employee", "manager"]

    async def test_only_active_reports_make_a_manager(self, stack: StackHandle) -> None:
        manager = await stack.person()
        await stack.person(manager=manager, active=False)

        body = (await stack.as_user(manager).get("/api/v1/me")).json()

        assert body["roles"] == ["employee"]

    async def test_each_mapped_group_gives_its_role(self, stack: StackHandle) -> None:
        person = await stack.person(roles=["hr", "legal", "coach"])
        await stack.person(manager=person)

        body = (await stack.as_user(person).get("/api/v1/me")).json()

        assert body["roles"] == ["coach", "employee", "hr", "legal", "manager"]


class TestRejection:
    async def test_no_token_is_a_401_problem(self, stack: StackHandle) -> None:
        response = await stack.client().get("/api/v1/training/policy")

        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert "bearer token" in response.json()["detail"]

    async def test_a_malformed_token_is_a_401(self, stack: StackHandle) -> None:
        client = stack.client(headers={"Authorization": "Bearer not.a.jwt"})

        response = await client.get("/api/v1/me")

        assert response.status_code == 401
        assert response.json()["type"] == "urn:smp:problem:invalid-token"

    async def test_a_token_signed_with_another_key_is_a_401(self, stack: StackHandle) -> None:
        person = await stack.person()
        now = dt.datetime.now(dt.UTC)
        forged = jwt.encode(
            {
                "iss": DEV_ISSUER,
                "aud": DEV_AUDIENCE,
                "sub": str(person.id),
                "exp": now + dt.timedelta(hours=1),
            },
            "an-attacker-secret-that-is-long-enough-0000",
            algorithm="HS256",
        )

        response = await stack.client(headers={"Authorization": f"Bearer {forged}"}).get(
            "/api/v1/me"
        )

        assert response.status_code == 401

    async def test_a_deactivated_person_is_refused(self, stack: StackHandle) -> None:
        person = await stack.person(active=False)

        response = await stack.as_user(person).get("/api/v1/me")

        assert response.status_code == 401
        assert response.json()["type"] == "urn:smp:problem:account-deactivated"

    async def test_a_person_not_in_the_directory_is_refused(self, stack: StackHandle) -> None:
        import uuid

        response = await stack.as_user(uuid.uuid4()).get("/api/v1/me")

        assert response.status_code == 401

    async def test_a_client_cannot_smuggle_identity_headers_downstream(
        self, stack: StackHandle
    ) -> None:
        employee = await stack.person()
        client = stack.as_user(employee)

        response = await client.post(
            "/api/v1/coaching/coaches",
            json={"person_id": str(employee.id), "display_name": "Me", "capacity": 3},
            headers={"X-Roles": "hr", "X-User-Id": "admin"},
        )

        assert response.status_code == 403


class TestServicePrincipals:
    async def test_a_service_may_call_what_it_is_allowed_to(self, stack: StackHandle) -> None:
        response = await stack.as_service("coaching").get("/api/v1/training/policy")

        assert response.status_code in (200, 404)  # reached training; the seed may be absent

    async def test_a_service_may_not_call_what_it_is_not_allowed_to(
        self, stack: StackHandle
    ) -> None:
        response = await stack.as_service("training").get("/api/v1/training/policy")

        assert response.status_code == 403
        assert "training service may not call the training service" in response.json()["detail"]


@contextmanager
def statements_reading_roles(database: Database) -> Iterator[list[str]]:
    """The SQL statements run on ``database`` within the block that read group members."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "group_member" in statement:
            seen.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", note)


class TestCallerCache:
    async def test_requests_in_flight_for_an_uncached_caller_share_one_lookup(
        self, committed_stack: StackHandle
    ) -> None:
        hr = await committed_stack.person(roles=["hr"])
        client = committed_stack.as_user(hr)

        with statements_reading_roles(committed_stack.stack.database("gateway")) as reads:
            responses = await asyncio.gather(*(client.get("/api/v1/me") for _ in range(16)))

        assert [r.status_code for r in responses] == [200] * 16
        assert all(r.json()["roles"] == ["employee", "hr"] for r in responses)
        assert len(reads) == 1
