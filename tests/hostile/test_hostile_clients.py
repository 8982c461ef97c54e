"""Hostile clients against a real gateway process (`python -m gateway serve`): clients that
send their headers a byte at a time (slowloris), more connections than the process serves,
and a flood of requests without valid credentials. Each test is bounded in time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.ops.processes import running_apps
from tests.support.processes import RunningStack

pytestmark = pytest.mark.e2e

HEADER_TIMEOUT = 1.0
MAX_CONNECTIONS = 25
UNAUTHENTICATED_BURST = 5
SETTINGS = {
    "GATEWAY_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
    "GATEWAY_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
    "GATEWAY_UNAUTHENTICATED_BURST": str(UNAUTHENTICATED_BURST),
    # One token back every 10 s: the flood below (a few seconds) sees at most one or two.
    "GATEWAY_UNAUTHENTICATED_RATE_PER_SECOND": "0.1",
    # As behind the compose proxy: the loopback peer is trusted to name the client.
    "GATEWAY_TRUSTED_PROXIES": '["127.0.0.1/32"]',
}
# No test may take longer than this, whatever the server does.
TEST_BUDGET_SECONDS = 20


@pytest.fixture(scope="module")
async def gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningStack]:
    async with running_apps(
        tmp_path_factory.mktemp("hostile"), apps=["gateway"], settings=SETTINGS
    ) as stack:
        yield stack


async def connect(stack: RunningStack) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", stack.ports["gateway"])


async def slow_client(stack: RunningStack) -> tuple[bytes, float]:
    """Sends a request's headers one byte every 0.1 s; what the server answered and when."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    reader, writer = await connect(stack)
    headers = b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nX-Padding: " + b"a" * 200
    try:
        for byte in headers:
            writer.write(bytes([byte]))
            await writer.drain()
            try:
                answer = await asyncio.wait_for(reader.read(4096), 0.1)
            except TimeoutError:
                continue
            return answer, loop.time() - started
        return b"", loop.time() - started
    finally:
        writer.close()


class TestSlowClients:
    async def test_clients_sending_headers_a_byte_at_a_time_are_cut_off(
        self, gateway: RunningStack
    ) -> None:
        async with asyncio.timeout(TEST_BUDGET_SECONDS):
            slow = [asyncio.create_task(slow_client(gateway)) for _ in range(10)]
            async with httpx.AsyncClient(base_url=gateway.url("gateway")) as client:
                served = await client.get("/healthz")
            results = await asyncio.gather(*slow)

        assert served.status_code == 200
        for answer, seconds in results:
            assert answer.startswith(b"HTTP/1.1 408"), answer
            assert b"application/problem+json" in answer
            assert seconds < HEADER_TIMEOUT + 2

    async def test_connections_past_the_cap_get_a_503_and_the_server_recovers(
        self, gateway: RunningStack
    ) -> None:
        async with asyncio.timeout(TEST_BUDGET_SECONDS):
            held = [await connect(gateway) for _ in range(MAX_CONNECTIONS)]
            reader, writer = await connect(gateway)
            refused = await asyncio.wait_for(reader.read(4096), HEADER_TIMEOUT)
            writer.close()
            # The held connections sent nothing: the header timeout closes them.
            for held_reader, _ in held:
                assert (await held_reader.read(4096)).startswith(b"HTTP/1.1 408")
            for _, held_writer in held:
                held_writer.close()
            async with httpx.AsyncClient(base_url=gateway.url("gateway")) as client:
                after = await client.get("/healthz")

        assert refused.startswith(b"HTTP/1.1 503")
        assert b"application/problem+json" in refused
        assert b"retry-after: 1" in refused.lower()
        assert after.status_code == 200


class TestUnauthenticatedFlood:
    async def test_bad_credentials_from_one_address_are_throttled_before_verification(
        self, gateway: RunningStack
    ) -> None:
        token = gateway.command("gateway", "token", "--user", "emma.employee")
        attacker = {"X-Forwarded-For": "203.0.113.7"}
        valid = {"Authorization": f"Bearer {token}", **attacker}
        async with (
            asyncio.timeout(TEST_BUDGET_SECONDS),
            httpx.AsyncClient(base_url=gateway.url("gateway")) as client,
        ):
            assert (await client.get("/api/v1/me", headers=valid)).status_code == 200
            flood = [
                await client.get(
                    "/api/v1/me", headers={"Authorization": f"Bearer forged-{i}", **attacker}
                )
                for i in range(60)
            ]
            missing = await client.get("/api/v1/me", headers=attacker)
            still_valid = await client.get("/api/v1/me", headers=valid)
            neighbour = await client.get(
                "/api/v1/me",
                headers={"Authorization": "Bearer forged", "X-Forwarded-For": "203.0.113.8"},
            )
            scim = await client.get("/scim/v2/Users", headers=attacker)

        statuses = [response.status_code for response in flood]
        # The burst, and at most a token or two refilled while the flood ran.
        assert statuses[:UNAUTHENTICATED_BURST] == [401] * UNAUTHENTICATED_BURST
        assert statuses.count(401) <= UNAUTHENTICATED_BURST + 2
        assert statuses.count(429) >= len(statuses) - UNAUTHENTICATED_BURST - 2
        throttled = flood[-1]
        assert throttled.headers["content-type"] == "application/problem+json"
        assert int(throttled.headers["Retry-After"]) >= 1
        assert missing.status_code == 429
        assert still_valid.status_code == 200
        assert neighbour.status_code == 401
        assert scim.status_code == 429
        assert scim.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
