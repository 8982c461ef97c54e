"""Fixtures of the gateway tests: an admin, and API clients created through the admin API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from gateway.models import Person
from tests.support.stack import StackHandle

ApiClientFactory = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def admin(stack: StackHandle) -> Person:
    return await stack.person(roles=["admin"], department="IT")


@pytest.fixture
def api_client(stack: StackHandle, admin: Person) -> ApiClientFactory:
    """``await api_client("scim")``: a client that calls the gateway with a new API
    client's secret holding those scopes."""

    async def create(*scopes: str) -> httpx.AsyncClient:
        response = await stack.as_user(admin).post(
            "/api/v1/admin/api-clients", json={"name": "HRIS", "scopes": list(scopes)}
        )
        assert response.status_code == 201, response.text
        return stack.client(headers={"Authorization": f"Bearer {response.json()['secret']}"})

    return create


@pytest.fixture
async def scim(api_client: ApiClientFactory) -> httpx.AsyncClient:
    return await api_client("scim")
