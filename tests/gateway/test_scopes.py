"""Every API client scope on every route: each opens exactly what the README's table says."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from gateway.api_clients.schemas import Scope
from gateway.scim.router import PREFIX as SCIM_PREFIX
from tests.gateway.conftest import ApiClientFactory
from tests.support.stack import StackHandle

README = Path(__file__).resolve().parents[2] / "README.md"
METHODS = {"get", "post", "put", "patch", "delete"}
Route = tuple[str, str]


def readme_scopes() -> dict[str, set[Route]]:
    """The API clients table of the README: scope -> the (METHOD, path) it opens."""
    table: dict[str, set[Route]] = {}
    for line in README.read_text().splitlines():
        row = re.match(r"\| `([a-z:]+)` \| (.*) \|$", line)
        if row and row.group(1) in {scope.value for scope in Scope}:
            table[row.group(1)] = set(re.findall(r"`([A-Z]+) (/[^`]+)`", row.group(2)))
    return table


async def every_route(stack: StackHandle) -> set[Route]:
    gateway = stack.stack.apps["gateway"]
    document = (await stack.client().get("/openapi.json")).json()
    routes = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        if path.startswith("/api/")
        for method in item
        if method in METHODS
    }
    (scim,) = [r for r in gateway.routes if isinstance(r, Mount) and r.path == SCIM_PREFIX]
    scim_app = scim.app.app  # type: ignore[attr-defined]
    for route in iter_route_contexts(scim_app.routes):
        routes |= {(method, SCIM_PREFIX + str(route.path)) for method in route.methods or ()}
    return routes


@pytest.fixture
def no_rate_limit(stack: StackHandle) -> Iterator[None]:
    """One client asks every route in a burst; the rate limit is not what is tested."""
    state = stack.stack.apps["gateway"].state
    limiter = state.rate_limiter
    state.rate_limiter = None
    yield
    state.rate_limiter = limiter


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


class TestScopeMatrix:
    def test_the_readme_names_every_scope(self) -> None:
        assert set(readme_scopes()) == {scope.value for scope in Scope}

    @pytest.mark.parametrize("scope", [scope.value for scope in Scope])
    async def test_a_scope_opens_exactly_what_the_readme_says(
        self,
        scope: str,
        stack: StackHandle,
        api_client: ApiClientFactory,
        no_rate_limit: None,
    ) -> None:
        opened = readme_scopes()[scope]
        client = await api_client(scope)
        routes = await every_route(stack)
        assert opened <= routes, "the README names a route that does not exist"

        wrong = []
        for method, path in sorted(routes):
            body: dict[str, str] | None = {} if method in {"POST", "PUT", "PATCH"} else None
            response = await client.request(method, concrete(path), json=body)
            expected_open = (method, path) in opened or (
                scope == Scope.SCIM and path.startswith(SCIM_PREFIX)
            )
            refused = response.status_code in (401, 403)
            if expected_open == refused or (not expected_open and response.status_code != 403):
                wrong.append(f"{method} {path}: {response.status_code}")
        assert wrong == [], f"scope {scope!r}"

    async def test_a_refusal_names_the_scope_that_would_open_the_route(
        self, api_client: ApiClientFactory
    ) -> None:
        client = await api_client("scim")

        response = await client.get("/api/v1/training/reports/completion")

        assert response.status_code == 403
        assert "reports:read" in response.json()["detail"]

    async def test_reports_read_reads_a_report(self, api_client: ApiClientFactory) -> None:
        client = await api_client("reports:read")

        response = await client.get("/api/v1/training/reports/completion")

        assert response.status_code == 200
        assert "departments" in response.json() or response.json()
