"""Forwarding to the services: request ids, header hygiene, upstream failures."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

import gateway.main
from gateway.config import GatewaySettings
from tests.support.stack import COMMON, StackHandle


class TestForwarding:
    async def test_each_service_answers_through_the_gateway(self, stack: StackHandle) -> None:
        person = await stack.person()
        client = stack.as_user(person)

        coaches = await client.get("/api/v1/coaching/coaches")
        policy = await client.get("/api/v1/training/policy")
        escalation = await client.get("/api/v1/incidents/escalation-policy")

        assert coaches.status_code == 200
        assert coaches.json() == {"items": [], "next_cursor": None}
        # Empty databases: each service answers with its own problem, through the gateway.
        assert policy.status_code == 404
        assert policy.json()["type"] == "urn:smp:problem:no-published-policy"
        assert escalation.status_code == 404

    async def test_the_request_id_is_passed_on_and_returned(self, stack: StackHandle) -> None:
        person = await stack.person()

        response = await stack.as_user(person).get(
            "/api/v1/training/policy", headers={"X-Request-ID": "follow-me"}
        )

        assert response.headers["x-request-id"] == "follow-me"
        assert response.json()["request_id"] == "follow-me"

    async def test_a_post_body_reaches_the_service(self, stack: StackHandle) -> None:
        hr = await stack.person(roles=["hr"])
        coach = await stack.person()

        created = await stack.as_user(hr).post(
            "/api/v1/coaching/coaches",
            json={"person_id": str(coach.id), "display_name": "Carla", "capacity": 4},
        )

        assert created.status_code == 201
        assert created.json()["capacity"] == 4

    async def test_unknown_gateway_paths_are_404_problems(self, stack: StackHandle) -> None:
        person = await stack.person()

        response = await stack.as_user(person).get("/api/v1/nowhere")

        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


class TestEdgeOnProxiedPaths:
    """Proxied paths take a short middleware chain of their own: the edge still applies."""

    async def test_a_proxied_request_without_a_token_is_a_401_problem(
        self, stack: StackHandle
    ) -> None:
        response = await stack.client().get("/api/v1/coaching/coaches")

        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["x-request-id"]

    async def test_the_gateway_s_body_limit_applies_before_the_service(
        self, stack: StackHandle
    ) -> None:
        settings = GatewaySettings(
            database_url=stack.stack.settings["gateway"].database_url,
            max_body_bytes=100,  # the services keep their 1 MiB
            **COMMON,
        )
        app = gateway.main.create_app(settings, upstream_transports=stack.stack.upstreams)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gw") as client,
        ):
            response = await client.post(
                "/api/v1/coaching/coaches",
                json={"display_name": "x" * 200},
                headers=stack.as_service("incidents").headers,
            )

        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
        assert "limit of 100 bytes" in response.json()["detail"]

    async def test_cors_answers_on_a_proxied_path(self, stack: StackHandle) -> None:
        settings = GatewaySettings(
            database_url=stack.stack.settings["gateway"].database_url,
            cors_origins=["https://portal.northwind.example"],
            **COMMON,
        )
        app = gateway.main.create_app(settings, upstream_transports=stack.stack.upstreams)
        origin = {"Origin": "https://portal.northwind.example"}
        # A service principal: this app's directory is not the test's rolled-back one.
        token = stack.as_service("incidents").headers["authorization"]
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gw") as client,
        ):
            preflight = await client.options(
                "/api/v1/coaching/coaches",
                headers={**origin, "Access-Control-Request-Method": "GET"},
            )
            answer = await client.get(
                "/api/v1/coaching/coaches", headers={**origin, "Authorization": token}
            )

        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == origin["Origin"]
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == origin["Origin"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def gateway_to_nowhere(stack: StackHandle) -> AsyncIterator[FastAPI]:
    """A gateway whose upstreams are closed loopback ports (real relay clients)."""
    port = free_port()
    settings = GatewaySettings(
        database_url=stack.stack.settings["gateway"].database_url,
        training_url=f"http://127.0.0.1:{port}",
        **COMMON,
    )
    app = gateway.main.create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


class TestUpstreamDown:
    async def test_a_refused_connection_is_a_502_problem(
        self, stack: StackHandle, gateway_to_nowhere: FastAPI
    ) -> None:
        token = stack.as_service("coaching").headers["authorization"]
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(gateway_to_nowhere),
            base_url="http://gateway",
            headers={"Authorization": token},
        ) as client:
            response = await client.get("/api/v1/training/policy")

        assert response.status_code == 502
        assert response.headers["content-type"] == "application/problem+json"
        assert "training service could not be reached" in response.json()["detail"]

    async def test_a_stopped_service_is_a_502_and_others_still_answer(
        self, stack: StackHandle
    ) -> None:
        employee = stack.as_user(await stack.person())
        with stack.upstream_down("training"):
            down = await employee.get("/api/v1/training/policy")
            directory = await employee.get("/api/v1/me")
        back = await employee.get("/api/v1/training/policy")

        assert down.status_code == 502
        assert down.headers["content-type"] == "application/problem+json"
        assert directory.status_code == 200
        # Training answers again (its own 404: the test database has no policy yet).
        assert back.json()["type"] == "urn:smp:problem:no-published-policy"


class TestDatabasePoolExhausted:
    async def test_authenticating_a_user_is_a_503_problem_with_retry_after(
        self, stack: StackHandle
    ) -> None:
        settings = GatewaySettings(
            database_url=stack.stack.settings["gateway"].database_url,
            db_pool_size=1,
            db_pool_timeout_seconds=0.05,
            # No loop of its own may take one of the two connections the test holds.
            background_senders=False,
            privacy_worker=False,
            **COMMON,
        )
        app = gateway.main.create_app(settings, upstream_transports=stack.stack.upstreams)
        # A person this gateway has not cached: authenticating them reads the directory.
        token = stack.token(uuid.uuid4())
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app),
                base_url="http://gw",
                headers={"Authorization": f"Bearer {token}"},
            ) as client,
        ):
            engine = app.state.database.engine
            # pool_size=1 keeps one connection and allows one more under load.
            async with engine.connect(), engine.connect():
                response = await client.get("/api/v1/coaching/coaches")
            after = await client.get("/api/v1/coaching/coaches")

        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "1"
        assert response.json()["type"] == "urn:smp:problem:database-busy"
        assert after.status_code == 401  # connections free again: an unknown person
