"""SIGTERM, as Docker and Kubernetes send it: a process stops taking new connections, lets
the requests it is serving finish, stops its background work and exits 0.

The slow request is a real one: the gateway forwards it to training while training is
frozen (SIGSTOP), so it is in flight at the gateway for as long as the test wants."""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.ops.processes import EXIT_TIMEOUT_SECONDS, log_lines, poll, running_apps
from tests.support.processes import RunningStack

pytestmark = pytest.mark.e2e

SERVICES = ("training", "coaching", "incidents")
SHUTDOWN_STARTED = "Waiting for application shutdown."
SHUTDOWN_COMPLETE = "Application shutdown complete."


@pytest.fixture
async def gateway_and_training(tmp_path: Path) -> AsyncIterator[RunningStack]:
    async with running_apps(tmp_path, apps=["gateway", "training"]) as stack:
        yield stack


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[RunningStack]:
    async with running_apps(tmp_path, apps=SERVICES, seed=False) as stack:
        yield stack


def bytes_waiting_for(port: int) -> int:
    """Connections and request bytes the kernel holds for the listener on ``port`` that its
    process has not read yet (``/proc/net/tcp``: the accept backlog of the listening socket,
    the unread bytes of an accepted one)."""
    waiting = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port:
                waiting += int(fields[4].split(":")[1], 16)
    return waiting


def refuses_connections(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


async def exit_code(stack: RunningStack, app: str) -> int:
    return await asyncio.to_thread(stack.processes[app].wait, EXIT_TIMEOUT_SECONDS)


class TestSigterm:
    async def test_the_gateway_finishes_a_request_in_flight_then_exits_0(
        self, gateway_and_training: RunningStack
    ) -> None:
        processes = gateway_and_training
        token = processes.command("gateway", "token", "--user", "emma.employee")
        training = processes.processes["training"]
        async with httpx.AsyncClient(
            base_url=processes.url("gateway"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        ) as client:
            assert (await client.get("/api/v1/training/policy")).status_code == 200
            training.send_signal(signal.SIGSTOP)
            try:
                in_flight = asyncio.create_task(client.get("/api/v1/training/policy"))
                await poll(
                    lambda: bytes_waiting_for(processes.ports["training"]) > 0,
                    what="the gateway to forward the request to training",
                )
                processes.processes["gateway"].send_signal(signal.SIGTERM)
                await poll(
                    lambda: refuses_connections(processes.ports["gateway"]),
                    what="the gateway to stop accepting connections",
                )
            finally:
                training.send_signal(signal.SIGCONT)
            response = await in_flight

        assert response.status_code == 200
        assert response.json()["clauses"]
        assert await exit_code(processes, "gateway") == 0
        messages = [line["message"] for line in log_lines(processes, "gateway")]
        assert messages.index(SHUTDOWN_STARTED) < messages.index(SHUTDOWN_COMPLETE)

    async def test_each_service_stops_its_background_work_and_exits_0(
        self, services: RunningStack
    ) -> None:
        for app in SERVICES:
            services.processes[app].send_signal(signal.SIGTERM)

        exit_codes = {app: await exit_code(services, app) for app in SERVICES}

        assert exit_codes == dict.fromkeys(SERVICES, 0)
        for app in SERVICES:
            lines = log_lines(services, app)
            assert SHUTDOWN_COMPLETE in [line["message"] for line in lines]
            assert not [line for line in lines if line["level"] in ("ERROR", "CRITICAL")]
