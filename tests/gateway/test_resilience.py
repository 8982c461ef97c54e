"""The edge: circuit breaker, retries of safe requests, timeouts, header hygiene, rate
limits, CORS and readiness. Upstreams are swapped on the running gateway for one test
where a failure must be staged (a silent socket, a flaky connection)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

import gateway.main
from gateway.config import GatewaySettings
from gateway.proxy import HttpxUpstream, Upstream
from gateway.relay import HttpUpstream
from gateway.resilience import CircuitBreaker, RateLimiter
from tests.support.hung import hung_upstream
from tests.support.stack import COMMON, StackHandle

POLICY = "/api/v1/training/policy"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextlib.contextmanager
def swapped(mapping: dict[str, Any], key: str, value: Any) -> Iterator[None]:
    previous = mapping[key]
    mapping[key] = value
    try:
        yield
    finally:
        mapping[key] = previous


@contextlib.contextmanager
def swapped_attribute(owner: Any, name: str, value: Any) -> Iterator[None]:
    previous = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, previous)


def gateway_state(stack: StackHandle) -> Any:
    return stack.stack.apps["gateway"].state


class CountingTransport(httpx.AsyncBaseTransport):
    """Refuses the first ``failures`` connections, then hands over to the real service."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, failures: int) -> None:
        self.inner = inner
        self.failures = failures
        self.attempts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise httpx.ConnectError("connection refused")
        return await self.inner.handle_async_request(request)


def upstream_over(transport: httpx.AsyncBaseTransport) -> HttpxUpstream:
    return HttpxUpstream(
        "training", "http://training", transport=transport, timeout=httpx.Timeout(5.0)
    )


class TestCircuitBreaker:
    @pytest.fixture
    def clock(self, stack: StackHandle) -> Iterator[FakeClock]:
        clock = FakeClock()
        breaker = CircuitBreaker("training", failure_threshold=2, reset_seconds=10, clock=clock)
        with swapped(gateway_state(stack).breakers, "training", breaker):
            yield clock

    async def test_opens_after_failures_and_answers_503_with_retry_after(
        self, stack: StackHandle, clock: FakeClock
    ) -> None:
        client = stack.as_user(await stack.person())
        with stack.upstream_down("training"):
            refused = await client.get(POLICY)  # two attempts: one retry of a safe GET
            paused = await client.get(POLICY)

        assert refused.status_code == 502
        assert paused.status_code == 503
        assert paused.headers["content-type"] == "application/problem+json"
        assert paused.headers["retry-after"] == "10"
        assert "training service is failing" in paused.json()["detail"]
        gauge = {"upstream": "training"}
        assert REGISTRY.get_sample_value("smp_gateway_upstream_breaker_state", gauge) == 2

    async def test_stays_open_even_when_the_service_is_back_until_the_cool_down(
        self, stack: StackHandle, clock: FakeClock
    ) -> None:
        client = stack.as_user(await stack.person())
        with stack.upstream_down("training"):
            await client.get(POLICY)

        clock.now += 9
        still_paused = await client.get(POLICY)
        clock.now += 1
        trial = await client.get(POLICY)
        after = await client.get(POLICY)

        assert still_paused.status_code == 503
        assert still_paused.headers["retry-after"] == "1"
        # Half-open: the trial reaches training (its own 404: no policy yet) and closes it.
        assert trial.json()["type"] == "urn:smp:problem:no-published-policy"
        assert after.json()["type"] == "urn:smp:problem:no-published-policy"

    async def test_a_failed_trial_opens_it_again(
        self, stack: StackHandle, clock: FakeClock
    ) -> None:
        client = stack.as_user(await stack.person())
        with stack.upstream_down("training"):
            await client.get(POLICY)
            clock.now += 10
            trial = await client.get(POLICY)
            paused = await client.get(POLICY)

        assert trial.status_code == 502
        assert paused.status_code == 503
        assert paused.headers["retry-after"] == "10"


class TestRetries:
    async def test_a_get_is_retried_once_after_a_refused_connection(
        self, stack: StackHandle
    ) -> None:
        flaky = CountingTransport(stack.stack.upstreams["training"], failures=1)
        client = stack.as_user(await stack.person())

        with swapped(gateway_state(stack).upstreams, "training", upstream_over(flaky)):
            response = await client.get(POLICY)

        assert response.json()["type"] == "urn:smp:problem:no-published-policy"
        assert flaky.attempts == 2

    async def test_a_post_is_never_retried(self, stack: StackHandle) -> None:
        flaky = CountingTransport(stack.stack.upstreams["training"], failures=1)
        client = stack.as_user(await stack.person())

        with swapped(gateway_state(stack).upstreams, "training", upstream_over(flaky)):
            response = await client.post("/api/v1/training/policy/versions", json={})

        assert response.status_code == 502
        assert flaky.attempts == 1


@pytest.fixture
async def silent_upstream() -> AsyncIterator[Upstream]:
    """A real upstream client to a loopback socket that accepts and never answers."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    upstream = HttpUpstream(
        "training",
        f"http://127.0.0.1:{port}",
        connect_timeout=1.0,
        read_timeout=0.2,
        pool_size=4,
    )
    await upstream.start()
    try:
        yield upstream
    finally:
        await upstream.close()
        server.close()


class TestTimeouts:
    async def test_a_service_that_does_not_answer_is_a_504(
        self, stack: StackHandle, silent_upstream: Upstream
    ) -> None:
        labels = {"upstream": "training", "outcome": "timeout"}
        before = REGISTRY.get_sample_value("smp_gateway_upstream_request_seconds_count", labels)
        client = stack.as_user(await stack.person())

        with swapped(gateway_state(stack).upstreams, "training", silent_upstream):
            response = await client.get(POLICY)

        assert response.status_code == 504
        assert response.headers["content-type"] == "application/problem+json"
        assert "did not answer in time" in response.json()["detail"]
        after = REGISTRY.get_sample_value("smp_gateway_upstream_request_seconds_count", labels)
        assert (after or 0) == (before or 0) + 1


class TestHeaderHygiene:
    async def test_cookies_and_hop_by_hop_headers_are_dropped_both_ways(
        self, stack: StackHandle
    ) -> None:
        seen: list[httpx.Request] = []

        def service(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(
                200,
                headers={"Set-Cookie": "session=abc", "Connection": "close", "X-Kept": "yes"},
                # A stream, as a real connection delivers it (the proxy relays raw bytes).
                stream=httpx.ByteStream(b'{"ok": true}'),
            )

        client = stack.as_user(await stack.person())
        upstream = upstream_over(httpx.MockTransport(service))
        with swapped(gateway_state(stack).upstreams, "training", upstream):
            response = await client.get(
                POLICY,
                headers={"Cookie": "tracking=1", "Connection": "keep-alive", "X-Custom": "on"},
            )

        assert "set-cookie" not in response.headers
        assert response.headers["x-kept"] == "yes"
        forwarded = seen[0].headers
        assert "cookie" not in forwarded
        assert forwarded["x-custom"] == "on"
        assert forwarded["authorization"] != client.headers["authorization"]


class TestRateLimits:
    async def test_a_person_over_the_limit_gets_429_with_retry_after(
        self, stack: StackHandle
    ) -> None:
        client = stack.as_user(await stack.person())
        limiter = RateLimiter(rate=0.5, burst=2, clock=FakeClock())

        with swapped_attribute(gateway_state(stack), "rate_limiter", limiter):
            statuses = [(await client.get("/api/v1/me")).status_code for _ in range(2)]
            limited = await client.get("/api/v1/me")

        assert statuses == [200, 200]
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "2"
        assert limited.headers["content-type"] == "application/problem+json"

    async def test_limits_are_per_principal_and_spare_services(self, stack: StackHandle) -> None:
        busy = stack.as_user(await stack.person())
        other = stack.as_user(await stack.person())
        limiter = RateLimiter(rate=0.5, burst=1, clock=FakeClock())

        with swapped_attribute(gateway_state(stack), "rate_limiter", limiter):
            await busy.get("/api/v1/me")
            limited = await busy.get("/api/v1/me")
            fine = await other.get("/api/v1/me")
            services = [
                (await stack.as_service("coaching").get("/api/v1/directory/people")).status_code
                for _ in range(3)
            ]

        assert limited.status_code == 429
        assert fine.status_code == 200
        assert services == [200, 200, 200]


class TestScimBudget:
    async def test_a_scim_sync_counts_against_scims_own_budget_not_the_apis(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        api = RateLimiter(rate=0.5, burst=1, clock=FakeClock())
        scim_budget = RateLimiter(rate=0.5, burst=3, clock=FakeClock())

        with (
            swapped_attribute(gateway_state(stack), "rate_limiter", api),
            swapped_attribute(gateway_state(stack), "scim_rate_limiter", scim_budget),
        ):
            statuses = [
                (await scim.get("/scim/v2/ServiceProviderConfig")).status_code for _ in range(4)
            ]

        assert statuses == [200, 200, 200, 429]

    async def test_past_it_the_identity_provider_gets_scims_error_with_retry_after(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        budget = RateLimiter(rate=0.5, burst=1, clock=FakeClock())

        with swapped_attribute(gateway_state(stack), "scim_rate_limiter", budget):
            await scim.get("/scim/v2/Users")
            limited = await scim.get("/scim/v2/Users")

        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "2"
        assert limited.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


@pytest.fixture
async def cors_gateway(stack: StackHandle) -> AsyncIterator[httpx.AsyncClient]:
    settings = GatewaySettings(
        database_url=stack.stack.settings["gateway"].database_url,
        cors_origins=["https://portal.northwind.example"],
        **COMMON,
    )
    app: FastAPI = gateway.main.create_app(settings, upstream_transports=stack.stack.upstreams)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gw") as client,
    ):
        yield client


class TestCors:
    async def test_a_configured_origin_may_call_with_a_bearer_token(
        self, cors_gateway: httpx.AsyncClient
    ) -> None:
        response = await cors_gateway.options(
            "/api/v1/me",
            headers={
                "Origin": "https://portal.northwind.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )

        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == (
            "https://portal.northwind.example"
        )
        assert "access-control-allow-credentials" not in response.headers

    async def test_another_origin_is_not_allowed(self, cors_gateway: httpx.AsyncClient) -> None:
        response = await cors_gateway.options(
            "/api/v1/me",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )

        assert response.status_code == 400
        assert "access-control-allow-origin" not in response.headers


class TestReadiness:
    async def test_readyz_reports_each_upstream_and_a_down_one(self, stack: StackHandle) -> None:
        client = stack.client()

        ready = await client.get("/readyz")
        with stack.upstream_down("incidents"):
            degraded = await client.get("/readyz")

        assert ready.json()["checks"]["upstream:training"] == "ok"
        # Still ready: the directory and the other services keep working.
        assert degraded.status_code == 200
        assert degraded.json()["checks"]["upstream:incidents"] == "unreachable (ConnectError)"


class TestCallersTimeout:
    """A service calling through the gateway gives each call a budget (``Request-Timeout``);
    the gateway times the call out itself, so its breaker counts the timeout."""

    async def test_a_service_budget_shortens_the_upstream_timeout_and_counts_as_a_failure(
        self, stack: StackHandle
    ) -> None:
        async with hung_upstream("training", read_timeout=30) as hung:
            breaker = CircuitBreaker("training", failure_threshold=5, reset_seconds=10)
            client = stack.as_service("coaching")
            with (
                swapped(gateway_state(stack).upstreams, "training", hung),
                swapped(gateway_state(stack).breakers, "training", breaker),
            ):
                started = time.monotonic()
                response = await client.get(POLICY, headers={"Request-Timeout": "0.2"})
                took = time.monotonic() - started

        assert response.status_code == 504
        assert took < 2
        assert breaker.failures == 1

    async def test_a_persons_budget_is_not_heard(self, stack: StackHandle) -> None:
        async with hung_upstream("training", read_timeout=0.8) as hung:
            client = stack.as_user(await stack.person())
            with swapped(gateway_state(stack).upstreams, "training", hung):
                started = time.monotonic()
                response = await client.get(POLICY, headers={"Request-Timeout": "0.05"})
                took = time.monotonic() - started

        assert response.status_code == 504
        assert took >= 0.8
