"""API clients: created by an admin with scopes, secret shown once, revocable, last use."""

from __future__ import annotations

import uuid

from gateway.models import Person
from tests.gateway.conftest import ApiClientFactory
from tests.support.stack import StackHandle

CLIENTS = "/api/v1/admin/api-clients"


class TestCreate:
    async def test_the_secret_is_shown_once_and_never_listed(
        self, stack: StackHandle, admin: Person
    ) -> None:
        client = stack.as_user(admin)

        created = await client.post(CLIENTS, json={"name": "Okta", "scopes": ["scim"]})
        listed = await client.get(CLIENTS)
        one = await client.get(f"{CLIENTS}/{created.json()['id']}")

        assert created.status_code == 201
        secret = created.json()["secret"]
        assert secret.startswith("smp_")
        assert created.json()["scopes"] == ["scim"]
        assert secret not in listed.text
        assert "secret" not in one.json()
        assert one.json()["last_used_at"] is None

    async def test_an_idempotency_key_replays_the_creation(
        self, stack: StackHandle, admin: Person
    ) -> None:
        client = stack.as_user(admin)
        body = {"name": "Entra", "scopes": ["scim"]}
        key = {"Idempotency-Key": str(uuid.uuid4())}

        first = await client.post(CLIENTS, json=body, headers=key)
        again = await client.post(CLIENTS, json=body, headers=key)

        assert first.status_code == again.status_code == 201
        assert again.json()["id"] == first.json()["id"]
        assert again.headers["idempotent-replayed"] == "true"

    async def test_only_an_admin_may_create_one(self, stack: StackHandle) -> None:
        hr = await stack.person(roles=["hr"])

        response = await stack.as_user(hr).post(CLIENTS, json={"name": "X", "scopes": ["scim"]})

        assert response.status_code == 403

    async def test_an_unknown_scope_is_a_422(self, stack: StackHandle, admin: Person) -> None:
        response = await stack.as_user(admin).post(
            CLIENTS, json={"name": "X", "scopes": ["everything"]}
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "#/scopes/0"


class TestUse:
    async def test_a_secret_authenticates_and_records_last_use(
        self, stack: StackHandle, admin: Person
    ) -> None:
        created = (
            await stack.as_user(admin).post(
                CLIENTS, json={"name": "Reports", "scopes": ["directory:read"]}
            )
        ).json()
        integrator = stack.client(headers={"Authorization": f"Bearer {created['secret']}"})

        people = await integrator.get("/api/v1/directory/people")
        after = await stack.as_user(admin).get(f"{CLIENTS}/{created['id']}")

        assert people.status_code == 200
        assert after.json()["last_used_at"] is not None

    async def test_a_scope_is_needed_for_the_directory(self, api_client: ApiClientFactory) -> None:
        integrator = await api_client("reports:read")

        response = await integrator.get("/api/v1/directory/people")

        assert response.status_code == 403

    async def test_a_wrong_secret_is_a_401(self, stack: StackHandle) -> None:
        client = stack.client(headers={"Authorization": f"Bearer smp_{uuid.uuid4().hex}_guess"})

        response = await client.get("/api/v1/directory/people")

        assert response.status_code == 401
        assert response.json()["type"] == "urn:smp:problem:invalid-token"


class TestRevoke:
    async def test_a_revoked_secret_stops_working_at_once(
        self, stack: StackHandle, admin: Person
    ) -> None:
        created = (
            await stack.as_user(admin).post(CLIENTS, json={"name": "Okta", "scopes": ["scim"]})
        ).json()
        integrator = stack.client(headers={"Authorization": f"Bearer {created['secret']}"})
        assert (await integrator.get("/scim/v2/Users")).status_code == 200

        revoked = await stack.as_user(admin).post(f"{CLIENTS}/{created['id']}/revoke")
        refused = await integrator.get("/scim/v2/Users")

        assert revoked.json()["revoked_at"] is not None
        assert refused.status_code == 401
        assert "revoked" in refused.json()["detail"]

    async def test_revoking_an_unknown_client_is_a_404(
        self, stack: StackHandle, admin: Person
    ) -> None:
        response = await stack.as_user(admin).post(f"{CLIENTS}/{uuid.uuid4()}/revoke")

        assert response.status_code == 404
        assert response.json()["type"] == "urn:smp:problem:api-client-not-found"
