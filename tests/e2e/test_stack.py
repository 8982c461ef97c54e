"""Through the real gateway to the real services, as a user would."""

from __future__ import annotations

import httpx
import pytest

from tests.support.processes import RunningStack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def token(running_processes: RunningStack) -> str:
    """What `make run` prints: a development token from the gateway's command."""
    return running_processes.command("gateway", "token", "--user", "emma.employee")


class TestThroughTheGateway:
    async def test_a_dev_token_reads_data_from_every_service(
        self, running_processes: RunningStack, token: str
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"}

        async with httpx.AsyncClient(
            base_url=running_processes.url("gateway"), headers=headers
        ) as client:
            me = await client.get("/api/v1/me")
            policy = await client.get("/api/v1/training/policy")
            coaches = await client.get("/api/v1/coaching/coaches")
            escalation = await client.get("/api/v1/incidents/escalation-policy")

        assert me.status_code == 200
        assert me.json()["user_name"] == "emma.employee"
        assert policy.status_code == 200
        assert len(policy.json()["clauses"]) >= 8
        assert coaches.status_code == 200
        assert {c["display_name"] for c in coaches.json()["items"]} >= {"Carla Jensen"}
        assert escalation.status_code == 200
        assert escalation.json()["rules"][0]["action"] == "legal_review"

    async def test_the_request_id_comes_back(
        self, running_processes: RunningStack, token: str
    ) -> None:

        async with httpx.AsyncClient(base_url=running_processes.url("gateway")) as client:
            response = await client.get(
                "/api/v1/training/policy",
                headers={"Authorization": f"Bearer {token}", "X-Request-ID": "e2e-trace-1"},
            )

        assert response.headers["x-request-id"] == "e2e-trace-1"

    async def test_without_a_token_the_gateway_answers_401(
        self, running_processes: RunningStack, token: str
    ) -> None:
        async with httpx.AsyncClient(base_url=running_processes.url("gateway")) as client:
            response = await client.get("/api/v1/coaching/coaches")

        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"


class TestAroundTheGateway:
    @pytest.mark.parametrize(
        ("app", "path"),
        [
            ("training", "/api/v1/training/policy"),
            ("coaching", "/api/v1/coaching/coaches"),
            ("incidents", "/api/v1/incidents/escalation-policy"),
        ],
    )
    async def test_a_service_port_refuses_even_a_valid_user_token(
        self, running_processes: RunningStack, token: str, app: str, path: str
    ) -> None:

        async with httpx.AsyncClient(base_url=running_processes.url(app)) as client:
            response = await client.get(path, headers={"Authorization": f"Bearer {token}"})

        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"


class TestDemoTokens:
    async def test_make_runs_token_list_gives_each_demo_user_a_working_token(
        self, running_processes: RunningStack
    ) -> None:
        users = ["emma.employee", "hannah.hr", "leo.legal"]
        printed = running_processes.command(
            "gateway", "token", *(arg for user in users for arg in ("--user", user))
        )
        tokens = dict(line.split() for line in printed.splitlines())

        async with httpx.AsyncClient(base_url=running_processes.url("gateway")) as client:
            me = {
                user: await client.get(
                    "/api/v1/me", headers={"Authorization": f"Bearer {tokens[user]}"}
                )
                for user in users
            }

        assert list(tokens) == users
        assert {user: response.json()["user_name"] for user, response in me.items()} == {
            user: user for user in users
        }
        assert "hr" in me["hannah.hr"].json()["roles"]
